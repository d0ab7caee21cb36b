/**
 * VaultBootstrap: a Pulumi dynamic resource that initialises Vault on the first `pulumi up`.
 * It reaches each pod through the Kubernetes API server's pod proxy with the stack's kubeconfig,
 * runs bootstrapVault, and keeps what the init returned (unseal or recovery keys) only as
 * Pulumi secrets in the stack's state. The root token never leaves the provider's memory and
 * is revoked before `create` returns.
 *
 * The bootstrap happens once: later inputs (a rotated kubeconfig, say) change nothing, and
 * deleting the resource leaves Vault alone (its data lives on the StatefulSet's volumes).
 */
import * as pulumi from "@pulumi/pulumi";
import { bootstrapVault, type SealKind } from "./bootstrap";
import { applyPlan, type PlannedCall } from "./configuration";
import { nodeHttpClient } from "./http";
import { parseKubeconfig, podProxyTransport } from "./kube";

/** Marks this dynamic resource's inputs (the mock runtime answers by it). */
export const BOOTSTRAP_KIND = "edp:vault:bootstrap";

export interface VaultBootstrapInputs {
  kind: typeof BOOTSTRAP_KIND;
  kubeconfig: string;
  namespace: string;
  pods: string[];
  port: number;
  seal: SealKind;
  shares: number;
  threshold: number;
  plan: PlannedCall[];
  attempts: number;
  delayMs: number;
}

interface VaultBootstrapOutputs extends VaultBootstrapInputs {
  keys: string[];
  initialisedAt: string;
}

const provider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: VaultBootstrapInputs): Promise<pulumi.dynamic.CreateResult> {
    const access = parseKubeconfig(inputs.kubeconfig);
    const servers = inputs.pods.map((pod) => ({
      name: pod,
      client: nodeHttpClient(podProxyTransport(access, inputs.namespace, pod, inputs.port)),
    }));
    const result = await bootstrapVault({
      servers,
      seal: inputs.seal,
      shares: inputs.shares,
      threshold: inputs.threshold,
      attempts: inputs.attempts,
      delayMs: inputs.delayMs,
      configure: (root) => applyPlan(root, inputs.plan),
    });
    const outs: VaultBootstrapOutputs = { ...inputs, keys: result.keys, initialisedAt: new Date().toISOString() };
    return { id: `${inputs.namespace}/${inputs.pods[0]}`, outs };
  },
  async diff(): Promise<pulumi.dynamic.DiffResult> {
    return { changes: false };
  },
  async delete(): Promise<void> {
    // Nothing to undo: Vault's storage outlives this record. See components/vault/README.md.
  },
};

export type VaultBootstrapArgs = { [K in keyof Omit<VaultBootstrapInputs, "kind">]: pulumi.Input<VaultBootstrapInputs[K]> };

export class VaultBootstrap extends pulumi.dynamic.Resource {
  /** Unseal keys (shamir) or recovery keys (KMS seal), base64; secret. */
  declare readonly keys: pulumi.Output<string[]>;

  constructor(name: string, args: VaultBootstrapArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      provider,
      name,
      { ...args, kind: BOOTSTRAP_KIND, keys: undefined, initialisedAt: undefined },
      { ...opts, additionalSecretOutputs: ["keys", "kubeconfig"] },
    );
  }
}
