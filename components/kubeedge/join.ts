/**
 * The `keadm join` command of one KubeEdge node: everything the device needs, nothing to look
 * up. Pure. Flags as keadm 1.23 defines them (keadm/cmd/keadm/app/cmd/edge/join_others.go);
 * `--set` paths are EdgeCore's configuration (v1alpha2), merged by keadm before it validates
 * the file strictly, so a misspelled path fails the join instead of being ignored.
 */
import { CLUSTER_DOMAIN, EDGEMESH_DNS_ADDRESS } from "./edgemesh";
import { EDGE_TAINT } from "./values";

export interface JoinNode {
  name: string;
  labels: Record<string, string>;
  taints: { key: string; value: string; effect: string }[];
}

export interface JoinInput {
  node: JoinNode;
  /** CloudCore's DNS name (edp-cloudcore.api.<stage>.<zone>). */
  cloudCoreHost: string;
  hubProtocol: "websocket" | "quic";
  /** KubeEdge release, v-prefixed (keadm accepts both; it downloads this EdgeCore). */
  kubeEdgeVersion: string;
  runtimeEndpoint: string;
  cgroupDriver: "systemd" | "cgroupfs";
  edgeMesh: boolean;
  /** CloudCore's token (tokensecret); secret. */
  token: string;
}

const HUB_PORT = { websocket: 10000, quic: 10001 } as const;
const CERT_PORT = 10002;
const KUBELET_PATH = "modules.edged.tailoredKubeletConfig";
const TAINTS_PATH = `${KUBELET_PATH}.registerWithTaints`;

/** Arguments after `keadm`, as the program hands them to keadm (no shell involved). */
export function joinArgs(input: JoinInput): string[] {
  const n = input.node;
  const args = [
    "join",
    `--cloudcore-ipport=${input.cloudCoreHost}:${HUB_PORT[input.hubProtocol]}`,
    `--hub-protocol=${input.hubProtocol}`,
    `--certport=${CERT_PORT}`,
    `--edgenode-name=${n.name}`,
    `--kubeedge-version=${input.kubeEdgeVersion}`,
    `--remote-runtime-endpoint=${input.runtimeEndpoint}`,
    `--cgroupdriver=${input.cgroupDriver}`,
  ];
  const labels = Object.entries(n.labels).sort(([a], [b]) => a.localeCompare(b));
  if (labels.length > 0) args.push(`--labels=${labels.map(([k, v]) => `${k}=${v}`).join(",")}`);
  // kubectl logs/exec (the guide's §2.7): EdgeCore's tunnel to CloudStream is off by default.
  args.push("--set=modules.edgeStream.enable=true");
  if (input.edgeMesh) {
    // EdgeMesh (the guide's §2.8) reads the API through EdgeCore's metaServer, and pods on the
    // node resolve Service names at EdgeMesh's DNS on its bridge address (EdgeMesh's
    // "Edge Kube-API Endpoint" guide, step 3; EdgeCore has no cluster DNS otherwise).
    args.push("--set=modules.metaManager.metaServer.enable=true");
    args.push(`--set=${KUBELET_PATH}.clusterDNS[0]=${EDGEMESH_DNS_ADDRESS},${KUBELET_PATH}.clusterDomain=${CLUSTER_DOMAIN}`);
  }
  [EDGE_TAINT, ...n.taints].forEach((t, i) => {
    const at = `${TAINTS_PATH}[${i}]`;
    args.push(`--set=${at}.key=${t.key},${at}.value=${t.value},${at}.effect=${t.effect}`);
  });
  args.push(`--token=${input.token}`);
  return args;
}

/** POSIX shell quoting: bare when only safe characters, otherwise single-quoted. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=,@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The command line an operator pastes on the device, as root. */
export function joinCommand(input: JoinInput): string {
  return ["keadm", ...joinArgs(input)].map(shellQuote).join(" ");
}
