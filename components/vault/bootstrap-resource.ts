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
import { bootstrapVault, keysOf, type SealKind } from "./bootstrap";
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
  /**
   * Keys of a Vault whose storage is already initialised (edp:vaultKeys, when the running
   * platform's Vault is adopted): the first run unseals with them and, with a root token made
   * from them, applies the configuration, instead of refusing a Vault it did not initialise.
   */
  adoptedKeys?: string[];
}

export interface VaultBootstrapOutputs extends VaultBootstrapInputs {
  keys: string[];
  initialisedAt: string;
  /** False while the configuration after the init has not been applied; the next `pulumi up` applies it. */
  configured: boolean;
}

/**
 * The dynamic-provider host turns an error that carries `id` into the engine's "resource
 * initialization failed" answer (pulumirpc.ErrorResourceInitFailed with id, properties and
 * reasons; @pulumi/pulumi cmd/dynamic-provider, grpcResponseFromError). The engine then records
 * the resource with those outputs (additionalSecretOutputs still apply) and, on the next
 * `pulumi up`, calls `update` even when `diff` reports no change, because the resource has init
 * errors (pkg/resource/deploy/step_generator.go). That is how the keys reach the state the
 * moment the init succeeds, and how a later run finishes the job.
 */
function initFailure(message: string, id: string, properties: VaultBootstrapOutputs): Error {
  // These properties travel in a gRPC trailer, whose size is bounded; the kubeconfig (a few KB,
  // and secret) is not needed to finish: the next run's update gets the current one as input.
  const { kubeconfig: _dropped, ...kept } = properties;
  const e = new Error(message) as Error & { id: string; properties: Omit<VaultBootstrapOutputs, "kubeconfig">; reasons: string[] };
  e.id = id;
  e.properties = kept;
  e.reasons = [message];
  return e;
}

/**
 * Progress through pulumi.log, loaded when called rather than imported: the provider's code is
 * serialised with everything its closure captures, and capturing `pulumi` (or even its log
 * module) would put the SDK's runtime, and with `pulumi` the stack's whole configuration, into
 * the `__provider` input in the state, large enough that an init failure no longer fits the
 * gRPC trailer that carries it (see tests/integration/vault-bootstrap-provider.test.ts).
 */
function progress(level: "info" | "warn", message: string): void {
  const log = require("@pulumi/pulumi/log") as typeof import("@pulumi/pulumi/log");
  void log[level](`vault bootstrap: ${message}`);
}

/** Runs bootstrapVault against the pods; on failure after the init, records what is known. */
async function run(id: string, inputs: VaultBootstrapInputs, earlier?: { keys: string[]; initialisedAt: string }): Promise<VaultBootstrapOutputs> {
  const access = parseKubeconfig(inputs.kubeconfig);
  const servers = inputs.pods.map((pod) => ({
    name: pod,
    client: nodeHttpClient(podProxyTransport(access, inputs.namespace, pod, inputs.port)),
  }));
  const initialisedAt = earlier?.initialisedAt ?? new Date().toISOString();
  try {
    const result = await bootstrapVault({
      servers,
      seal: inputs.seal,
      shares: inputs.shares,
      threshold: inputs.threshold,
      knownKeys: earlier?.keys,
      configured: earlier ? false : undefined,
      attempts: inputs.attempts,
      delayMs: inputs.delayMs,
      configure: (root) => applyPlan(root, inputs.plan),
      // Shown by `pulumi up` while it waits: the engine passes a dynamic provider's output through.
      log: (message) => progress("info", message),
    });
    return { ...inputs, keys: result.keys, initialisedAt, configured: true };
  } catch (e) {
    const keys = earlier?.keys ?? keysOf(e);
    if (!keys) throw e;
    const message = e instanceof Error ? e.message : String(e);
    progress("warn", message);
    throw initFailure(message, id, { ...inputs, keys, initialisedAt, configured: false });
  }
}

/**
 * What the first run starts from: nothing (it initialises Vault), or the adopted keys, which it
 * treats like an earlier run's keys whose configuration is not applied yet.
 */
export function firstRunStart(inputs: Pick<VaultBootstrapInputs, "adoptedKeys">): { keys: string[]; initialisedAt: string } | undefined {
  return inputs.adoptedKeys && inputs.adoptedKeys.length > 0 ? { keys: inputs.adoptedKeys, initialisedAt: "adopted" } : undefined;
}

const provider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: VaultBootstrapInputs): Promise<pulumi.dynamic.CreateResult> {
    const id = `${inputs.namespace}/${inputs.pods[0]}`;
    return { id, outs: await run(id, inputs, firstRunStart(inputs)) };
  },
  async diff(): Promise<pulumi.dynamic.DiffResult> {
    // The init happens once; a changed input (a rotated kubeconfig, say) changes nothing.
    return { changes: false };
  },
  /**
   * Called by the engine only while the resource has init errors, i.e. an earlier run initialised
   * Vault and recorded the keys but did not finish: finish it with those keys.
   */
  async update(id: string, olds: Omit<VaultBootstrapOutputs, "kubeconfig">, news: VaultBootstrapInputs): Promise<pulumi.dynamic.UpdateResult> {
    if (olds.configured !== false) return { outs: { ...news, keys: olds.keys, initialisedAt: olds.initialisedAt, configured: true } };
    return { outs: await run(id, news, { keys: olds.keys, initialisedAt: olds.initialisedAt }) };
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
      { ...args, kind: BOOTSTRAP_KIND, keys: undefined, initialisedAt: undefined, configured: undefined },
      { ...opts, additionalSecretOutputs: ["keys", "kubeconfig", "adoptedKeys"] },
    );
  }
}
