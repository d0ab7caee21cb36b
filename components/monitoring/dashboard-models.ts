/**
 * Grafana dashboard models (JSON) of this program, built from a short list of panels: what the
 * manual's grafana.com dashboards showed for the EDP's Spring Boot services (Micrometer metrics)
 * and for ingress-nginx (its controller's metrics), as time series on the Prometheus data source.
 */

export interface PanelSpec {
  title: string;
  /** PromQL; `$job` / `$ingress` are the dashboard's variables. */
  expr: string;
  /** Grafana unit id (reqps, s, bytes, percentunit, short, …). */
  unit: string;
  legend: string;
}

interface Variable {
  name: string;
  /** label_values(...) query. */
  query: string;
}

const DATASOURCE = { type: "prometheus", uid: "prometheus" };

/** A dashboard of time-series panels, two per row, with multi-value variables over Prometheus labels. */
export function dashboardModel(uid: string, title: string, tags: string[], variables: Variable[], panels: PanelSpec[]): Record<string, unknown> {
  return {
    uid,
    title,
    tags,
    editable: false,
    schemaVersion: 39,
    time: { from: "now-6h", to: "now" },
    refresh: "1m",
    templating: {
      list: variables.map((v) => ({
        name: v.name,
        type: "query",
        datasource: DATASOURCE,
        query: { query: v.query, refId: v.name },
        includeAll: true,
        multi: true,
        current: { text: "All", value: "$__all" },
        refresh: 2,
      })),
    },
    panels: panels.map((p, i) => ({
      id: i + 1,
      type: "timeseries",
      title: p.title,
      datasource: DATASOURCE,
      gridPos: { h: 8, w: 12, x: (i % 2) * 12, y: Math.floor(i / 2) * 8 },
      fieldConfig: { defaults: { unit: p.unit }, overrides: [] },
      targets: [{ refId: "A", datasource: DATASOURCE, expr: p.expr, legendFormat: p.legend }],
    })),
  };
}

const job = 'job=~"$job"';
const ing = 'ingress=~"$ingress"';

export const DASHBOARD_MODELS = {
  "spring-boot": dashboardModel("edp-spring-boot", "Spring Boot Applications", ["edp", "jvm"], [{ name: "job", query: "label_values(jvm_memory_used_bytes, job)" }], [
    { title: "HTTP requests", expr: `sum by (job, uri) (rate(http_server_requests_seconds_count{${job}}[5m]))`, unit: "reqps", legend: "{{job}} {{uri}}" },
    {
      title: "HTTP 5xx ratio",
      expr: `sum by (job) (rate(http_server_requests_seconds_count{${job},status=~"5.."}[5m])) / sum by (job) (rate(http_server_requests_seconds_count{${job}}[5m]))`,
      unit: "percentunit",
      legend: "{{job}}",
    },
    {
      title: "HTTP mean latency",
      expr: `sum by (job) (rate(http_server_requests_seconds_sum{${job}}[5m])) / sum by (job) (rate(http_server_requests_seconds_count{${job}}[5m]))`,
      unit: "s",
      legend: "{{job}}",
    },
    { title: "Heap used", expr: `sum by (job, instance) (jvm_memory_used_bytes{${job},area="heap"})`, unit: "bytes", legend: "{{instance}}" },
    { title: "Heap max", expr: `sum by (job, instance) (jvm_memory_max_bytes{${job},area="heap"})`, unit: "bytes", legend: "{{instance}}" },
    { title: "GC pause time", expr: `sum by (job, instance) (rate(jvm_gc_pause_seconds_sum{${job}}[5m]))`, unit: "s", legend: "{{instance}}" },
    { title: "Live threads", expr: `jvm_threads_live_threads{${job}}`, unit: "short", legend: "{{instance}}" },
    { title: "Process CPU", expr: `process_cpu_usage{${job}}`, unit: "percentunit", legend: "{{instance}}" },
    { title: "DB pool: active connections", expr: `hikaricp_connections_active{${job}}`, unit: "short", legend: "{{instance}} {{pool}}" },
    { title: "DB pool: pending threads", expr: `hikaricp_connections_pending{${job}}`, unit: "short", legend: "{{instance}} {{pool}}" },
  ]),
  "ingress-nginx": dashboardModel("edp-ingress-nginx", "NGINX Ingress controller", ["edp", "ingress"], [{ name: "ingress", query: "label_values(nginx_ingress_controller_requests, ingress)" }], [
    { title: "Requests per ingress", expr: `sum by (ingress) (rate(nginx_ingress_controller_requests{${ing}}[2m]))`, unit: "reqps", legend: "{{ingress}}" },
    {
      title: "Success ratio (non-4xx/5xx)",
      expr: `sum by (ingress) (rate(nginx_ingress_controller_requests{${ing},status!~"[45].."}[2m])) / sum by (ingress) (rate(nginx_ingress_controller_requests{${ing}}[2m]))`,
      unit: "percentunit",
      legend: "{{ingress}}",
    },
    {
      title: "Latency p95",
      expr: `histogram_quantile(0.95, sum by (le, ingress) (rate(nginx_ingress_controller_request_duration_seconds_bucket{${ing}}[2m])))`,
      unit: "s",
      legend: "{{ingress}}",
    },
    { title: "Active connections", expr: 'sum by (pod) (nginx_ingress_controller_nginx_process_connections{state="active"})', unit: "short", legend: "{{pod}}" },
    { title: "Last config reload successful", expr: "nginx_ingress_controller_config_last_reload_successful", unit: "short", legend: "{{pod}}" },
    { title: "Certificate expiry", expr: "nginx_ingress_controller_ssl_expire_time_seconds - time()", unit: "s", legend: "{{host}}" },
    { title: "Controller memory", expr: "nginx_ingress_controller_nginx_process_resident_memory_bytes", unit: "bytes", legend: "{{pod}}" },
    { title: "Controller CPU", expr: "rate(nginx_ingress_controller_nginx_process_cpu_seconds_total[2m])", unit: "short", legend: "{{pod}}" },
  ]),
} satisfies Record<string, Record<string, unknown>>;
