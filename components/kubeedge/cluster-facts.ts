/**
 * Facts of a KubeEdge cluster the deployer's API calls need (cluster-api.ts), and the affinity
 * rule that keeps workloads off edge nodes. No imports: the dynamic providers that use this are
 * serialised with everything their functions capture.
 */

/** Label EdgeCore puts on every KubeEdge node (config/kubeedge.ts has the same; a test holds them equal). */
export const EDGE_ROLE_LABEL = "node-role.kubernetes.io/edge";
/** CloudCore keeps its token, CA and object sync in this namespace whatever the release's (KubeEdge's SystemNamespace). */
export const KUBEEDGE_NAMESPACE = "kubeedge";
/** The chart's default pod labels of CloudCore (cloudCore.labels), which its Deployment selects on. */
export const CLOUDCORE_LABELS = { "k8s-app": "kubeedge", kubeedge: "cloudcore" } as const;
export const CLOUDCORE_DEPLOYMENT = "cloudcore";
/** The chart's pre-install Secret holding the stream server's certificate, key and CA. */
export const CLOUDCORE_STREAM_SECRET = "cloudcore";
/** Where CloudCore keeps the join token (cloud/pkg/cloudhub/servers/httpserver/pre_server.go). */
export const TOKEN_SECRET = "tokensecret";
export const TOKEN_SECRET_KEY = "tokendata";

/** The taint every KubeEdge node registers with: only workloads meant for the edge tolerate it. */
export const EDGE_TAINT = { key: EDGE_ROLE_LABEL, value: "", effect: "NoSchedule" } as const;
export const EDGE_TOLERATION = { key: EDGE_ROLE_LABEL, operator: "Exists", effect: "NoSchedule" } as const;
/** The guide's fix (§2.6): a required node affinity term excluding nodes with the edge role label. */
export const EDGE_EXCLUSION = { key: EDGE_ROLE_LABEL, operator: "DoesNotExist" } as const;

interface MatchExpression {
  key: string;
  operator: string;
  values?: string[];
}
interface NodeSelectorTerm {
  matchExpressions?: MatchExpression[];
  matchFields?: unknown[];
}
export interface Affinity {
  nodeAffinity?: {
    requiredDuringSchedulingIgnoredDuringExecution?: { nodeSelectorTerms?: NodeSelectorTerm[] };
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

const excludes = (t: NodeSelectorTerm) => (t.matchExpressions ?? []).some((e) => e.key === EDGE_ROLE_LABEL && e.operator === "DoesNotExist");

/**
 * An affinity that keeps a pod off KubeEdge nodes and keeps every rule it had. Required node
 * selector terms are ORed, so the exclusion goes into each of them; with none, it is the one term.
 */
export function excludeEdgeNodes(affinity: Affinity | undefined | null): Affinity {
  const a: Affinity = structuredClone(affinity ?? {});
  const node = { ...(a.nodeAffinity ?? {}) };
  const terms = node.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  const merged = terms.length === 0 ? [{ matchExpressions: [{ ...EDGE_EXCLUSION }] }] : terms.map((t) => (excludes(t) ? t : { ...t, matchExpressions: [...(t.matchExpressions ?? []), { ...EDGE_EXCLUSION }] }));
  node.requiredDuringSchedulingIgnoredDuringExecution = { ...(node.requiredDuringSchedulingIgnoredDuringExecution ?? {}), nodeSelectorTerms: merged };
  return { ...a, nodeAffinity: node };
}

/** True when every required term excludes edge nodes (so no pod of it can land on one). */
export function keepsOffEdgeNodes(affinity: Affinity | undefined | null): boolean {
  const terms = affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  return terms.length > 0 && terms.every(excludes);
}

