/**
 * The Grafana dashboards of the manual (§3.9.5) and where each comes from now. Charts that ship a
 * dashboard provide it as a ConfigMap the Grafana sidecar loads; the rest (the manual took them
 * from grafana.com, which Grafana would download at every start) are written here and shipped
 * as ConfigMaps too, so Grafana needs no internet access and a dashboard changes only with a
 * reviewed commit. Dashboards of components this platform no longer runs centrally say so
 * instead of pretending.
 */

import { DASHBOARD_MODELS } from "./dashboard-models";

export type DashboardSource =
  | { kind: "chart"; chart: "kube-prometheus-stack" | "kyverno" | "loki"; equivalent: string }
  /** A dashboard of this program (./dashboard-models.ts), in place of the manual's grafana.com one. */
  | { kind: "program"; dashboard: "spring-boot" | "ingress-nginx"; replaces: string }
  | { kind: "elsewhere"; reason: string };

export interface ManualDashboard {
  folder: string;
  name: string;
  source: DashboardSource;
}

export const MANUAL_DASHBOARDS: ManualDashboard[] = [
  { folder: "apps", name: "Spring Boot Applications", source: { kind: "program", dashboard: "spring-boot", replaces: "grafana.com 4701 (JVM Micrometer)" } },
  { folder: "developers", name: "Pod Metrics + Logs", source: { kind: "chart", chart: "kube-prometheus-stack", equivalent: "Kubernetes / Compute Resources / Pod (logs: Explore with the Loki data source)" } },
  { folder: "infrastructure", name: "Hashicorp Vault", source: { kind: "elsewhere", reason: "shipped with the Vault component, which owns Vault's metrics" } },
  { folder: "infrastructure", name: "Keycloak Metrics", source: { kind: "elsewhere", reason: "Keycloak exposes metrics (scraped here); its dashboard is not in any pinned chart" } },
  { folder: "k8s", name: "Flux Cluster Stats", source: { kind: "elsewhere", reason: "Flux no longer runs on the central cluster (Pulumi manages it); edge clusters run Flux" } },
  { folder: "k8s", name: "Flux Control Plane", source: { kind: "elsewhere", reason: "Flux no longer runs on the central cluster (Pulumi manages it); edge clusters run Flux" } },
  { folder: "k8s", name: "Kubernetes Cluster (Prometheus)", source: { kind: "chart", chart: "kube-prometheus-stack", equivalent: "Kubernetes / Compute Resources / Cluster" } },
  { folder: "k8s", name: "Kubernetes Cluster Monitoring", source: { kind: "chart", chart: "kube-prometheus-stack", equivalent: "Kubernetes / Compute Resources / * and Node Exporter / Nodes" } },
  { folder: "k8s", name: "Kubernetes Ingress Controller Dashboard", source: { kind: "program", dashboard: "ingress-nginx", replaces: "grafana.com 9614 (NGINX Ingress controller)" } },
  { folder: "k8s", name: "Kyverno", source: { kind: "chart", chart: "kyverno", equivalent: "Kyverno (grafana.enabled in the kyverno chart)" } },
  { folder: "k8s", name: "NGINX Ingress controller", source: { kind: "program", dashboard: "ingress-nginx", replaces: "grafana.com 9614 (NGINX Ingress controller)" } },
  { folder: "k8s", name: "Prometheus 2.0 Overview", source: { kind: "chart", chart: "kube-prometheus-stack", equivalent: "Prometheus / Overview" } },
  { folder: "monitoring", name: "Alerts", source: { kind: "chart", chart: "kube-prometheus-stack", equivalent: "Alertmanager / Overview" } },
  { folder: "monitoring", name: "Loki", source: { kind: "chart", chart: "loki", equivalent: "Loki dashboards (monitoring.dashboards in the loki chart)" } },
  { folder: "General", name: "Grafana Internals", source: { kind: "chart", chart: "kube-prometheus-stack", equivalent: "Grafana Overview" } },
  { folder: "General", name: "State of the Deployment", source: { kind: "elsewhere", reason: "described Flux reconciliation; `pulumi stack history` is the record now" } },
];

/** Label and annotation the Grafana sidecar finds dashboard ConfigMaps by (kube-prometheus-stack values). */
export const DASHBOARD_LABEL = { grafana_dashboard: "1" } as const;
export const DASHBOARD_FOLDER_ANNOTATION = "grafana_folder";

export interface DashboardConfigMap {
  name: string;
  folder: string;
  /** File name the sidecar writes, and the dashboard's JSON model. */
  file: string;
  json: string;
}

/** One ConfigMap per program dashboard, in the folder of the manual; a dashboard two manual entries shared ships once. */
export function programDashboards(dashboards: ManualDashboard[] = MANUAL_DASHBOARDS): DashboardConfigMap[] {
  const out = new Map<string, DashboardConfigMap>();
  for (const d of dashboards) {
    if (d.source.kind !== "program" || out.has(d.source.dashboard)) continue;
    const model = DASHBOARD_MODELS[d.source.dashboard];
    out.set(d.source.dashboard, { name: `dashboard-${d.source.dashboard}`, folder: d.folder, file: `${d.source.dashboard}.json`, json: JSON.stringify(model) });
  }
  return [...out.values()].sort((a, b) => a.name.localeCompare(b.name));
}
