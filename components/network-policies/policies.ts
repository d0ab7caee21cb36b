/**
 * NetworkPolicies of the platform namespaces, as pure data. The namespaces we write every Pod of
 * (edp, keycloak) and the infrastructure namespaces (postgres, vault, ingress-nginx,
 * cert-manager, kyverno, the CloudNativePG operator's) deny all traffic both ways and allow what
 * must talk. monitoring and loki deny ingress only: Prometheus scrapes every namespace and the
 * node, and Grafana fetches dashboards, so their egress cannot be listed without breaking them
 * as charts change. Terway enforces them (components/foundation/cluster.ts).
 */
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";

type Policy = k8s.types.input.networking.v1.NetworkPolicy & { metadata: { name: string; namespace: string } };
type Peer = k8s.types.input.networking.v1.NetworkPolicyPeer;
type Port = { protocol: string; port: number };

export interface NetworkPolicyInput {
  /** Namespaces that get policies here, by name. */
  namespaces: { edp: string; keycloak: string; monitoring: string; loki: string; ingress: string; certManager: string; kyverno: string };
  /** Namespaces of PostgreSQL and Vault, which their own components create (outputs, so policies wait for them). */
  peers: { postgres: pulumi.Input<string>; vault: pulumi.Input<string> };
  /** Names of the PostgreSQL and Vault namespaces, for the policies inside them. */
  peerNames: { postgres: string; vault: string };
  /** Namespace of the CloudNativePG operator (the PostgreSQL component installs it). */
  cnpgOperator: string;
  /** The VPC's CIDR: the API server's endpoints (ACK's intranet address, port 6443) are inside it. */
  vpcCidr: string;
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
  onboarding: { "app.kubernetes.io/name": "onboarding" },
  certManagerWebhook: { "app.kubernetes.io/name": "webhook", "app.kubernetes.io/instance": "cert-manager" },
  postgresInstance: { "cnpg.io/podRole": "instance" },
} as const;
/** Every IPv4 address: for egress to cloud APIs (KMS, OSS, ACME, registries) whose addresses are not ours to list. */
export const ANYWHERE = "0.0.0.0/0";
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

/** Egress to the API server (the kubernetes Service is DNATed to its endpoints in the VPC before policies apply). */
const apiServerEgress = (namespace: string, vpcCidr: string) =>
  policy(namespace, "allow-api-server", { podSelector: {}, policyTypes: ["Egress"], egress: [{ to: [host(vpcCidr)], ports: [tcp(6443), tcp(443)] }] });

/** The API server calls admission webhooks from control-plane addresses no selector can name. */
const webhookIngress = (namespace: string, port: number, podSelector: k8s.types.input.meta.v1.LabelSelector = {}) =>
  policy(namespace, "allow-webhook-from-api-server", { podSelector, policyTypes: ["Ingress"], ingress: [{ ports: [tcp(port)] }] });

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

    ...infrastructurePolicies(input),
  ];
}

/** The namespaces of the platform's infrastructure: default-deny both ways, and what each must do. */
function infrastructurePolicies(input: NetworkPolicyInput): Policy[] {
  const n = input.namespaces;
  const pg = input.peerNames.postgres;
  const vault = input.peerNames.vault;
  const op = input.cnpgOperator;
  const fromPrometheus = (port: number) => ({ from: [ns(n.monitoring, PEER_LABELS.prometheus)], ports: [tcp(port)] });
  const httpsAnywhere = { to: [host(ANYWHERE)], ports: [tcp(443)] };
  const base = (namespace: string) => [denyAll(namespace, ["Ingress", "Egress"]), dnsEgress(namespace), apiServerEgress(namespace, input.vpcCidr)];
  return [
    // --- postgres: CloudNativePG instances, the pooler, the backup, drill and restore Jobs ---
    ...base(pg),
    // Replication between instances, the pooler and the Jobs to the primary.
    sameNamespace(pg, true),
    policy(pg, "allow-clients", {
      podSelector: {},
      policyTypes: ["Ingress"],
      ingress: [{ from: [ns(n.edp), ns(n.keycloak), ns(vault)], ports: [tcp(5432)] }],
    }),
    // The operator calls each instance manager's status endpoint and connects as the superuser.
    policy(pg, "allow-operator", { podSelector: {}, policyTypes: ["Ingress"], ingress: [{ from: [ns(op)], ports: [tcp(8000), tcp(5432)] }] }),
    policy(pg, "allow-prometheus-scrape", { podSelector: {}, policyTypes: ["Ingress"], ingress: [fromPrometheus(9187)] }),
    // Dumps go to, and restores come from, OSS (its VPC endpoint resolves to addresses outside ours).
    policy(pg, "allow-backup-jobs-to-oss", {
      podSelector: { matchExpressions: [{ key: "app.kubernetes.io/name", operator: "In", values: ["pgbackup", "pgdrill", "pgrestore"] }] },
      policyTypes: ["Egress"],
      egress: [httpsAnywhere],
    }),

    // --- vault: the raft nodes, the configuration and snapshot Jobs, the unsealer ---
    ...base(vault),
    // Raft (8201) and the API (8200) among the nodes; the Jobs and the unsealer call the nodes.
    sameNamespace(vault, true),
    policy(vault, "allow-clients", {
      podSelector: { matchLabels: { "app.kubernetes.io/name": "vault" } },
      policyTypes: ["Ingress"],
      ingress: [{ from: [ns(n.ingress, PEER_LABELS.ingressController), ns(n.edp, PEER_LABELS.onboarding), ns(n.monitoring, PEER_LABELS.prometheus)], ports: [tcp(8200)] }],
    }),
    // KMS (auto-unseal and the unsealer) and OSS (snapshots) by HTTPS; Vault's database plugin to PostgreSQL.
    policy(vault, "allow-egress", { podSelector: {}, policyTypes: ["Egress"], egress: [httpsAnywhere, { to: [ns(pg)], ports: [tcp(5432)] }] }),

    // --- ingress-nginx: both controllers ---
    ...base(n.ingress),
    policy(n.ingress, "allow-controller-traffic", {
      podSelector: { matchLabels: PEER_LABELS.ingressController },
      policyTypes: ["Ingress"],
      // Clients keep their addresses (externalTrafficPolicy: Local), so the load balancers' traffic comes from anywhere.
      ingress: [{ ports: [tcp(80), tcp(443)] }, { ports: [tcp(8443)] }, fromPrometheus(10254)],
    }),
    // Backends live in many namespaces, on their own ports.
    policy(n.ingress, "allow-controller-to-backends", {
      podSelector: { matchLabels: PEER_LABELS.ingressController },
      policyTypes: ["Egress"],
      egress: [{ to: [{ namespaceSelector: {} }] }],
    }),

    // --- cert-manager ---
    ...base(n.certManager),
    webhookIngress(n.certManager, 10250, { matchLabels: PEER_LABELS.certManagerWebhook }),
    policy(n.certManager, "allow-prometheus-scrape", { podSelector: {}, policyTypes: ["Ingress"], ingress: [fromPrometheus(9402)] }),
    // ACME (Let's Encrypt) over HTTPS, and the HTTP-01 self-check against the public load balancer.
    policy(n.certManager, "allow-acme", { podSelector: {}, policyTypes: ["Egress"], egress: [{ to: [host(ANYWHERE)], ports: [tcp(443), tcp(80)] }] }),

    // --- kyverno ---
    ...base(n.kyverno),
    webhookIngress(n.kyverno, 9443),
    policy(n.kyverno, "allow-prometheus-scrape", { podSelector: {}, policyTypes: ["Ingress"], ingress: [fromPrometheus(8000)] }),
    // Image verification reads signatures from registries.
    policy(n.kyverno, "allow-registries", { podSelector: {}, policyTypes: ["Egress"], egress: [httpsAnywhere] }),

    // --- the CloudNativePG operator ---
    ...base(op),
    webhookIngress(op, 9443),
    policy(op, "allow-prometheus-scrape", { podSelector: {}, policyTypes: ["Ingress"], ingress: [fromPrometheus(8080)] }),
    policy(op, "allow-to-instances", { podSelector: {}, policyTypes: ["Egress"], egress: [{ to: [ns(pg)], ports: [tcp(8000), tcp(5432)] }] }),
  ];
}
