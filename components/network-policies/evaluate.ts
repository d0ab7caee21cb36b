/**
 * A small evaluator of NetworkPolicy semantics for the subset the platform uses (matchLabels
 * selectors, namespace-by-name, /32 ipBlocks, numeric ports), so tests can ask "may A reach B on
 * port P?" instead of re-reading the policy text.
 */

type Selector = { matchLabels?: Record<string, string> };
type Peer = { ipBlock?: { cidr: string }; namespaceSelector?: Selector; podSelector?: Selector };
type Rule = { ports?: { port?: number; protocol?: string }[]; from?: Peer[]; to?: Peer[] };
type PolicySpec = { podSelector?: Selector; policyTypes?: string[]; ingress?: Rule[]; egress?: Rule[] };
export interface PolicyLike {
  metadata: { namespace: string };
  spec?: unknown;
}

/** A Pod (namespace and labels) or a host outside the cluster (ip). */
export type Endpoint = { namespace: string; labels: Record<string, string> } | { ip: string };

const isPod = (e: Endpoint): e is { namespace: string; labels: Record<string, string> } => "namespace" in e;

function labelsMatch(selector: Selector | undefined, labels: Record<string, string>): boolean {
  const matchLabels = selector?.matchLabels ?? {};
  return Object.entries(matchLabels).every(([k, v]) => labels[k] === v);
}

function peerMatches(peer: Peer, policyNamespace: string, other: Endpoint): boolean {
  if (peer.ipBlock) return !isPod(other) && peer.ipBlock.cidr === `${other.ip}/32`;
  if (!isPod(other)) return false;
  if (peer.namespaceSelector) {
    if (!labelsMatch(peer.namespaceSelector, { "kubernetes.io/metadata.name": other.namespace })) return false;
  } else if (other.namespace !== policyNamespace) return false;
  return peer.podSelector === undefined || labelsMatch(peer.podSelector, other.labels);
}

function portMatches(rule: Rule, port: number, protocol: string): boolean {
  const ports = rule.ports;
  if (!ports || ports.length === 0) return true;
  return ports.some((p) => (p.port === undefined || p.port === port) && (p.protocol ?? "TCP") === protocol);
}

function direction(policies: PolicyLike[], subject: Endpoint, other: Endpoint, port: number, protocol: string, type: "Ingress" | "Egress"): boolean {
  if (!isPod(subject)) return true;
  const selecting = policies.filter((p) => {
    const spec = p.spec as PolicySpec;
    return p.metadata.namespace === subject.namespace && labelsMatch(spec.podSelector, subject.labels) && (spec.policyTypes ?? ["Ingress"]).includes(type);
  });
  // A Pod no policy isolates in this direction accepts all traffic in it.
  if (selecting.length === 0) return true;
  return selecting.some((p) => {
    const spec = p.spec as PolicySpec;
    const rules = (type === "Ingress" ? spec.ingress : spec.egress) ?? [];
    return rules.some((r) => {
      const peers = type === "Ingress" ? r.from : r.to;
      const peerOk = !peers || peers.length === 0 || peers.some((peer) => peerMatches(peer, subject.namespace, other));
      return peerOk && portMatches(r, port, protocol);
    });
  });
}

/** Whether `from` may open a connection to `to` on a port, under the given policies. */
export function trafficAllowed(policies: PolicyLike[], from: Endpoint, to: Endpoint, port: number, protocol = "TCP"): boolean {
  return direction(policies, from, to, port, protocol, "Egress") && direction(policies, to, from, port, protocol, "Ingress");
}
