/**
 * An evaluator of NetworkPolicy semantics (networking.k8s.io/v1), so tests can ask "may A reach
 * B on port P?" instead of re-reading the policy text. It implements label selectors with
 * matchLabels and matchExpressions, namespace and pod selectors, ipBlocks of any IPv4 prefix
 * with `except`, numeric ports with endPort, and the default policyTypes. Anything else (named
 * ports, IPv6 blocks, unknown fields or operators) is refused with an error: a wrong answer
 * about reachability is worse than none.
 */
import ipaddr from "ipaddr.js";

type Requirement = { key: string; operator: string; values?: string[] };
type Selector = { matchLabels?: Record<string, string>; matchExpressions?: Requirement[] };
type IpBlock = { cidr: string; except?: string[] };
type Peer = { ipBlock?: IpBlock; namespaceSelector?: Selector; podSelector?: Selector };
type Port = { port?: number | string; endPort?: number; protocol?: string };
type Rule = { ports?: Port[]; from?: Peer[]; to?: Peer[] };
type PolicySpec = { podSelector?: Selector; policyTypes?: string[]; ingress?: Rule[]; egress?: Rule[] };
export interface PolicyLike {
  metadata: { namespace: string; name?: string };
  spec?: unknown;
}

/**
 * A Pod (its namespace, labels and, optionally, its namespace's labels beyond
 * kubernetes.io/metadata.name) or a host outside the cluster (ip).
 */
export type Endpoint = { namespace: string; labels: Record<string, string>; namespaceLabels?: Record<string, string> } | { ip: string };
type PodEndpoint = Extract<Endpoint, { namespace: string }>;

const isPod = (e: Endpoint): e is PodEndpoint => "namespace" in e;

/** Thrown for a policy the evaluator does not understand. */
export class UnsupportedPolicyError extends Error {}

function refuse(where: string, what: string): never {
  throw new UnsupportedPolicyError(`${where}: ${what}; the evaluator refuses rather than guess`);
}

function onlyKeys(where: string, obj: object | undefined, allowed: string[]): void {
  for (const k of Object.keys(obj ?? {})) if (!allowed.includes(k)) refuse(where, `unknown field ${JSON.stringify(k)}`);
}

function selectorMatches(where: string, selector: Selector | undefined, labels: Record<string, string>): boolean {
  onlyKeys(where, selector, ["matchLabels", "matchExpressions"]);
  const byLabel = Object.entries(selector?.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const byExpression = (selector?.matchExpressions ?? []).every((r) => {
    onlyKeys(where, r, ["key", "operator", "values"]);
    const has = Object.hasOwn(labels, r.key);
    const values = r.values ?? [];
    switch (r.operator) {
      case "In":
        if (values.length === 0) refuse(where, `operator In on ${r.key} without values`);
        return has && values.includes(labels[r.key]);
      case "NotIn":
        if (values.length === 0) refuse(where, `operator NotIn on ${r.key} without values`);
        return !has || !values.includes(labels[r.key]);
      case "Exists":
        if (values.length > 0) refuse(where, `operator Exists on ${r.key} with values`);
        return has;
      case "DoesNotExist":
        if (values.length > 0) refuse(where, `operator DoesNotExist on ${r.key} with values`);
        return !has;
      default:
        return refuse(where, `unknown selector operator ${JSON.stringify(r.operator)}`);
    }
  });
  return byLabel && byExpression;
}

function parseV4Cidr(where: string, cidr: string): [ipaddr.IPv4, number] {
  if (!ipaddr.IPv4.isValidCIDR(cidr)) refuse(where, `ipBlock ${JSON.stringify(cidr)} is not an IPv4 CIDR`);
  return ipaddr.IPv4.parseCIDR(cidr);
}

function ipInBlock(where: string, block: IpBlock, ip: string): boolean {
  onlyKeys(where, block, ["cidr", "except"]);
  if (!ipaddr.IPv4.isValid(ip)) refuse(where, `endpoint address ${JSON.stringify(ip)} is not IPv4`);
  const addr = ipaddr.IPv4.parse(ip);
  if (!addr.match(parseV4Cidr(where, block.cidr))) return false;
  return !(block.except ?? []).some((e) => addr.match(parseV4Cidr(where, e)));
}

function peerMatches(where: string, peer: Peer, policyNamespace: string, other: Endpoint): boolean {
  onlyKeys(where, peer, ["ipBlock", "namespaceSelector", "podSelector"]);
  if (peer.ipBlock) {
    if (peer.namespaceSelector || peer.podSelector) refuse(where, "ipBlock combined with a selector");
    // ipBlocks name addresses outside the cluster; what they mean for Pod addresses is up to the CNI.
    return !isPod(other) && ipInBlock(where, peer.ipBlock, other.ip);
  }
  if (!isPod(other)) return false;
  if (peer.namespaceSelector) {
    const nsLabels = { ...(other.namespaceLabels ?? {}), "kubernetes.io/metadata.name": other.namespace };
    if (!selectorMatches(where, peer.namespaceSelector, nsLabels)) return false;
  } else if (other.namespace !== policyNamespace) return false;
  return peer.podSelector === undefined || selectorMatches(where, peer.podSelector, other.labels);
}

function portMatches(where: string, rule: Rule, port: number, protocol: string): boolean {
  const ports = rule.ports;
  if (!ports || ports.length === 0) return true;
  return ports.some((p) => {
    onlyKeys(where, p, ["port", "endPort", "protocol"]);
    if (typeof p.port === "string") refuse(where, `named port ${JSON.stringify(p.port)} (it depends on the Pod's container ports)`);
    if ((p.protocol ?? "TCP") !== protocol) return false;
    if (p.port === undefined) {
      if (p.endPort !== undefined) refuse(where, "endPort without port");
      return true;
    }
    if (p.endPort !== undefined) {
      if (p.endPort < p.port) refuse(where, `endPort ${p.endPort} below port ${p.port}`);
      return port >= p.port && port <= p.endPort;
    }
    return p.port === port;
  });
}

/** policyTypes as Kubernetes defaults them: Ingress always, Egress when the policy has egress rules. */
function policyTypesOf(spec: PolicySpec): string[] {
  return spec.policyTypes ?? ["Ingress", ...(spec.egress !== undefined ? ["Egress"] : [])];
}

function direction(policies: PolicyLike[], subject: Endpoint, other: Endpoint, port: number, protocol: string, type: "Ingress" | "Egress"): boolean {
  if (!isPod(subject)) return true;
  const selecting = policies.filter((p) => {
    const where = `NetworkPolicy ${p.metadata.namespace}/${p.metadata.name ?? "?"}`;
    const spec = (p.spec ?? {}) as PolicySpec;
    onlyKeys(where, spec, ["podSelector", "policyTypes", "ingress", "egress"]);
    for (const t of spec.policyTypes ?? []) if (t !== "Ingress" && t !== "Egress") refuse(where, `unknown policy type ${JSON.stringify(t)}`);
    return p.metadata.namespace === subject.namespace && selectorMatches(where, spec.podSelector, subject.labels) && policyTypesOf(spec).includes(type);
  });
  // A Pod no policy isolates in this direction accepts all traffic in it.
  if (selecting.length === 0) return true;
  return selecting.some((p) => {
    const where = `NetworkPolicy ${p.metadata.namespace}/${p.metadata.name ?? "?"}`;
    const spec = p.spec as PolicySpec;
    const rules = (type === "Ingress" ? spec.ingress : spec.egress) ?? [];
    return rules.some((r) => {
      onlyKeys(where, r, ["ports", type === "Ingress" ? "from" : "to"]);
      const peers = type === "Ingress" ? r.from : r.to;
      const peerOk = !peers || peers.length === 0 || peers.some((peer) => peerMatches(where, peer, subject.namespace, other));
      return peerOk && portMatches(where, r, port, protocol);
    });
  });
}

/** Walks a whole policy and refuses anything outside what this evaluator implements, whether or not it would be reached. */
export function checkPolicy(p: PolicyLike): void {
  const where = `NetworkPolicy ${p.metadata.namespace}/${p.metadata.name ?? "?"}`;
  const spec = (p.spec ?? {}) as PolicySpec;
  onlyKeys(where, spec, ["podSelector", "policyTypes", "ingress", "egress"]);
  for (const t of spec.policyTypes ?? []) if (t !== "Ingress" && t !== "Egress") refuse(where, `unknown policy type ${JSON.stringify(t)}`);
  const anyLabels = { "kubernetes.io/metadata.name": "" };
  selectorMatches(where, spec.podSelector, anyLabels);
  for (const [type, rules] of [["from", spec.ingress], ["to", spec.egress]] as const) {
    for (const r of rules ?? []) {
      onlyKeys(where, r, ["ports", type]);
      for (const peer of (type === "from" ? r.from : r.to) ?? []) {
        onlyKeys(where, peer, ["ipBlock", "namespaceSelector", "podSelector"]);
        if (peer.ipBlock) {
          if (peer.namespaceSelector || peer.podSelector) refuse(where, "ipBlock combined with a selector");
          ipInBlock(where, peer.ipBlock, "0.0.0.0");
        }
        if (peer.namespaceSelector) selectorMatches(where, peer.namespaceSelector, anyLabels);
        if (peer.podSelector) selectorMatches(where, peer.podSelector, anyLabels);
      }
      for (const port of r.ports ?? []) portMatches(where, { ports: [port] }, 0, port.protocol ?? "TCP");
    }
  }
}

/** Whether `from` may open a connection to `to` on a port, under the given policies. */
export function trafficAllowed(policies: PolicyLike[], from: Endpoint, to: Endpoint, port: number, protocol = "TCP"): boolean {
  for (const p of policies) checkPolicy(p);
  return direction(policies, from, to, port, protocol, "Egress") && direction(policies, to, from, port, protocol, "Ingress");
}
