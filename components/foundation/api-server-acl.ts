/**
 * The API server's access list. ACK puts the API server behind a private CLB (port 6443) and,
 * with `slbInternetEnabled`, an EIP on it: reachable from the whole internet unless the
 * listener has an access-control whitelist. The whitelist also governs the internal endpoint
 * (one CLB serves both), so it must admit ACK's control plane (100.104.0.0/16) and the VPC
 * (nodes, pods on Terway, E3) besides the admin networks; Alibaba's "Configure API server
 * access control" lists these three.
 *
 * The ACL is an ordinary `slb.Acl`. Binding it to the listener is not: ACK owns the listener,
 * and the Alibaba provider has no resource that sets a listener's ACL without owning the
 * listener (creating one on 6443 fails, it exists). ApiServerAclBinding is a small dynamic
 * resource that calls the SLB API's SetLoadBalancerTCPListenerAttribute (AclStatus on, white
 * list, the ACL's id) with the deployer's credentials, and turns the ACL off again on delete.
 * Alibaba's RPC client (@alicloud/pop-core, pinned in versions.ts) signs and sends the call; the
 * provider is in api-server-acl-provider.ts.
 */
import * as pulumi from "@pulumi/pulumi";
import { BundledDynamicResource } from "../shared/dynamic-provider";
import { API_SERVER_ACL_KIND, type ApiServerAclInputs } from "./api-server-acl-provider";

/** ACK's control-plane range; Alibaba requires it in every API server whitelist. */
export const ACK_CONTROL_PLANE_CIDR = "100.104.0.0/16";
/** The API server's listener on its CLB. */
export const API_SERVER_PORT = 6443;

export interface AclEntry {
  entry: string;
  comment: string;
}

/** The whitelist: ACK's control plane, the VPC, then each admin network (edp:cluster.create.apiServerCidrs). */
export function apiServerAclEntries(vpcCidr: string, adminCidrs: readonly string[]): AclEntry[] {
  const entries: AclEntry[] = [
    { entry: ACK_CONTROL_PLANE_CIDR, comment: "ACK control plane" },
    { entry: vpcCidr, comment: "VPC: nodes, pods, E3" },
    ...adminCidrs.map((c, i) => ({ entry: c, comment: `admin network ${i + 1}` })),
  ];
  const seen = new Set<string>();
  return entries.filter((e) => !seen.has(e.entry) && seen.add(e.entry));
}

export type ApiServerAclArgs = { [K in keyof Omit<ApiServerAclInputs, "kind">]: pulumi.Input<ApiServerAclInputs[K]> };

/** The whitelist ACL bound to the API server's 6443 listener. */
export class ApiServerAclBinding extends BundledDynamicResource {
  constructor(name: string, args: ApiServerAclArgs, opts?: pulumi.CustomResourceOptions) {
    super({ file: require.resolve("./api-server-acl-provider"), name: "apiServerAclProvider" }, name, { ...args, kind: API_SERVER_ACL_KIND }, opts);
  }
}
