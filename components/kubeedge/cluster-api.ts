/**
 * The few Kubernetes API calls the KubeEdge dynamic resources make from the deployer with the
 * stack's kubeconfig: read CloudCore's token, cordon and delete a node, restart CloudCore, and
 * add the edge exclusion to a DaemonSet's affinity. Only node built-ins and pure helpers are
 * imported: a dynamic provider is serialised with what its functions capture.
 */
import { jsonRequest } from "../shared/json-http";
import type { KubeAccess } from "../vault/kube";
import { type Affinity, CLOUDCORE_DEPLOYMENT, excludeEdgeNodes, keepsOffEdgeNodes, KUBEEDGE_NAMESPACE, TOKEN_SECRET, TOKEN_SECRET_KEY } from "./cluster-facts";

export interface KubeResponse {
  status: number;
  json: unknown;
}
export type KubeClient = (method: "GET" | "PATCH" | "DELETE", path: string, body?: unknown, contentType?: string) => Promise<KubeResponse>;

/** A client of the API server in `access` (loopback http in the tests). */
export function kubeClient(access: KubeAccess, timeoutMs = 15_000): KubeClient {
  return (method, path, body, contentType = "application/merge-patch+json") =>
    jsonRequest({
      method,
      url: new URL(access.server + path),
      body,
      contentType,
      headers: access.token ? { Authorization: `Bearer ${access.token}` } : {},
      ca: access.ca,
      cert: access.cert,
      key: access.key,
      timeoutMs,
    });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const failed = (what: string, res: KubeResponse) => new Error(`${what}: the API server answered ${res.status}${(res.json as { message?: string } | undefined)?.message ? ` (${(res.json as { message: string }).message})` : ""}`);

/**
 * CloudCore's current join token. CloudCore writes it at start and every 12 hours (each valid 24
 * hours), so a fresh install may not have it yet: retried `attempts` times.
 */
export async function readToken(client: KubeClient, attempts: number, delayMs: number): Promise<string> {
  const path = `/api/v1/namespaces/${KUBEEDGE_NAMESPACE}/secrets/${TOKEN_SECRET}`;
  let last: KubeResponse | undefined;
  for (let i = 0; i < attempts; i++) {
    if (i > 0) await sleep(delayMs);
    last = await client("GET", path);
    const data = (last.json as { data?: Record<string, string> } | undefined)?.data?.[TOKEN_SECRET_KEY];
    if (last.status === 200 && data) return Buffer.from(data, "base64").toString("utf8");
    if (last.status !== 404 && last.status !== 200) break;
  }
  throw failed(`reading ${KUBEEDGE_NAMESPACE}/${TOKEN_SECRET} (CloudCore's join token) after ${attempts} attempt(s)`, last ?? { status: 0, json: undefined });
}

/**
 * Takes a node out: cordons it (no new pods), deletes its Node object, and restarts CloudCore,
 * which makes a new join token when it starts, so the token handed out for the node is no
 * longer the current one. A node already gone is not an error.
 */
export async function removeNode(client: KubeClient, node: string, now: () => string = () => new Date().toISOString()): Promise<{ cordoned: boolean; deleted: boolean }> {
  const nodePath = `/api/v1/nodes/${encodeURIComponent(node)}`;
  const cordon = await client("PATCH", nodePath, { spec: { unschedulable: true } });
  if (cordon.status !== 200 && cordon.status !== 404) throw failed(`cordoning node ${node}`, cordon);
  const del = await client("DELETE", nodePath);
  if (del.status !== 200 && del.status !== 202 && del.status !== 404) throw failed(`deleting node ${node}`, del);
  const restart = await client("PATCH", `/apis/apps/v1/namespaces/${KUBEEDGE_NAMESPACE}/deployments/${CLOUDCORE_DEPLOYMENT}`, {
    spec: { template: { metadata: { annotations: { "edp/token-rotated-at": now(), "edp/token-rotated-for": node } } } },
  });
  if (restart.status !== 200) throw failed(`restarting CloudCore to rotate its token after removing ${node}`, restart);
  return { cordoned: cordon.status === 200, deleted: del.status !== 404 };
}

/**
 * Adds the edge exclusion to a DaemonSet the platform does not install (kube-proxy, the CNI),
 * keeping every affinity rule it has. Returns what happened; an absent DaemonSet is an error
 * unless it is optional on this cluster.
 */
export async function excludeEdgeFromDaemonSet(client: KubeClient, namespace: string, name: string, optional: boolean): Promise<"patched" | "already" | "absent"> {
  const path = `/apis/apps/v1/namespaces/${encodeURIComponent(namespace)}/daemonsets/${encodeURIComponent(name)}`;
  const got = await client("GET", path);
  if (got.status === 404) {
    if (optional) return "absent";
    throw new Error(`DaemonSet ${namespace}/${name} does not exist; KubeEdge nodes need it kept off them (the guide's §2.6)`);
  }
  if (got.status !== 200) throw failed(`reading DaemonSet ${namespace}/${name}`, got);
  const affinity = (got.json as { spec?: { template?: { spec?: { affinity?: Affinity } } } }).spec?.template?.spec?.affinity;
  if (keepsOffEdgeNodes(affinity)) return "already";
  // A merge patch replaces the affinity as a whole: the merged one carries every existing rule.
  const patched = await client("PATCH", path, { spec: { template: { spec: { affinity: excludeEdgeNodes(affinity) } } } });
  if (patched.status !== 200) throw failed(`patching DaemonSet ${namespace}/${name}`, patched);
  return "patched";
}
