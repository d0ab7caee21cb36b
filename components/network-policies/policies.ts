/**
 * NetworkPolicies of the platform namespaces, as pure data. The namespaces we write every Pod of
 * (edp, keycloak) deny all traffic both ways and allow what must talk. monitoring and loki deny
 * ingress only: Prometheus scrapes every namespace and the node, and Grafana fetches dashboards,
 * so their egress cannot be listed without breaking them as charts change.
 */
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";

type Policy = k8s.types.input.networking.v1.NetworkPolicy & { metadata: { name: string; namespace: string } };
type Peer = k8s.types.input.networking.v1.NetworkPolicyPeer;
type Port = { protocol: string; port: number };

export interface NetworkPolicyInput {
  /** Namespaces that get policies here, by name. */
  namespaces: { edp: string; keycloak: string; monitoring: string; loki: string; ingress: string };
  /** Namespaces of PostgreSQL and Vault, which their own components create (outputs, so policies wait for them). */
  peers: { postgres: pulumi.Input<string>; vault: pulumi.Input<string> };
  /** CIDR (/32) of the ingress load balancer's public address: services call the platform's public names. */
  ingressCidr: pulumi.Input<string>;
  /** CIDR (/32) of the stage's E3 host: datadirectormanagement pushes to its Git and registry. */
  e3Cidr: pulumi.Input<string>;
}

const tcp = (port: number): Port => ({ protocol: "TCP", port });
const ns = (name: pulumi.Input<string>, podLabels?: Record<string, string>): Peer => ({
  namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": name } },
  ...(podLabels ? { podSelector: { matchLabels: podLabels } } : {}),
});
const host = (cidr: pulumi.Input<string>): Peer => ({ ipBlock: { cidr } });

/** Pod labels of the peers, as their charts set them. */
export const PEER_LABELS = {
  ingressController: { "app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "controller" },
  prometheus: { "app.kubernetes.io/name": "prometheus" },
  grafana: { "app.kubernetes.io/name": "grafana" },
  lokiGateway: { "app.kubernetes.io/component": "gateway" },
  coreDns: { "k8s-app": "kube-dns" },
} as const;
/** ACK's NodeLocal DNSCache answers on this link-local address when it is installed. */
export const NODE_LOCAL_DNS = "169.254.20.10/32";

function policy(namespace: string, name: string, spec: k8s.types.input.networking.v1.NetworkPolicySpec): Policy {
  return { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name, namespace }, spec };
}

const denyAll = (namespace: string, types: ("Ingress" | "Egress")[]) => policy(namespace, types.length === 2 ? "default-deny" : "default-deny-ingress", { podSelector: {}, policyTypes: types });

const dnsEgress = (namespace: string) =>
  policy(namespace, "allow-dns", {
    podSelector: {},
    policyTypes: ["Egress"],
    egress: [
      { to: [ns("kube-system", PEER_LABELS.coreDns), { ipBlock: { cidr: NODE_LOCAL_DNS } }], ports: [{ protocol: "UDP", port: 53 }, tcp(53)] },
    ],
  });

const sameNamespace = (namespace: string, egress: boolean) =>
  policy(namespace, "allow-same-namespace", {
    podSelector: {},
    policyTypes: egress ? ["Ingress", "Egress"] : ["Ingress"],
    ingress: [{ from: [{ podSelector: {} }] }],
    ...(egress ? { egress: [{ to: [{ podSelector: {} }] }] } : {}),
  });

export function networkPolicies(input: NetworkPolicyInput): Policy[] {
  const n = input.namespaces;
  const fromIngress = (port: number) => ({ from: [ns(n.ingress, PEER_LABELS.ingressController)], ports: [tcp(port)] });
  const fromPrometheus = (port: number) => ({ from: [ns(n.monitoring, PEER_LABELS.prometheus)], ports: [tcp(port)] });
  const toPostgres = { to: [ns(input.peers.postgres)], ports: [tcp(5432)] };
  // Pod traffic to the load balancer's address is answered by the ingress controller's Pods.
  const toPublicNames = { to: [host(input.ingressCidr), ns(n.ingress, PEER_LABELS.ingressController)], ports: [tcp(443), tcp(80)] };

  return [
    // --- edp: the EDP services ---
    denyAll(n.edp, ["Ingress", "Egress"]),
    dnsEgress(n.edp),
    sameNamespace(n.edp, true),
    policy(n.edp, "allow-from-ingress-nginx", { podSelector: {}, policyTypes: ["Ingress"], ingress: [fromIngress(8080)] }),
    policy(n.edp, "allow-prometheus-scrape", { podSelector: {}, policyTypes: ["Ingress"], ingress: [fromPrometheus(8081)] }),
    policy(n.edp, "allow-egress", {
      podSelector: {},
      policyTypes: ["Egress"],
      egress: [
        toPostgres,
        toPublicNames,
        // onboarding issues device certificates from Vault.
        { to: [ns(input.peers.vault)], ports: [tcp(8200)] },
        { to: [host(input.e3Cidr)], ports: [tcp(443)] },
      ],
    }),

    // --- keycloak ---
    denyAll(n.keycloak, ["Ingress", "Egress"]),
    dnsEgress(n.keycloak),
    // Cluster members replicate caches with each other (JGroups on 7800).
    sameNamespace(n.keycloak, true),
    policy(n.keycloak, "allow-from-ingress-nginx", { podSelector: {}, policyTypes: ["Ingress"], ingress: [fromIngress(8080)] }),
    policy(n.keycloak, "allow-prometheus-scrape", { podSelector: {}, policyTypes: ["Ingress"], ingress: [fromPrometheus(9000)] }),
    policy(n.keycloak, "allow-egress", { podSelector: {}, policyTypes: ["Egress"], egress: [toPostgres] }),

    // --- monitoring ---
    denyAll(n.monitoring, ["Ingress"]),
    sameNamespace(n.monitoring, false),
    policy(n.monitoring, "allow-grafana-from-ingress-nginx", {
      podSelector: { matchLabels: PEER_LABELS.grafana },
      policyTypes: ["Ingress"],
      ingress: [{ from: [ns(n.ingress, PEER_LABELS.ingressController)], ports: [tcp(3000)] }],
    }),
    // The API server calls the operator's admission webhook from addresses no selector can name.
    policy(n.monitoring, "allow-operator-webhook", {
      podSelector: { matchLabels: { app: "kube-prometheus-stack-operator" } },
      policyTypes: ["Ingress"],
      ingress: [{ ports: [tcp(10250)] }],
    }),

    // --- loki ---
    denyAll(n.loki, ["Ingress"]),
    sameNamespace(n.loki, false),
    policy(n.loki, "allow-gateway-from-ingress-nginx", {
      podSelector: { matchLabels: PEER_LABELS.lokiGateway },
      policyTypes: ["Ingress"],
      ingress: [{ from: [ns(n.ingress, PEER_LABELS.ingressController)], ports: [tcp(8080)] }],
    }),
    policy(n.loki, "allow-from-monitoring", { podSelector: {}, policyTypes: ["Ingress"], ingress: [{ from: [ns(n.monitoring)] }] }),
  ];
}
