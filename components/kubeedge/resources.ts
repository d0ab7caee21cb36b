/**
 * Dynamic resources for what the Kubernetes provider cannot express: reading CloudCore's join
 * token at every `pulumi up`, taking a removed node out of the cluster, and adding the edge
 * exclusion to DaemonSets other parties install (their node selector terms are an atomic list,
 * which a server-side-apply patch would replace rather than extend). Their providers are in
 * providers.ts.
 */
import * as pulumi from "@pulumi/pulumi";
import { BundledDynamicResource, type ProviderModule } from "../shared/dynamic-provider";
import { DAEMONSET_KIND, type DaemonSetInputs, NODE_KIND, type NodeInputs, TOKEN_KIND, type TokenInputs } from "./providers";

const provider = (name: "tokenProvider" | "nodeProvider" | "daemonSetProvider"): ProviderModule => ({ file: require.resolve("./providers"), name });

export type TokenArgs = { [K in keyof Omit<TokenInputs, "kind">]: pulumi.Input<TokenInputs[K]> };

/** CloudCore's join token (`kubeedge/tokensecret`), read on every `pulumi up`. */
export class KubeEdgeToken extends BundledDynamicResource {
  /** Secret. */
  declare readonly token: pulumi.Output<string>;
  constructor(name: string, args: TokenArgs, opts?: pulumi.CustomResourceOptions) {
    super(provider("tokenProvider"), name, { ...args, kind: TOKEN_KIND, token: undefined }, { ...opts, additionalSecretOutputs: ["token", "kubeconfig"] });
  }
}

export type NodeArgs = { [K in keyof Omit<NodeInputs, "kind">]: pulumi.Input<NodeInputs[K]> };

/** A KubeEdge node the stage expects; deleting it (the node left the config) cordons and removes the Node and rotates the token. */
export class KubeEdgeNodeMembership extends BundledDynamicResource {
  constructor(name: string, args: NodeArgs, opts?: pulumi.CustomResourceOptions) {
    super(provider("nodeProvider"), name, { ...args, kind: NODE_KIND }, { ...opts, additionalSecretOutputs: ["kubeconfig"] });
  }
}

export type DaemonSetArgs = { [K in keyof Omit<DaemonSetInputs, "kind">]: pulumi.Input<DaemonSetInputs[K]> };

/** Keeps a DaemonSet the platform does not install (kube-proxy, the CNI) off KubeEdge nodes. */
export class EdgeDaemonSetExclusion extends BundledDynamicResource {
  constructor(name: string, args: DaemonSetArgs, opts?: pulumi.CustomResourceOptions) {
    super(provider("daemonSetProvider"), name, { ...args, kind: DAEMONSET_KIND, result: undefined }, { ...opts, additionalSecretOutputs: ["kubeconfig"] });
  }
}
