/**
 * The providers of the dynamic resources in resources.ts, as Pulumi's dynamic-provider host runs
 * them during `pulumi up`: each is bundled with what it imports into its resource's `__provider`
 * input (components/shared/dynamic-provider.ts), so nothing here may import the program's runtime
 * (the `pulumi` import is for types only). Each reaches the API server with the stack's
 * kubeconfig through cluster-api.ts.
 */
import type * as pulumi from "@pulumi/pulumi";
import { parseKubeconfig } from "../vault/kube";
import { excludeEdgeFromDaemonSet, kubeClient, readToken, removeNode } from "./cluster-api";

/** Inputs carry a `kind` (the mock runtime answers by it; dynamic resources share one type token). */
export const TOKEN_KIND = "edp:kubeedge:token";
export const NODE_KIND = "edp:kubeedge:node";
export const DAEMONSET_KIND = "edp:kubeedge:daemonset-exclusion";

export interface TokenInputs {
  kind: typeof TOKEN_KIND;
  kubeconfig: string;
  attempts: number;
  delayMs: number;
}

export const tokenProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: TokenInputs): Promise<pulumi.dynamic.CreateResult> {
    const token = await readToken(kubeClient(parseKubeconfig(inputs.kubeconfig)), inputs.attempts, inputs.delayMs);
    return { id: "kubeedge/tokensecret", outs: { ...inputs, token } };
  },
  async diff(): Promise<pulumi.dynamic.DiffResult> {
    // CloudCore renews its token every 12 hours (each valid 24): every run reads the current one.
    return { changes: true };
  },
  async update(_id: string, _olds: TokenInputs, news: TokenInputs): Promise<pulumi.dynamic.UpdateResult> {
    const token = await readToken(kubeClient(parseKubeconfig(news.kubeconfig)), news.attempts, news.delayMs);
    return { outs: { ...news, token } };
  },
};

export interface NodeInputs {
  kind: typeof NODE_KIND;
  kubeconfig: string;
  node: string;
}

export const nodeProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: NodeInputs): Promise<pulumi.dynamic.CreateResult> {
    // The node joins from the device (keadm join); this records that the stage expects it.
    return { id: inputs.node, outs: inputs };
  },
  async diff(_id: string, olds: NodeInputs, news: NodeInputs): Promise<pulumi.dynamic.DiffResult> {
    return { changes: olds.node !== news.node, replaces: olds.node !== news.node ? ["node"] : [] };
  },
  async update(_id: string, _olds: NodeInputs, news: NodeInputs): Promise<pulumi.dynamic.UpdateResult> {
    // Only the kubeconfig changed (a rotated credential): keep the newest for the removal.
    return { outs: news };
  },
  async delete(_id: string, olds: NodeInputs): Promise<void> {
    await removeNode(kubeClient(parseKubeconfig(olds.kubeconfig)), olds.node);
  },
};

export interface DaemonSetInputs {
  kind: typeof DAEMONSET_KIND;
  kubeconfig: string;
  namespace: string;
  name: string;
  optional: boolean;
}

async function applyExclusion(inputs: DaemonSetInputs) {
  const result = await excludeEdgeFromDaemonSet(kubeClient(parseKubeconfig(inputs.kubeconfig)), inputs.namespace, inputs.name, inputs.optional);
  return { ...inputs, result };
}

export const daemonSetProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: DaemonSetInputs): Promise<pulumi.dynamic.CreateResult> {
    return { id: `${inputs.namespace}/${inputs.name}`, outs: await applyExclusion(inputs) };
  },
  async diff(): Promise<pulumi.dynamic.DiffResult> {
    // ACK's add-on manager may roll its DaemonSets back to its own template: check on every run.
    return { changes: true };
  },
  async update(_id: string, _olds: DaemonSetInputs, news: DaemonSetInputs): Promise<pulumi.dynamic.UpdateResult> {
    return { outs: await applyExclusion(news) };
  },
  async delete(): Promise<void> {
    // The exclusion stays: it is harmless without edge nodes, and the DaemonSet is not ours.
  },
};

export const _providers = { token: tokenProvider, node: nodeProvider, daemonSet: daemonSetProvider };
