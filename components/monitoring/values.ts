/** Values of kube-prometheus-stack, loki and promtail, as pure functions of typed input. */
import type { Stage, StageConfig } from "../../config";
import { CSI_DISK_MIN_GB } from "../../config/limits";
import { DISK_STORAGE_CLASS } from "../shared/storage";
import { excludeEdgeNodes } from "../kubeedge/cluster-facts";
import { type Alerting, alertmanagerConfig, RECEIVER_SECRET } from "./alerting";

const res = (cpu: string, memory: string, cpuLimit: string, memoryLimit: string) => ({ requests: { cpu, memory }, limits: { cpu: cpuLimit, memory: memoryLimit } });
/** Alibaba cloud disks are at least 20 GiB (config/limits.ts); a smaller claim is never bound. */
export const MIN_DISK_GB = CSI_DISK_MIN_GB;
const disk = (gb: number) => `${Math.max(gb, MIN_DISK_GB)}Gi`;

/** Grafana's Secret (secrets table) and its keys. */
export const GRAFANA_SECRET = { name: "grafana-credentials", userKey: "admin-user", passwordKey: "admin-password", clientSecretKey: "oauth-client-secret" } as const;
/** Keycloak realm roles Grafana maps to its own roles. */
export const GRAFANA_ROLES = { admin: "grafana-admin", editor: "grafana-editor" } as const;
/** In-cluster push and query endpoint of Loki (the chart's gateway). */
export const lokiGatewayUrl = (namespace: string) => `http://loki-gateway.${namespace}.svc.cluster.local`;

export interface GrafanaOidc {
  /** Issuer URL of the platform realm: https://<keycloak>/realms/<realm>. */
  issuerUrl: string;
  clientId: string;
}

export interface StackValuesInput {
  stage: Stage;
  monitoring: StageConfig["monitoring"];
  /** Grafana's own public host (grafana.api.<stage>.<zone>). */
  grafanaHost: string;
  oidc: GrafanaOidc;
  lokiNamespace: string;
  /** Receivers and dead man's switch (edp:alerting). */
  alerting: Alerting;
}

/** JMESPath Grafana evaluates on the ID token's claims to pick the user's role. */
export const GRAFANA_ROLE_PATH = `contains(roles[*], '${GRAFANA_ROLES.admin}') && 'Admin' || contains(roles[*], '${GRAFANA_ROLES.editor}') && 'Editor' || 'Viewer'`;

export function kubePrometheusStackValues(input: StackValuesInput) {
  const endpoint = (path: string) => `${input.oidc.issuerUrl}${path}`;
  const ha = input.stage === "production";
  return {
    prometheus: {
      prometheusSpec: {
        replicas: ha ? 2 : 1,
        retention: input.monitoring.prometheusRetention,
        // Keep the TSDB below its volume: Prometheus stops ingesting when the disk is full.
        retentionSize: `${Math.floor(Math.max(input.monitoring.prometheusStorageGb, MIN_DISK_GB) * 0.85)}GB`,
        resources: res("200m", "1Gi", "2", "4Gi"),
        // Pick up ServiceMonitors and rules from every namespace, not only the chart's own labels.
        serviceMonitorSelectorNilUsesHelmValues: false,
        podMonitorSelectorNilUsesHelmValues: false,
        ruleSelectorNilUsesHelmValues: false,
        // ScrapeConfigs: targets outside the cluster, such as E3's node exporter.
        scrapeConfigSelectorNilUsesHelmValues: false,
        storageSpec: {
          volumeClaimTemplate: { spec: { storageClassName: DISK_STORAGE_CLASS, accessModes: ["ReadWriteOnce"], resources: { requests: { storage: disk(input.monitoring.prometheusStorageGb) } } } },
        },
      },
    },
    alertmanager: {
      config: alertmanagerConfig(input.alerting, input.stage),
      alertmanagerSpec: {
        // Mounted at /etc/alertmanager/secrets/<name>/: the config reads passwords and URLs from files.
        secrets: [RECEIVER_SECRET.name],
        replicas: ha ? 2 : 1,
        resources: res("20m", "64Mi", "200m", "256Mi"),
        storage: { volumeClaimTemplate: { spec: { storageClassName: DISK_STORAGE_CLASS, accessModes: ["ReadWriteOnce"], resources: { requests: { storage: disk(MIN_DISK_GB) } } } } },
      },
    },
    prometheusOperator: {
      resources: res("50m", "128Mi", "500m", "512Mi"),
      // A rule that cannot be validated while the operator restarts must not block deployments (manual §3.9.2).
      admissionWebhooks: { failurePolicy: "Ignore", patch: { resources: res("10m", "32Mi", "100m", "64Mi") } },
      prometheusConfigReloader: { resources: res("10m", "32Mi", "100m", "64Mi") },
    },
    "kube-state-metrics": { resources: res("20m", "64Mi", "200m", "256Mi") },
    // The chart tolerates every NoSchedule taint: only an affinity keeps it off KubeEdge nodes (seed 003, §2.6).
    "prometheus-node-exporter": { resources: res("20m", "32Mi", "200m", "128Mi"), affinity: excludeEdgeNodes(undefined) },
    grafana: {
      admin: { existingSecret: GRAFANA_SECRET.name, userKey: GRAFANA_SECRET.userKey, passwordKey: GRAFANA_SECRET.passwordKey },
      // The client secret comes from the Secret at runtime; it is never part of the chart values.
      envValueFrom: { GF_AUTH_GENERIC_OAUTH_CLIENT_SECRET: { secretKeyRef: { name: GRAFANA_SECRET.name, key: GRAFANA_SECRET.clientSecretKey } } },
      "grafana.ini": {
        server: { domain: input.grafanaHost, root_url: `https://${input.grafanaHost}/` },
        "auth.generic_oauth": {
          enabled: true,
          name: "Keycloak",
          allow_sign_up: true,
          client_id: input.oidc.clientId,
          scopes: "openid email profile",
          auth_url: endpoint("/protocol/openid-connect/auth"),
          token_url: endpoint("/protocol/openid-connect/token"),
          api_url: endpoint("/protocol/openid-connect/userinfo"),
          signout_redirect_url: endpoint("/protocol/openid-connect/logout"),
          use_pkce: true,
          login_attribute_path: "preferred_username",
          role_attribute_path: GRAFANA_ROLE_PATH,
          role_attribute_strict: false,
        },
      },
      persistence: { enabled: true, size: disk(MIN_DISK_GB), storageClassName: DISK_STORAGE_CLASS },
      // The volume is ReadWriteOnce: a rolling update's new pod would wait for the old one's disk.
      deploymentStrategy: { type: "Recreate" },
      initChownData: { resources: res("10m", "16Mi", "100m", "64Mi") },
      resources: res("50m", "128Mi", "500m", "512Mi"),
      ingress: { enabled: false },
      sidecar: {
        resources: res("10m", "64Mi", "100m", "128Mi"),
        dashboards: { enabled: true, label: "grafana_dashboard", searchNamespace: "ALL", folderAnnotation: "grafana_folder", provider: { foldersFromFilesStructure: true } },
      },
      additionalDataSources: [{ name: "Loki", type: "loki", access: "proxy", url: lokiGatewayUrl(input.lokiNamespace), isDefault: false }],
      // No `dashboards` value: Grafana would download those from grafana.com at every start. The
      // program's own dashboards are ConfigMaps the sidecar loads (Monitoring, dashboards.ts).
    },
  };
}

export interface LokiValuesInput {
  stage: Stage;
  monitoring: StageConfig["monitoring"];
  dashboardNamespace: string;
}

/** Loki as a single binary on a filesystem volume, sized and retained per stage. */
export function lokiValues(input: LokiValuesInput) {
  return {
    deploymentMode: "SingleBinary",
    loki: {
      auth_enabled: false,
      commonConfig: { replication_factor: 1 },
      storage: { type: "filesystem" },
      schemaConfig: { configs: [{ from: "2024-04-01", store: "tsdb", object_store: "filesystem", schema: "v13", index: { prefix: "index_", period: "24h" } }] },
      limits_config: { retention_period: `${input.monitoring.lokiRetentionHours}h` },
      compactor: { retention_enabled: true, delete_request_store: "filesystem" },
    },
    // The chart deletes Loki's volume with its StatefulSet or on scale-down (whenDeleted/whenScaled:
    // Delete); the log history must outlive both.
    singleBinary: {
      replicas: 1,
      persistence: { enabled: true, size: disk(input.monitoring.lokiStorageGb), storageClass: DISK_STORAGE_CLASS, whenDeleted: "Retain", whenScaled: "Retain" },
      resources: res("100m", "512Mi", "2", "2Gi"),
    },
    // The rules sidecar (k8s-sidecar) in Loki's pod.
    sidecar: { resources: res("10m", "32Mi", "100m", "128Mi") },
    backend: { replicas: 0 },
    read: { replicas: 0 },
    write: { replicas: 0 },
    // The caches default to several GiB of memcached, more than single-binary Loki needs.
    chunksCache: { enabled: false },
    resultsCache: { enabled: false },
    gateway: { enabled: true, resources: res("10m", "32Mi", "200m", "128Mi") },
    lokiCanary: { enabled: false },
    test: { enabled: false },
    minio: { enabled: false },
    monitoring: {
      dashboards: { enabled: true, namespace: input.dashboardNamespace, labels: { grafana_dashboard: "1" }, annotations: { grafana_folder: "monitoring" } },
      serviceMonitor: { enabled: true },
    },
  };
}

export function promtailValues(lokiNamespace: string) {
  return {
    config: { clients: [{ url: `${lokiGatewayUrl(lokiNamespace)}/loki/api/v1/push` }] },
    resources: res("20m", "64Mi", "200m", "256Mi"),
    serviceMonitor: { enabled: true },
  };
}
