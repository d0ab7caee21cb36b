/**
 * The Grafana dashboards of the manual (§3.9.5) and where each comes from now. Charts that ship a
 * dashboard provide it as a ConfigMap the Grafana sidecar loads; others are grafana.com dashboards
 * Grafana downloads at start. Dashboards of components this platform no longer runs centrally
 * say so instead of pretending.
 */

export type DashboardSource =
  | { kind: "chart"; chart: "kube-prometheus-stack" | "kyverno" | "loki"; equivalent: string }
  | { kind: "grafana.com"; gnetId: number; revision: number; datasource: string }
  | { kind: "elsewhere"; reason: string };

export interface ManualDashboard {
  folder: string;
  name: string;
  source: DashboardSource;
}

export const MANUAL_DASHBOARDS: ManualDashboard[] = [
  { folder: "apps", name: "Spring Boot Applications", source: { kind: "grafana.com", gnetId: 4701, revision: 10, datasource: "Prometheus" } },
  { folder: "developers", name: "Pod Metrics + Logs", source: { kind: "chart", chart: "kube-prometheus-stack", equivalent: "Kubernetes / Compute Resources / Pod (logs: Explore with the Loki data source)" } },
  { folder: "infrastructure", name: "Hashicorp Vault", source: { kind: "elsewhere", reason: "shipped with the Vault component, which owns Vault's metrics" } },
  { folder: "infrastructure", name: "Keycloak Metrics", source: { kind: "elsewhere", reason: "Keycloak exposes metrics (scraped here); its dashboard is not in any pinned chart" } },
  { folder: "k8s", name: "Flux Cluster Stats", source: { kind: "elsewhere", reason: "Flux no longer runs on the central cluster (Pulumi manages it); edge clusters run Flux" } },
  { folder: "k8s", name: "Flux Control Plane", source: { kind: "elsewhere", reason: "Flux no longer runs on the central cluster (Pulumi manages it); edge clusters run Flux" } },
  { folder: "k8s", name: "Kubernetes Cluster (Prometheus)", source: { kind: "chart", chart: "kube-prometheus-stack", equivalent: "Kubernetes / Compute Resources / Cluster" } },
  { folder: "k8s", name: "Kubernetes Cluster Monitoring", source: { kind: "chart", chart: "kube-prometheus-stack", equivalent: "Kubernetes / Compute Resources / * and Node Exporter / Nodes" } },
  { folder: "k8s", name: "Kubernetes Ingress Controller Dashboard", source: { kind: "grafana.com", gnetId: 9614, revision: 1, datasource: "Prometheus" } },
  { folder: "k8s", name: "Kyverno", source: { kind: "chart", chart: "kyverno", equivalent: "Kyverno (grafana.enabled in the kyverno chart)" } },
  { folder: "k8s", name: "NGINX Ingress controller", source: { kind: "grafana.com", gnetId: 9614, revision: 1, datasource: "Prometheus" } },
  { folder: "k8s", name: "Prometheus 2.0 Overview", source: { kind: "chart", chart: "kube-prometheus-stack", equivalent: "Prometheus / Overview" } },
  { folder: "monitoring", name: "Alerts", source: { kind: "chart", chart: "kube-prometheus-stack", equivalent: "Alertmanager / Overview" } },
  { folder: "monitoring", name: "Loki", source: { kind: "chart", chart: "loki", equivalent: "Loki dashboards (monitoring.dashboards in the loki chart)" } },
  { folder: "General", name: "Grafana Internals", source: { kind: "chart", chart: "kube-prometheus-stack", equivalent: "Grafana Overview" } },
  { folder: "General", name: "State of the Deployment", source: { kind: "elsewhere", reason: "described Flux reconciliation; `pulumi stack history` is the record now" } },
];

/** The grafana chart's dashboardProviders and dashboards values for the grafana.com dashboards, one provider per folder. */
export function grafanaComDashboards(dashboards: ManualDashboard[] = MANUAL_DASHBOARDS) {
  const byFolder = new Map<string, Record<string, { gnetId: number; revision: number; datasource: string }>>();
  for (const d of dashboards) {
    if (d.source.kind !== "grafana.com") continue;
    const key = `gnet-${d.source.gnetId}`;
    const folder = byFolder.get(d.folder) ?? {};
    // Two manual entries showed the same upstream dashboard; load it once.
    folder[key] = { gnetId: d.source.gnetId, revision: d.source.revision, datasource: d.source.datasource };
    byFolder.set(d.folder, folder);
  }
  const folders = [...byFolder.keys()].sort();
  return {
    dashboardProviders: {
      "dashboardproviders.yaml": {
        apiVersion: 1,
        providers: folders.map((f) => ({ name: f, orgId: 1, folder: f, type: "file", disableDeletion: true, editable: false, options: { path: `/var/lib/grafana/dashboards/${f}` } })),
      },
    },
    dashboards: Object.fromEntries(folders.map((f) => [f, byFolder.get(f) ?? {}])),
  };
}
