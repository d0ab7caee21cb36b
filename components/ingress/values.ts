/**
 * Values of the ingress-nginx chart. The controller's Service binds to the stage's existing
 * Alibaba load balancer (manual §3.3.1, formerly a hand-edited nginx.patch.yaml), and takes over
 * its listeners so the load balancer forwards to the controller without manual set-up.
 */
import type { Stage } from "../../config";
import { excludeEdgeNodes } from "../kubeedge/cluster-facts";

export const INGRESS_CLASS = "nginx";
export const LB_ID_ANNOTATION = "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-id";
export const LB_OVERRIDE_LISTENERS_ANNOTATION = "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-force-override-listeners";

export interface IngressValuesInput {
  stage: Stage;
  loadBalancerId: string;
  /** Create a ServiceMonitor (needs the prometheus-operator CRDs). */
  serviceMonitor: boolean;
}

export function ingressNginxValues(input: IngressValuesInput) {
  const replicas = input.stage === "testing" ? 1 : 2;
  return {
    controller: {
      replicaCount: replicas,
      ingressClassResource: { name: INGRESS_CLASS, enabled: true, default: true },
      ingressClass: INGRESS_CLASS,
      // Snippets let any Ingress author inject nginx configuration (CVE-2021-25742, CVE-2025-1974).
      allowSnippetAnnotations: false,
      config: { "use-forwarded-headers": "false", "server-tokens": "false", "ssl-redirect": "true" },
      service: {
        type: "LoadBalancer",
        // Keeps client addresses for access logs and rate limits.
        externalTrafficPolicy: "Local",
        annotations: {
          [LB_ID_ANNOTATION]: input.loadBalancerId,
          [LB_OVERRIDE_LISTENERS_ANNOTATION]: "true",
        },
      },
      resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { cpu: "1", memory: "768Mi" } },
      // KubeEdge nodes have no ingress path (seed 003, §2.6): the controller never runs on one.
      affinity: excludeEdgeNodes(undefined),
      // The chart adds a PodDisruptionBudget only when it runs more than one replica.
      minAvailable: 1,
      metrics: { enabled: true, serviceMonitor: { enabled: input.serviceMonitor } },
      admissionWebhooks: {
        enabled: true,
        // When the controller is down, Ingress changes must still be possible (the lesson of §3.9.2).
        failurePolicy: "Ignore",
        // The chart's two certificate jobs each read their own resources (not admissionWebhooks.patch).
        createSecretJob: { resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { cpu: "100m", memory: "64Mi" } } },
        patchWebhookJob: { resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { cpu: "100m", memory: "64Mi" } } },
      },
    },
    defaultBackend: { enabled: false },
  };
}
