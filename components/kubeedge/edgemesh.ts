/**
 * EdgeMesh (edp:kubeEdge.edgeMesh): Services between KubeEdge nodes, which have no kube-proxy and
 * no CNI. The agent runs on every KubeEdge node (a host-network DaemonSet: DNS on the bridge
 * address, a userspace proxy for Service addresses, and a libp2p tunnel to the other agents); a
 * relay on the central cluster, behind CloudCore's load balancer, lets agents that cannot dial
 * each other meet. Learnt from upstream's build/agent/resources and chart (v1.17.0), written for
 * this platform. Pure: typed input in, Kubernetes objects out.
 */
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { plainYaml } from "../shared/yaml";
import { EDGEMESH_CLOUD_RELAY_NAME, EDGEMESH_TUNNEL_PORT } from "../../config/kubeedge";
import { LB_ID_ANNOTATION, LB_OVERRIDE_LISTENERS_ANNOTATION } from "../ingress/values";
import { IMAGES } from "../versions";
import { EDGE_EXCLUSION, EDGE_ROLE_LABEL, EDGE_TOLERATION, KUBEEDGE_NAMESPACE } from "./cluster-facts";

export { EDGEMESH_CLOUD_RELAY_NAME, EDGEMESH_TUNNEL_PORT };

export const EDGEMESH_AGENT = "edgemesh-agent";
export const EDGEMESH_RELAY = "edp-edgemesh-relay";
export const EDGEMESH_PSK_SECRET = "edgemesh-psk";
export const EDGEMESH_AGENT_LABELS = { "k8s-app": "kubeedge", kubeedge: "edgemesh-agent" } as const;
export const EDGEMESH_RELAY_LABELS = { "k8s-app": "kubeedge", kubeedge: "edgemesh-relay" } as const;
/** The node port behind the relay's listener: next to CloudCore's 30000-30004, fixed so the security group can name it. */
export const EDGEMESH_RELAY_NODE_PORT = 30006;
/**
 * EdgeMesh's bridge address (commonConfig.bridgeDeviceIP, upstream's default): EdgeDNS answers
 * there, so it is the edge nodes' clusterDNS (EdgeMesh's "Edge Kube-API Endpoint" guide, step 3).
 */
export const EDGEMESH_DNS_ADDRESS = "169.254.96.16";
/** The cluster domain of ACK clusters (and of upstream's guide): what EdgeDNS serves. */
export const CLUSTER_DOMAIN = "cluster.local";
/** Services with this label are left to kube-proxy; EdgeMesh's getting-started puts it on `kubernetes`. */
export const EDGEMESH_PROXY_NAME_LABEL = "service.edgemesh.kubeedge.io/service-proxy-name";
const CONFIG_DIR = "/etc/edgemesh/config";
const PSK_DIR = "/etc/edgemesh/psk-secret";
export const PSK_PATH = `${PSK_DIR}/psk`;

export interface RelayNode {
  /** EdgeMesh peer name: a node's name, or the cloud relay's. */
  nodeName: string;
  advertiseAddress: string[];
}

/** The relays every agent is told of: the cloud relay (at the load balancer's address) and the configured nodes. */
export function edgeMeshRelays(input: { cloudRelay: boolean; loadBalancerAddress: string; relayNodes: { node: string; addresses: string[] }[] }): RelayNode[] {
  return [
    ...(input.cloudRelay ? [{ nodeName: EDGEMESH_CLOUD_RELAY_NAME, advertiseAddress: [input.loadBalancerAddress] }] : []),
    ...input.relayNodes.map((r) => ({ nodeName: r.node, advertiseAddress: [...r.addresses] })),
  ];
}

/**
 * edgemesh-agent.yaml (agent.edgemesh.config.kubeedge.io/v1alpha1). The agent fills the rest
 * with its defaults: on edge nodes it reads the API through EdgeCore's metaServer
 * (127.0.0.1:10550) and runs EdgeDNS. The PSK is a file from the Secret, not this ConfigMap.
 */
export function edgeMeshAgentConfig(relays: RelayNode[], role: "agent" | "relay"): string {
  const agent = role === "agent";
  return plainYaml({
    apiVersion: "agent.edgemesh.config.kubeedge.io/v1alpha1",
    kind: "EdgeMeshAgent",
    commonConfig: { bridgeDeviceName: "edgemesh0", bridgeDeviceIP: EDGEMESH_DNS_ADDRESS },
    modules: {
      // The relay only relays: it resolves and proxies nothing (it is no node with pods).
      edgeDNS: { enable: agent },
      edgeProxy: { enable: agent },
      edgeTunnel: { enable: true, listenPort: EDGEMESH_TUNNEL_PORT, relayNodes: relays, psk: { enable: true, path: PSK_PATH } },
    },
  });
}

type Obj<T> = T & { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } };

export function edgeMeshServiceAccount(): Obj<k8s.types.input.core.v1.ServiceAccount> {
  return { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: EDGEMESH_AGENT, namespace: KUBEEDGE_NAMESPACE, labels: { ...EDGEMESH_AGENT_LABELS } } };
}

/**
 * What the agent reads, read-only: Services and Endpoints to proxy, Pods and Nodes to find a
 * backend's node, Namespaces, and Istio DestinationRules (its load-balancing policy; the
 * informer on them must sync before the proxy starts). Upstream grants every Istio resource;
 * the agent reads only DestinationRules.
 */
export function edgeMeshClusterRole(): Obj<k8s.types.input.rbac.v1.ClusterRole> {
  return {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRole",
    metadata: { name: EDGEMESH_AGENT, labels: { ...EDGEMESH_AGENT_LABELS } },
    rules: [
      { apiGroups: [""], resources: ["nodes", "pods", "services", "endpoints", "namespaces"], verbs: ["get", "list", "watch"] },
      { apiGroups: ["networking.istio.io"], resources: ["destinationrules"], verbs: ["get", "list", "watch"] },
    ],
  };
}

export function edgeMeshClusterRoleBinding(): Obj<k8s.types.input.rbac.v1.ClusterRoleBinding> {
  return {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRoleBinding",
    metadata: { name: EDGEMESH_AGENT, labels: { ...EDGEMESH_AGENT_LABELS } },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: EDGEMESH_AGENT },
    subjects: [{ kind: "ServiceAccount", name: EDGEMESH_AGENT, namespace: KUBEEDGE_NAMESPACE }],
  };
}

/**
 * Istio's DestinationRule (networking.istio.io/v1alpha3), which the agent's load balancer
 * watches. Only the served version and kind: the agent reads `spec.trafficPolicy.loadBalancer`,
 * and nothing here writes DestinationRules, so the schema keeps what it is given.
 */
export function destinationRuleCrd(): Obj<k8s.types.input.apiextensions.v1.CustomResourceDefinition> {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: "destinationrules.networking.istio.io", labels: { ...EDGEMESH_AGENT_LABELS } },
    spec: {
      group: "networking.istio.io",
      names: { kind: "DestinationRule", listKind: "DestinationRuleList", plural: "destinationrules", singular: "destinationrule", shortNames: ["dr"], categories: ["istio-io", "networking-istio-io"] },
      scope: "Namespaced",
      versions: [
        {
          name: "v1alpha3",
          served: true,
          storage: true,
          subresources: { status: {} },
          schema: { openAPIV3Schema: { type: "object", properties: { spec: { type: "object", x_kubernetes_preserve_unknown_fields: true }, status: { type: "object", x_kubernetes_preserve_unknown_fields: true } } } },
        },
      ],
    },
  };
}

/** Tolerations of the agent: the edge taint and every taint a configured node registers with, so it runs on each one. */
export function edgeMeshAgentTolerations(nodes: { taints: { key: string; effect: string }[] }[]): k8s.types.input.core.v1.Toleration[] {
  const seen = new Set<string>();
  const out: k8s.types.input.core.v1.Toleration[] = [{ ...EDGE_TOLERATION }];
  for (const t of nodes.flatMap((n) => n.taints)) {
    const id = `${t.key}:${t.effect}`;
    if (seen.has(id)) continue;
    seen.add(id);
    out.push({ key: t.key, operator: "Exists", effect: t.effect });
  }
  return out;
}

const RESOURCES = { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "200m", memory: "256Mi" } };
const ENV = [
  // EdgeMesh's peer identity is derived from NODE_NAME.
  { name: "NODE_NAME", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
  { name: "NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
];
const pskVolume = { name: "psk", secret: { secretName: EDGEMESH_PSK_SECRET, defaultMode: 0o400, items: [{ key: "psk", path: "psk" }] } };

/**
 * The agent on every KubeEdge node, and only there (required affinity on the edge role label):
 * host network and privileged, as upstream's, because it makes the edgemesh0 bridge and the
 * iptables rules that send Service addresses to its proxy on the node itself.
 */
export function edgeMeshAgentDaemonSet(input: { configHash: pulumi.Input<string>; tolerations: k8s.types.input.core.v1.Toleration[] }): Obj<k8s.types.input.apps.v1.DaemonSet> {
  return {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: { name: EDGEMESH_AGENT, namespace: KUBEEDGE_NAMESPACE, labels: { ...EDGEMESH_AGENT_LABELS } },
    spec: {
      selector: { matchLabels: { ...EDGEMESH_AGENT_LABELS } },
      updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1 } },
      template: {
        // The agent reads its configuration once: a new one rolls the pods.
        metadata: { labels: { ...EDGEMESH_AGENT_LABELS }, annotations: { "edp/edgemesh-config-sha256": input.configHash } },
        spec: {
          serviceAccountName: EDGEMESH_AGENT,
          hostNetwork: true,
          // The host's resolver: EdgeDNS forwards what is not a cluster name to it.
          dnsPolicy: "Default",
          affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: EDGE_ROLE_LABEL, operator: "Exists" }] }] } } },
          tolerations: input.tolerations,
          containers: [
            {
              name: EDGEMESH_AGENT,
              image: IMAGES.edgeMeshAgent,
              imagePullPolicy: "IfNotPresent",
              securityContext: { privileged: true },
              env: ENV,
              resources: RESOURCES,
              volumeMounts: [
                { name: "config", mountPath: CONFIG_DIR, readOnly: true },
                { name: "psk", mountPath: PSK_DIR, readOnly: true },
                { name: "resolv", mountPath: "/etc/resolv.conf", readOnly: true },
                { name: "host-time", mountPath: "/etc/localtime", readOnly: true },
              ],
            },
          ],
          volumes: [
            { name: "config", configMap: { name: `${EDGEMESH_AGENT}-cfg` } },
            pskVolume,
            { name: "resolv", hostPath: { path: "/etc/resolv.conf", type: "File" } },
            { name: "host-time", hostPath: { path: "/etc/localtime", type: "File" } },
          ],
        },
      },
    },
  };
}

/**
 * The relay on the central cluster. EdgeMesh names a relay by node name and dials it at fixed
 * addresses, so the relay is one pod (Recreate: never two with one identity) with a fixed peer
 * name, reached at the load balancer's address; it runs on the pod network (its bridge and
 * rules stay in its own network namespace, and the namespace's NetworkPolicies apply), on cloud
 * nodes only.
 */
export function edgeMeshRelayDeployment(input: { configHash: pulumi.Input<string> }): Obj<k8s.types.input.apps.v1.Deployment> {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: EDGEMESH_RELAY, namespace: KUBEEDGE_NAMESPACE, labels: { ...EDGEMESH_RELAY_LABELS } },
    spec: {
      replicas: 1,
      strategy: { type: "Recreate" },
      selector: { matchLabels: { ...EDGEMESH_RELAY_LABELS } },
      template: {
        metadata: { labels: { ...EDGEMESH_RELAY_LABELS }, annotations: { "edp/edgemesh-config-sha256": input.configHash } },
        spec: {
          serviceAccountName: EDGEMESH_AGENT,
          affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ ...EDGE_EXCLUSION }] }] } } },
          containers: [
            {
              name: "edgemesh-relay",
              image: IMAGES.edgeMeshAgent,
              imagePullPolicy: "IfNotPresent",
              // It makes its bridge device in its own network namespace; nothing on the node.
              securityContext: { privileged: false, allowPrivilegeEscalation: false, capabilities: { add: ["NET_ADMIN", "NET_RAW"] } },
              env: [{ name: "NODE_NAME", value: EDGEMESH_CLOUD_RELAY_NAME }, ENV[1]],
              ports: [{ name: "tunnel", containerPort: EDGEMESH_TUNNEL_PORT, protocol: "TCP" }],
              resources: RESOURCES,
              volumeMounts: [
                { name: "config", mountPath: CONFIG_DIR, readOnly: true },
                { name: "psk", mountPath: PSK_DIR, readOnly: true },
              ],
            },
          ],
          volumes: [{ name: "config", configMap: { name: `${EDGEMESH_RELAY}-cfg` } }, pskVolume],
        },
      },
    },
  };
}

export function edgeMeshConfigMap(name: string, config: pulumi.Input<string>): Obj<k8s.types.input.core.v1.ConfigMap> {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: KUBEEDGE_NAMESPACE, labels: { ...EDGEMESH_AGENT_LABELS } }, data: { "edgemesh-agent.yaml": config } };
}

/** The relay's listener on CloudCore's load balancer, beside CloudCore's five (which stay). */
export function edgeMeshRelayService(loadBalancerId: pulumi.Input<string>): Obj<k8s.types.input.core.v1.Service> {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: EDGEMESH_RELAY, namespace: KUBEEDGE_NAMESPACE, annotations: { [LB_ID_ANNOTATION]: loadBalancerId, [LB_OVERRIDE_LISTENERS_ANNOTATION]: "false" } },
    spec: {
      type: "LoadBalancer",
      externalTrafficPolicy: "Local",
      selector: { ...EDGEMESH_RELAY_LABELS },
      ports: [{ name: "edgemesh-tunnel", port: EDGEMESH_TUNNEL_PORT, targetPort: EDGEMESH_TUNNEL_PORT, protocol: "TCP", nodePort: EDGEMESH_RELAY_NODE_PORT }],
    },
  };
}

/** Ingress to the relay: its tunnel port, from anywhere (the agents dial it through the load balancer). */
export function edgeMeshRelayPolicy(): Obj<k8s.types.input.networking.v1.NetworkPolicy> {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name: "allow-edgemesh-relay", namespace: KUBEEDGE_NAMESPACE },
    spec: {
      podSelector: { matchLabels: { ...EDGEMESH_RELAY_LABELS } },
      policyTypes: ["Ingress"],
      ingress: [{ from: [{ ipBlock: { cidr: "0.0.0.0/0" } }], ports: [{ protocol: "TCP", port: EDGEMESH_TUNNEL_PORT }] }],
    },
  };
}
