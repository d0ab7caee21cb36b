/** Values of the kyverno chart. */
import type { Stage } from "../../config";
import { RECOVERY_NAMESPACES } from "./policies";

const res = (cpu: string, memory: string, cpuLimit: string, memoryLimit: string) => ({ requests: { cpu, memory }, limits: { cpu: cpuLimit, memory: memoryLimit } });

export interface KyvernoValuesInput {
  stage: Stage;
  /** Create ServiceMonitors and the Grafana dashboard ConfigMap (needs the monitoring stack). */
  monitoring: boolean;
  /** Namespace the Grafana dashboard ConfigMap goes to. */
  dashboardNamespace: string;
}

export function kyvernoValues(input: KyvernoValuesInput) {
  // Three admission replicas keep the webhook answering through a node drain (Kyverno's HA guidance).
  const replicas = input.stage === "testing" ? 1 : 3;
  const serviceMonitor = { serviceMonitor: { enabled: input.monitoring } };
  return {
    config: {
      webhooks: { namespaceSelector: { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "NotIn", values: [...RECOVERY_NAMESPACES] }] } },
    },
    // On uninstall, remove Kyverno's webhooks with it (the manual deleted them by hand, §3.9.2).
    // Its image's pullPolicy defaults to null, which renders an imagePullPolicy the schema rejects.
    webhooksCleanup: { enabled: true, image: { pullPolicy: "IfNotPresent" } },
    admissionController: {
      replicas,
      podDisruptionBudget: { enabled: replicas > 1, minAvailable: 1 },
      container: { resources: res("100m", "256Mi", "1", "768Mi") },
      ...serviceMonitor,
    },
    backgroundController: { resources: res("50m", "128Mi", "500m", "256Mi"), ...serviceMonitor },
    cleanupController: { resources: res("50m", "128Mi", "500m", "256Mi"), ...serviceMonitor },
    reportsController: { resources: res("50m", "128Mi", "500m", "512Mi"), ...serviceMonitor },
    grafana: { enabled: input.monitoring, namespace: input.dashboardNamespace, labels: { grafana_dashboard: "1" }, annotations: { grafana_folder: "k8s" } },
  };
}
