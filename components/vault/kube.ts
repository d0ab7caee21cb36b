/**
 * Reaching a Vault pod from the deployer through the Kubernetes API server's pod proxy
 * (`/api/v1/namespaces/<ns>/pods/https:<pod>:8200/proxy/...`). That needs nothing but the
 * stack's kubeconfig: no kubectl, no port-forward, no Vault ingress that would expose the
 * unauthenticated `sys/init` endpoint. Only callers allowed `pods/proxy` in the namespace (the
 * deployer) get through.
 */
// A namespace import: Pulumi serialises the dynamic provider with this module, and under SDK
// 3.276 the serialised provider saw a default import (`import YAML from "yaml"`) as undefined
// (tests/integration/vault-bootstrap-provider.test.ts runs it in the SDK's provider host).
import * as YAML from "yaml";
import type { TransportOptions } from "./http";

export interface KubeAccess {
  server: string;
  ca?: string;
  cert?: string;
  key?: string;
  token?: string;
}

interface NamedCluster {
  name: string;
  cluster: { server: string; "certificate-authority-data"?: string; "insecure-skip-tls-verify"?: boolean };
}
interface NamedUser {
  name: string;
  user: { "client-certificate-data"?: string; "client-key-data"?: string; token?: string; exec?: unknown; "auth-provider"?: unknown };
}
interface NamedContext {
  name: string;
  context: { cluster: string; user: string };
}
interface Kubeconfig {
  clusters?: NamedCluster[];
  users?: NamedUser[];
  contexts?: NamedContext[];
  "current-context"?: string;
}

const b64 = (s: string | undefined) => (s === undefined ? undefined : Buffer.from(s, "base64").toString("utf8"));

/** Reads the current context's server and credentials; only embedded credentials are supported. */
export function parseKubeconfig(text: string): KubeAccess {
  const doc = YAML.parse(text) as Kubeconfig | null;
  const contextName = doc?.["current-context"];
  const context = doc?.contexts?.find((c) => c.name === contextName)?.context;
  if (!context) throw new Error(`kubeconfig: current context ${JSON.stringify(contextName)} is not defined`);
  const cluster = doc?.clusters?.find((c) => c.name === context.cluster)?.cluster;
  const user = doc?.users?.find((u) => u.name === context.user)?.user;
  if (!cluster?.server) throw new Error(`kubeconfig: cluster ${JSON.stringify(context.cluster)} has no server`);
  if (!user) throw new Error(`kubeconfig: user ${JSON.stringify(context.user)} is not defined`);
  if (cluster["insecure-skip-tls-verify"]) throw new Error("kubeconfig: insecure-skip-tls-verify is set; the bootstrap sends Vault keys through this connection and needs a verified API server");
  const cert = b64(user["client-certificate-data"]);
  const key = b64(user["client-key-data"]);
  if (!user.token && !(cert && key)) {
    throw new Error("kubeconfig: the user needs an embedded token or client-certificate-data and client-key-data (exec and auth-provider plugins are not supported by the Vault bootstrap)");
  }
  return { server: cluster.server.replace(/\/+$/, ""), ca: b64(cluster["certificate-authority-data"]), cert, key, token: user.token };
}

/** The transport to one Vault pod's HTTPS listener, proxied by the API server. */
export function podProxyTransport(access: KubeAccess, namespace: string, pod: string, port: number): TransportOptions {
  return {
    baseUrl: `${access.server}/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/https:${encodeURIComponent(pod)}:${port}/proxy`,
    ca: access.ca,
    cert: access.cert,
    key: access.key,
    bearerToken: access.token,
  };
}
