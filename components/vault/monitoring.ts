/**
 * Vault's metrics, as pure manifests: the ServiceMonitor that scrapes every node's
 * /v1/sys/metrics over TLS (Vault's telemetry stanza in values.ts), the alerts for a sealed node
 * and a cluster without a leader, and a Grafana dashboard. index.ts applies them once the
 * monitoring stack's CRDs exist.
 */
import { VAULT } from "./values";

/** The headless Service of the StatefulSet: one endpoint per node, so every node is scraped once. */
export const VAULT_SCRAPE_JOB = VAULT.internalService;

export function vaultServiceMonitor(namespace: string = VAULT.namespace) {
  return {
    apiVersion: "monitoring.coreos.com/v1",
    kind: "ServiceMonitor",
    metadata: { name: "vault", namespace, labels: { "app.kubernetes.io/name": "vault" } },
    spec: {
      selector: { matchLabels: { "app.kubernetes.io/name": "vault", "vault-internal": "true" } },
      namespaceSelector: { matchNames: [namespace] },
      endpoints: [
        {
          port: "https",
          scheme: "https",
          path: "/v1/sys/metrics",
          params: { format: ["prometheus"] },
          interval: "30s",
          // Vault's own CA, from the ConfigMap the component writes next to it.
          tlsConfig: { ca: { configMap: { name: "vault-ca", key: "ca.crt" } }, serverName: `${VAULT.activeService}.${namespace}.svc` },
        },
      ],
    },
  };
}

export function vaultAlertRules(namespace: string = VAULT.namespace, stage = "") {
  const job = `job="${VAULT_SCRAPE_JOB}"`;
  const labels = { component: "vault", ...(stage ? { stage } : {}) };
  return {
    apiVersion: "monitoring.coreos.com/v1",
    kind: "PrometheusRule",
    metadata: { name: "vault", namespace, labels: { "app.kubernetes.io/name": "vault" } },
    spec: {
      groups: [
        {
          name: "vault",
          rules: [
            {
              alert: "VaultSealed",
              expr: `vault_core_unsealed{${job}} == 0`,
              for: "5m",
              labels: { ...labels, severity: "critical" },
              annotations: {
                summary: "Vault node {{ $labels.instance }} is sealed",
                description: "A sealed node serves nothing: onboarding cannot sign device certificates and the CRL is not published. Check the KMS seal (or, in testing, the vault-unsealer Deployment).",
              },
            },
            {
              alert: "VaultNoLeader",
              expr: `sum(vault_core_active{${job}}) < 1`,
              for: "5m",
              labels: { ...labels, severity: "critical" },
              annotations: { summary: "No Vault node is active", description: "The raft cluster has no leader; Vault answers no request. Check `vault operator raft list-peers` on a node." },
            },
            {
              alert: "VaultNodeDown",
              expr: `up{${job}} == 0`,
              for: "5m",
              labels: { ...labels, severity: "warning" },
              annotations: { summary: "Vault node {{ $labels.instance }} does not answer its metrics endpoint", description: "The node is down, sealed or unreachable." },
            },
            {
              alert: "VaultMetricsMissing",
              expr: `absent(up{${job}})`,
              for: "15m",
              labels: { ...labels, severity: "warning" },
              annotations: { summary: "Vault is not scraped", description: "No target of the Vault ServiceMonitor: the sealed and no-leader alerts cannot fire." },
            },
          ],
        },
      ],
    },
  };
}

/** A small dashboard: seal state, active node, request rate and latency, raft health. */
export function vaultDashboard(namespace: string) {
  const ds = { type: "prometheus", uid: "prometheus" };
  const panel = (id: number, title: string, expr: string, x: number, y: number, type = "timeseries") => ({
    id,
    type,
    title,
    datasource: ds,
    gridPos: { h: 8, w: 12, x, y },
    targets: [{ refId: "A", expr, datasource: ds }],
  });
  const dashboard = {
    uid: "edp-vault",
    title: "Vault",
    schemaVersion: 39,
    tags: ["edp", "vault"],
    time: { from: "now-6h", to: "now" },
    panels: [
      panel(1, "Unsealed nodes", `sum(vault_core_unsealed{job="${VAULT_SCRAPE_JOB}"})`, 0, 0, "stat"),
      panel(2, "Active node", `vault_core_active{job="${VAULT_SCRAPE_JOB}"} == 1`, 12, 0, "stat"),
      panel(3, "Requests per second", `sum(rate(vault_core_handle_request_count{job="${VAULT_SCRAPE_JOB}"}[5m]))`, 0, 8),
      panel(4, "Request latency (p99, ms)", `max(vault_core_handle_request{job="${VAULT_SCRAPE_JOB}",quantile="0.99"})`, 12, 8),
      panel(5, "Raft commit time (ms)", `max(vault_raft_commitTime{job="${VAULT_SCRAPE_JOB}",quantile="0.99"})`, 0, 16),
      panel(6, "Nodes up", `sum(up{job="${VAULT_SCRAPE_JOB}"})`, 12, 16),
    ],
  };
  return {
    apiVersion: "v1" as const,
    kind: "ConfigMap" as const,
    metadata: { name: "dashboard-vault", namespace, labels: { grafana_dashboard: "1" }, annotations: { grafana_folder: "infrastructure" } },
    data: { "vault.json": JSON.stringify(dashboard) },
  };
}
