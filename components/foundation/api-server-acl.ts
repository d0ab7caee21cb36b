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
 * Alibaba's RPC client (@alicloud/pop-core, pinned in versions.ts) signs and sends the call.
 */
// A plain require, which Pulumi serialises into the dynamic provider as require("@alicloud/pop-core").
import RPCClient = require("@alicloud/pop-core");
import * as pulumi from "@pulumi/pulumi";

/** The deployer's key, or temporary STS credentials (with their session token). */
export interface RpcCredentials {
  accessKeyId: string;
  accessKeySecret: string;
  securityToken?: string;
}

/** How long one SLB call may take before it counts as failed (the client's default is 3 s). */
export const SLB_CALL_TIMEOUT_MS = 60_000;

/** ACK's control-plane range; Alibaba requires it in every API server whitelist. */
export const ACK_CONTROL_PLANE_CIDR = "100.104.0.0/16";
/** The API server's listener on its CLB. */
export const API_SERVER_PORT = 6443;
/** Marks this dynamic resource's inputs (the mock runtime answers by it). */
export const API_SERVER_ACL_KIND = "edp:foundation:api-server-acl";

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

export interface ApiServerAclInputs {
  kind: typeof API_SERVER_ACL_KIND;
  /** SLB API endpoint, https://slb.<region>.aliyuncs.com. */
  endpoint: string;
  region: string;
  /** The API server's CLB (ManagedKubernetes.slbId). */
  loadBalancerId: string;
  port: number;
  aclId: string;
}

/** The SLB API call that sets (on) or clears (off) the listener's whitelist. */
export function listenerAclParams(inputs: ApiServerAclInputs, on: boolean): Record<string, string> {
  return {
    Action: "SetLoadBalancerTCPListenerAttribute",
    Version: "2014-05-15",
    RegionId: inputs.region,
    LoadBalancerId: inputs.loadBalancerId,
    ListenerPort: String(inputs.port),
    ...(on ? { AclStatus: "on", AclType: "white", AclId: inputs.aclId } : { AclStatus: "off" }),
  };
}

/** The deployer's credentials, as the Alibaba provider reads them from the environment (README, step 3). */
export function credentialsFromEnv(env: NodeJS.ProcessEnv): RpcCredentials {
  const accessKeyId = env.ALICLOUD_ACCESS_KEY ?? env.ALIBABA_CLOUD_ACCESS_KEY_ID;
  const accessKeySecret = env.ALICLOUD_SECRET_KEY ?? env.ALIBABA_CLOUD_ACCESS_KEY_SECRET;
  const securityToken = env.ALICLOUD_SECURITY_TOKEN ?? env.ALIBABA_CLOUD_SECURITY_TOKEN;
  if (!accessKeyId || !accessKeySecret) {
    throw new Error("the API server's access list is set with the deployer's credentials: export ALICLOUD_ACCESS_KEY and ALICLOUD_SECRET_KEY (README, step 3)");
  }
  return { accessKeyId, accessKeySecret, ...(securityToken ? { securityToken } : {}) };
}

/** What pop-core attaches to the error of a refused call: the API's JSON answer and the HTTP exchange. */
interface RpcError {
  code?: string;
  data?: { Code?: string; Message?: string };
  entry?: { response?: { statusCode?: number } };
  message?: string;
}

/** Calls the SLB API; resolves when it accepts the call, rejects with its Code and Message otherwise. */
export async function setListenerAcl(inputs: ApiServerAclInputs, on: boolean, credentials: RpcCredentials): Promise<void> {
  const { Action, Version, ...params } = listenerAclParams(inputs, on);
  const client = new RPCClient({
    endpoint: inputs.endpoint.replace(/\/+$/, ""),
    apiVersion: Version,
    accessKeyId: credentials.accessKeyId,
    accessKeySecret: credentials.accessKeySecret,
    ...(credentials.securityToken ? { securityToken: credentials.securityToken } : {}),
  });
  try {
    // POST: the signed parameters (key id, session token, signature) travel in the body, never in
    // the URL that the client's own error messages quote.
    await client.request(Action, params, { method: "POST", timeout: SLB_CALL_TIMEOUT_MS, formatParams: false });
  } catch (e) {
    const err = e as RpcError;
    const what = `${Action} on ${inputs.loadBalancerId}:${inputs.port} failed`;
    // The client's error holds the API's answer and the request's headers and URL (no key: POST).
    if (err.code !== undefined && err.data !== undefined) {
      throw new Error(`${what}: HTTP ${err.entry?.response?.statusCode ?? "?"} ${`${err.data.Code ?? err.code} ${err.data.Message ?? ""}`.trim()}`, { cause: e });
    }
    throw new Error(`${what}: ${err.message ?? String(e)}`, { cause: e });
  }
}

export const apiServerAclProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: ApiServerAclInputs): Promise<pulumi.dynamic.CreateResult> {
    await setListenerAcl(inputs, true, credentialsFromEnv(process.env));
    return { id: `${inputs.loadBalancerId}:${inputs.port}`, outs: inputs };
  },
  async diff(_id: string, olds: ApiServerAclInputs, news: ApiServerAclInputs): Promise<pulumi.dynamic.DiffResult> {
    const replaces = (["loadBalancerId", "port"] as const).filter((k) => olds[k] !== news[k]);
    const changes = replaces.length > 0 || olds.aclId !== news.aclId || olds.endpoint !== news.endpoint;
    return { changes, replaces, deleteBeforeReplace: false };
  },
  async update(_id: string, _olds: ApiServerAclInputs, news: ApiServerAclInputs): Promise<pulumi.dynamic.UpdateResult> {
    await setListenerAcl(news, true, credentialsFromEnv(process.env));
    return { outs: news };
  },
  async delete(_id: string, olds: ApiServerAclInputs): Promise<void> {
    // The ACL cannot be deleted while a listener uses it: switch the listener's list off first.
    await setListenerAcl(olds, false, credentialsFromEnv(process.env));
  },
};

export type ApiServerAclArgs = { [K in keyof Omit<ApiServerAclInputs, "kind">]: pulumi.Input<ApiServerAclInputs[K]> };

/** The whitelist ACL bound to the API server's 6443 listener. */
export class ApiServerAclBinding extends pulumi.dynamic.Resource {
  constructor(name: string, args: ApiServerAclArgs, opts?: pulumi.CustomResourceOptions) {
    super(apiServerAclProvider, name, { ...args, kind: API_SERVER_ACL_KIND }, opts);
  }
}
