/**
 * Dynamic resources for what the Kubernetes provider cannot express: reading CloudCore's join
 * token at every `pulumi up`, taking a removed node out of the cluster, and adding the edge
 * exclusion to DaemonSets other parties install (their node selector terms are an atomic list,
 * which a server-side-apply patch would replace rather than extend). Each reaches the API server
 * with the stack's kubeconfig through cluster-api.ts.
 */
import * as pulumi from "@pulumi/pulumi";
import { parseKubeconfig } from "../vault/kube";
import { excludeEdgeFromDaemonSet, kubeClient, readToken, removeNode } from "./cluster-api";

/** Inputs carry a `kind` (the mock runtime answers by it; dynamic resources share one type token). */
export const TOKEN_KIND = "edp:kubeedge:token";
export const NODE_KIND = "edp:kubeedge:node";
export const DAEMONSET_KIND = "edp:kubeedge:daemonset-exclusion";

interface TokenInputs {
  kind: typeof TOKEN_KIND;
  kubeconfig: string;
  attempts: number;
  delayMs: number;
}

const tokenProvider: pulumi.dynamic.ResourceProvider = {
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

export type TokenArgs = { [K in keyof Omit<TokenInputs, "kind">]: pulumi.Input<TokenInputs[K]> };

/** CloudCore's join token (`kubeedge/tokensecret`), read on every `pulumi up`. */
export class KubeEdgeToken extends pulumi.dynamic.Resource {
  /** Secret. */
  declare readonly token: pulumi.Output<string>;
  constructor(name: string, args: TokenArgs, opts?: pulumi.CustomResourceOptions) {
    super(tokenProvider, name, { ...args, kind: TOKEN_KIND, token: undefined }, { ...opts, additionalSecretOutputs: ["token", "kubeconfig"] });
  }
}

interface NodeInputs {
  kind: typeof NODE_KIND;
  kubeconfig: string;
  node: string;
}

const nodeProvider: pulumi.dynamic.ResourceProvider = {
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

export type NodeArgs = { [K in keyof Omit<NodeInputs, "kind">]: pulumi.Input<NodeInputs[K]> };

/** A KubeEdge node the stage expects; deleting it (the node left the config) cordons and removes the Node and rotates the token. */
export class KubeEdgeNodeMembership extends pulumi.dynamic.Resource {
  constructor(name: string, args: NodeArgs, opts?: pulumi.CustomResourceOptions) {
    super(nodeProvider, name, { ...args, kind: NODE_KIND }, { ...opts, additionalSecretOutputs: ["kubeconfig"] });
  }
}

interface DaemonSetInputs {
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

const daemonSetProvider: pulumi.dynamic.ResourceProvider = {
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

export type DaemonSetArgs = { [K in keyof Omit<DaemonSetInputs, "kind">]: pulumi.Input<DaemonSetInputs[K]> };

/** Keeps a DaemonSet the platform does not install (kube-proxy, the CNI) off KubeEdge nodes. */
export class EdgeDaemonSetExclusion extends pulumi.dynamic.Resource {
  constructor(name: string, args: DaemonSetArgs, opts?: pulumi.CustomResourceOptions) {
    super(daemonSetProvider, name, { ...args, kind: DAEMONSET_KIND, result: undefined }, { ...opts, additionalSecretOutputs: ["kubeconfig"] });
  }
}

/** The providers, for tests that call them as the engine would (against a stand-in API server). */
export const _providers = { token: tokenProvider, node: nodeProvider, daemonSet: daemonSetProvider };
