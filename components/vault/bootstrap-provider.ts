/**
 * The provider of VaultBootstrap (bootstrap-resource.ts), as Pulumi's dynamic-provider host runs
 * it during `pulumi up`: this module and what it imports are bundled into the resource's
 * `__provider` input (components/shared/dynamic-provider.ts), so nothing here may import the
 * program's runtime (the `pulumi` import is for types only).
 */
import type * as pulumi from "@pulumi/pulumi";
import * as log from "@pulumi/pulumi/log";
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
 * Progress through pulumi.log, which the host requires from the project's node_modules (the
 * bundle leaves the SDK out: it is the host's own, and the state would otherwise hold it, too large
 * for the gRPC trailer an init failure travels in; tests/integration/vault-bootstrap-provider.test.ts).
 */
function progress(level: "info" | "warn", message: string): void {
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

export const vaultBootstrapProvider: pulumi.dynamic.ResourceProvider = {
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

