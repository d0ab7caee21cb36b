/**
 * The provider of ApiServerAclBinding (api-server-acl.ts), as Pulumi's dynamic-provider host runs
 * it during `pulumi up`: this module and what it imports are bundled into the resource's
 * `__provider` input (components/shared/dynamic-provider.ts), so it imports nothing of the
 * program at run time. It calls the SLB API's SetLoadBalancerTCPListenerAttribute with the
 * deployer's credentials through Alibaba's RPC client (@alicloud/pop-core, pinned in versions.ts),
 * which the host requires from the project's node_modules.
 */
import RPCClient = require("@alicloud/pop-core");
import type * as pulumi from "@pulumi/pulumi";

/** The deployer's key, or temporary STS credentials (with their session token). */
export interface RpcCredentials {
  accessKeyId: string;
  accessKeySecret: string;
  securityToken?: string;
}

/** How long one SLB call may take before it counts as failed (the client's default is 3 s). */
export const SLB_CALL_TIMEOUT_MS = 60_000;

/** Marks this dynamic resource's inputs (the mock runtime answers by it). */
export const API_SERVER_ACL_KIND = "edp:foundation:api-server-acl";

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

