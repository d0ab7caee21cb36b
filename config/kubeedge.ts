/**
 * `edp:kubeEdge`: KubeEdge edge nodes (seed 003), the second kind of edge fleet. Single devices
 * join the central cluster as nodes through CloudCore instead of running a cluster of their own.
 * The schema is here, with the rules that relate its keys to the rest of the stage; schema.ts
 * and checks.ts take it in one line each.
 */
import ipaddr from "ipaddr.js";
import { z } from "zod";
import type { ConfigProblem } from "./load";
import { CLOUDCORE_REPLICAS, HELM_RELEASE_NAME_MAX, LABEL_VALUE_MAX } from "./limits";
import { placeholderProblems } from "./placeholders";
import { isDns1123Label } from "./validators";

/** Label EdgeCore puts on every KubeEdge node; the guide's DaemonSet fix keys on it. */
export const EDGE_ROLE_LABEL = "node-role.kubernetes.io/edge";

/**
 * The EdgeMesh peer name of the relay on the central cluster. EdgeMesh derives a peer's identity
 * from its node name; the cloud relay is no node, so it takes this name, which no KubeEdge node may have.
 */
export const EDGEMESH_CLOUD_RELAY_NAME = "edp-edgemesh-relay";
/** EdgeMesh's tunnel port (edgeTunnel.listenPort): relays are dialled on it. */
export const EDGEMESH_TUNNEL_PORT = 20006;
/** Shortest PSK the program accepts: `openssl rand -base64 32` gives 44 characters. */
export const EDGEMESH_PSK_MIN_LENGTH = 32;

const NAME = "[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?";
/** Kubernetes qualified name: an optional DNS-subdomain prefix and `/`, then a name of at most 63 characters. */
const QUALIFIED_NAME = new RegExp(`^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?${NAME}$`);
const LABEL_VALUE = new RegExp(`^(${NAME})?$`);

/** Kubernetes label or taint key (IsQualifiedName; the prefix at most 253 characters). */
export function isQualifiedName(key: string): boolean {
  const slash = key.lastIndexOf("/");
  return QUALIFIED_NAME.test(key) && (slash < 0 || slash <= 253);
}
export const isLabelValue = (v: string) => v.length <= LABEL_VALUE_MAX && LABEL_VALUE.test(v);

/**
 * Label and taint keys in these namespaces belong to Kubernetes and KubeEdge: EdgeCore sets the
 * role labels itself, and the API server's NodeRestriction refuses others a node sets on itself.
 */
export const RESERVED_KEY_SUFFIXES = ["kubernetes.io", "k8s.io"] as const;
const isReserved = (key: string) => {
  const prefix = key.includes("/") ? key.slice(0, key.lastIndexOf("/")) : "";
  return RESERVED_KEY_SUFFIXES.some((s) => prefix === s || prefix.endsWith(`.${s}`));
};

const labelKey = z.string().refine(isQualifiedName, { message: "is not a Kubernetes label key: [prefix/]name, the name at most 63 letters, digits, '-', '_' or '.'" });
const labelValue = z.string().refine(isLabelValue, { message: `is not a Kubernetes label value: at most ${LABEL_VALUE_MAX} letters, digits, '-', '_' or '.', starting and ending alphanumeric` });
const nodeName = z.string().refine(isDns1123Label, {
  message: "must be a DNS-1123 label (lower-case letters, digits and '-', at most 63 characters): it is the node's name and its host name",
});

const taintSchema = z.strictObject({
  key: labelKey.describe("Taint key."),
  value: labelValue.default("").describe("Taint value (may be empty)."),
  effect: z.enum(["NoSchedule", "PreferNoSchedule", "NoExecute"]).describe("NoSchedule, PreferNoSchedule or NoExecute."),
});

const nodeSchema = z.strictObject({
  name: nodeName.describe("Node name (unique): `keadm join --edgenode-name`, and the host name pinned deployments select."),
  labels: z.record(labelKey, labelValue).default({}).describe("Labels the node registers with (`keadm join --labels`); not in the kubernetes.io or k8s.io namespaces."),
  taints: z.array(taintSchema).default([]).describe("Taints the node registers with, besides the edge role taint every KubeEdge node gets."),
});

const relayNodeSchema = z.strictObject({
  node: nodeName.describe("Name of a node in edp:kubeEdge.nodes that relays EdgeMesh traffic for the others."),
  addresses: z.array(z.string()).min(1).describe(`IP addresses the other nodes reach it at, on ${EDGEMESH_TUNNEL_PORT}/TCP (its site's public address behind a port forward, or a LAN address).`),
});

const kubeEdgeDeploymentSchema = z.strictObject({
  name: nodeName.describe("Deployment name (the Helm release on the central cluster; at most 53 characters)."),
  template: z.string().describe("Key of edp:chartTemplates."),
  node: nodeName.describe("Name of a node in edp:kubeEdge.nodes: the deployment is pinned to it by host name."),
  values: z.record(z.string(), z.unknown()).default({}).describe("Extra values merged over the template's values ({{uuid}}, {{name}}, {{hostname}} as for edge clusters)."),
});

export const kubeEdgeSchema = z.strictObject({
  loadBalancer: z
    .enum(["dedicated", "stage"])
    .default("dedicated")
    .describe("dedicated: an internet SLB of CloudCore's own; stage: the listeners go on edp:ingress.loadBalancerId. Either way exactly ports 10000-10004."),
  loadBalancerSpec: z
    .string()
    .regex(/^slb\.s[1-3]\.(small|medium|large)$/, "is not a classic SLB specification such as slb.s1.small")
    .default("slb.s1.small")
    .describe("Specification of the dedicated SLB."),
  replicas: z.number().int().min(CLOUDCORE_REPLICAS.min).max(CLOUDCORE_REPLICAS.max).default(1).describe("CloudCore pods; production needs at least 2."),
  hubProtocol: z.enum(["websocket", "quic"]).default("websocket").describe("How EdgeCore reaches CloudHub: websocket (10000/TCP) or quic (10001/UDP)."),
  edgeMesh: z
    .boolean()
    .default(false)
    .describe("EdgeMesh: Services between KubeEdge nodes (the agent on every node, CloudCore's dynamicController, EdgeCore's metaServer and DNS); off by default. Its PSK is edp:edgeMeshPsk, or generated."),
  edgeMeshCloudRelay: z
    .boolean()
    .default(true)
    .describe(`With edgeMesh: an EdgeMesh relay on the central cluster, reached by the nodes through CloudCore's load balancer on ${EDGEMESH_TUNNEL_PORT}/TCP, for nodes that cannot reach each other directly.`),
  edgeMeshRelayNodes: z.array(relayNodeSchema).default([]).describe("With edgeMesh: KubeEdge nodes that relay too, each with the addresses the others reach it at."),
  runtimeEndpoint: z
    .string()
    .regex(/^unix:\/\/\/[A-Za-z0-9._/-]+\.sock$/, "is not a CRI socket such as unix:///run/containerd/containerd.sock")
    .default("unix:///run/containerd/containerd.sock")
    .describe("CRI endpoint of the edge devices (`keadm join --remote-runtime-endpoint`)."),
  cgroupDriver: z.enum(["systemd", "cgroupfs"]).default("systemd").describe("cgroup driver of the devices' runtime (`keadm join --cgroupdriver`)."),
  nodes: z.array(nodeSchema).default([]).describe("KubeEdge edge nodes: name, labels, taints."),
  deployments: z.array(kubeEdgeDeploymentSchema).default([]).describe("Chart-template deployments pinned to a KubeEdge node."),
});

export type KubeEdgeInput = z.infer<typeof kubeEdgeSchema>;

/** The rules of edp:kubeEdge that relate its entries to each other, to the templates and to the stage. */
export function kubeEdgeProblems(cfg: { stage: string; kubeEdge?: KubeEdgeInput; chartTemplates: Record<string, { values: Record<string, unknown> }> }): ConfigProblem[] {
  const ke = cfg.kubeEdge;
  if (!ke) return [];
  const out: ConfigProblem[] = [];
  const at = (path: string) => `edp:kubeEdge.${path}`;
  if (cfg.stage === "production" && ke.replicas < 2) {
    out.push({ key: at("replicas"), message: `is ${ke.replicas}; production runs CloudCore on at least 2 pods so that a node's loss does not cut every device off` });
  }
  const first = new Map<string, number>();
  ke.nodes.forEach((n, i) => {
    const seen = first.get(n.name);
    if (seen !== undefined) out.push({ key: at(`nodes[${i}].name`), message: `${n.name} is used by another node (edp:kubeEdge.nodes[${seen}].name); node names must be unique` });
    else first.set(n.name, i);
    for (const key of Object.keys(n.labels)) {
      if (isReserved(key)) out.push({ key: at(`nodes[${i}].labels.${key}`), message: `is in a namespace reserved for Kubernetes (${RESERVED_KEY_SUFFIXES.join(", ")}); EdgeCore sets ${EDGE_ROLE_LABEL} itself` });
    }
    const taints = new Set<string>();
    n.taints.forEach((t, j) => {
      if (t.key === EDGE_ROLE_LABEL && t.effect === "NoSchedule") {
        out.push({ key: at(`nodes[${i}].taints[${j}]`), message: `is the edge role taint every KubeEdge node already gets; remove it` });
      }
      const id = `${t.key}:${t.effect}`;
      if (taints.has(id)) out.push({ key: at(`nodes[${i}].taints[${j}]`), message: `${id} is listed twice; a node has one taint per key and effect` });
      taints.add(id);
    });
  });
  out.push(...edgeMeshProblems(ke, first));
  const names = new Set<string>();
  ke.deployments.forEach((d, i) => {
    const key = at(`deployments[${i}]`);
    if (!(d.template in cfg.chartTemplates)) {
      out.push({ key: `${key}.template`, message: `${JSON.stringify(d.template)} is not in edp:chartTemplates (${Object.keys(cfg.chartTemplates).join(", ") || "none defined"})` });
    }
    if (!first.has(d.node)) out.push({ key: `${key}.node`, message: `${JSON.stringify(d.node)} is not in edp:kubeEdge.nodes (${ke.nodes.map((n) => n.name).join(", ") || "none listed"})` });
    if (d.name.length > HELM_RELEASE_NAME_MAX) out.push({ key: `${key}.name`, message: `${d.name} is ${d.name.length} characters; Helm release names are limited to ${HELM_RELEASE_NAME_MAX}` });
    if (names.has(d.name)) out.push({ key: `${key}.name`, message: `${d.name} is used by another KubeEdge deployment; their Helm releases share one namespace` });
    names.add(d.name);
    for (const p of placeholderProblems(d.values, `${key}.values`)) out.push({ key: p.path, message: `${p.message} (deployment ${d.name})` });
  });
  return out;
}

const UNDIALLABLE: Record<string, string> = { unspecified: "an unspecified", loopback: "a loopback", multicast: "a multicast", linkLocal: "a link-local", broadcast: "the broadcast" };

/** Why an EdgeMesh relay address is unusable, or undefined: an IP literal the other nodes can dial. */
export function relayAddressProblem(address: string): string | undefined {
  const v4 = ipaddr.IPv4.isValidFourPartDecimal(address);
  if (!v4 && !ipaddr.IPv6.isValid(address)) return "is not an IP address (EdgeMesh dials relays by address, not by name)";
  const what = UNDIALLABLE[ipaddr.parse(address).range()];
  return what ? `is ${what} address, which another node cannot dial` : undefined;
}

/** Rules of EdgeMesh's keys: relays that exist, can be dialled, and are used. */
function edgeMeshProblems(ke: KubeEdgeInput, nodeIndex: Map<string, number>): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  const at = (path: string) => `edp:kubeEdge.${path}`;
  if (!ke.edgeMesh) {
    if (ke.edgeMeshRelayNodes.length > 0) out.push({ key: at("edgeMeshRelayNodes"), message: "lists relays, but edp:kubeEdge.edgeMesh is false, so nothing runs them; set edgeMesh: true or remove the list" });
    return out;
  }
  if (!ke.edgeMeshCloudRelay && ke.edgeMeshRelayNodes.length === 0) {
    out.push({ key: at("edgeMeshCloudRelay"), message: "is false and edgeMeshRelayNodes is empty: EdgeMesh agents in different networks find each other only through a relay; keep the cloud relay or list relay nodes" });
  }
  if (ke.edgeMeshCloudRelay && nodeIndex.has(EDGEMESH_CLOUD_RELAY_NAME)) {
    out.push({ key: at(`nodes[${nodeIndex.get(EDGEMESH_CLOUD_RELAY_NAME)}].name`), message: `${EDGEMESH_CLOUD_RELAY_NAME} is the EdgeMesh name of the cloud relay (edgeMeshCloudRelay); EdgeMesh would take the node for it` });
  }
  const relays = new Map<string, number>();
  ke.edgeMeshRelayNodes.forEach((r, i) => {
    const key = at(`edgeMeshRelayNodes[${i}]`);
    if (!nodeIndex.has(r.node)) out.push({ key: `${key}.node`, message: `${JSON.stringify(r.node)} is not in edp:kubeEdge.nodes (${[...nodeIndex.keys()].join(", ") || "none listed"})` });
    const seen = relays.get(r.node);
    if (seen !== undefined) out.push({ key: `${key}.node`, message: `${r.node} is already a relay (edp:kubeEdge.edgeMeshRelayNodes[${seen}]); list each node once` });
    else relays.set(r.node, i);
    const addresses = new Set<string>();
    r.addresses.forEach((a, j) => {
      const problem = relayAddressProblem(a);
      if (problem) out.push({ key: `${key}.addresses[${j}]`, message: `${JSON.stringify(a)} ${problem}` });
      if (addresses.has(a)) out.push({ key: `${key}.addresses[${j}]`, message: `${a} is listed twice` });
      addresses.add(a);
    });
  });
  return out;
}

/** Why a PSK from edp:edgeMeshPsk is unusable, or undefined. Never quotes the value. */
export function edgeMeshPskProblem(psk: string): string | undefined {
  if (psk.trim().length < EDGEMESH_PSK_MIN_LENGTH) return `is shorter than ${EDGEMESH_PSK_MIN_LENGTH} characters; make one with \`openssl rand -base64 32\``;
  if (/[\r\n]/.test(psk.trim())) return "spans several lines; it is one line (every agent hashes the same text)";
  return undefined;
}
