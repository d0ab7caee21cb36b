export { type DashboardConfigMap, type DashboardSource, MANUAL_DASHBOARDS, type ManualDashboard, programDashboards } from "./dashboards";
export {
  GRAFANA_SERVICE,
  LOKI_GATEWAY_SERVICE,
  Monitoring,
  type MonitoringArgs,
  nodeExporterJob,
  nodeExporterScrapeConfig,
  SCRAPE_TARGETS,
  type ScrapeTarget,
  STACK_RELEASE,
} from "./monitoring";
export { type Alerting, alertmanagerConfig, RECEIVER_SECRET } from "./alerting";
export { GRAFANA_ROLE_PATH, GRAFANA_ROLES, GRAFANA_SECRET, kubePrometheusStackValues, lokiGatewayUrl, lokiValues, MIN_DISK_GB, promtailValues } from "./values";
