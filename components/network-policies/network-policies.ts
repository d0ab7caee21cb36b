/** Applies the platform's NetworkPolicies (policies.ts) to the central cluster. */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { type NetworkPolicyInput, networkPolicies } from "./policies";

export interface PlatformNetworkPoliciesArgs {
  /** Provider of the central cluster (foundation.cluster.provider). */
  provider: k8s.Provider;
  /** Namespace names; pass PlatformNamespaces in opts.dependsOn. */
  namespaces: NetworkPolicyInput["namespaces"];
  /** Namespaces of PostgreSQL and Vault (outputs of their components: policies in them wait for them). */
  peers: NetworkPolicyInput["peers"];
  /** The same namespaces' names. */
  peerNames: NetworkPolicyInput["peerNames"];
  /** Namespace of the CloudNativePG operator. */
  cnpgOperator: string;
  /** The VPC's CIDR (the API server's endpoints). */
  vpcCidr: string;
  /** Public address of the ingress load balancer (foundation.ingressAddress). */
  ingressAddress: pulumi.Input<string>;
  /** Address of the stage's E3 host (foundation.e3Eip.ipAddress). */
  e3Address: pulumi.Input<string>;
}

const hostCidr = (address: pulumi.Input<string>) => pulumi.output(address).apply((a) => `${a}/32`);

export class PlatformNetworkPolicies extends pulumi.ComponentResource {
  /** namespace/name of each policy. */
  public readonly policies: pulumi.Output<string[]>;

  constructor(name: string, args: PlatformNetworkPoliciesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("edp:network-policies:PlatformNetworkPolicies", name, {}, opts);
    const { provider } = args;
    const all = networkPolicies({
      namespaces: args.namespaces,
      peers: args.peers,
      peerNames: args.peerNames,
      cnpgOperator: args.cnpgOperator,
      vpcCidr: args.vpcCidr,
      ingressCidr: hostCidr(args.ingressAddress),
      e3Cidr: hostCidr(args.e3Address),
    });
    // Policies inside the PostgreSQL and Vault namespaces take the namespace as their components' output, so they wait for it.
    const namespaceOf = (n: string): pulumi.Input<string> => (n === args.peerNames.postgres ? args.peers.postgres : n === args.peerNames.vault ? args.peers.vault : n);
    for (const p of all) {
      new k8s.networking.v1.NetworkPolicy(
        `${name}-${p.metadata.namespace}-${p.metadata.name}`,
        { ...p, metadata: { ...p.metadata, namespace: namespaceOf(p.metadata.namespace) } },
        { parent: this, provider },
      );
    }
    this.policies = pulumi.output(all.map((p) => `${p.metadata.namespace}/${p.metadata.name}`));
    this.registerOutputs({ policies: this.policies });
  }
}
