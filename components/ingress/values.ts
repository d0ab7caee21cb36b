/**
 * Values of the ingress-nginx chart, for the two controllers of the platform:
 *
 * - public: the stage's existing internet-facing Alibaba load balancer (manual §3.3.1, formerly
 *   a hand-edited nginx.patch.yaml), ingress class `nginx`, for the public names only;
 * - internal: the intranet load balancer the foundation creates, ingress class `nginx-internal`,
 *   for the VPC-internal names (edp-service, the Keycloak admin console, Loki, Vault for E3).
 *
 * Each controller serves only Ingresses of its own class, so a Host header sent to the public
 * load balancer never reaches an internal name. Both take over their load balancer's listeners,
 * so it forwards to the controller without manual set-up.
 */
import type { Stage } from "../../config";
import { excludeEdgeNodes } from "../kubeedge/cluster-facts";
import type { Exposure } from "../certificates/issuers";
import { CLIENT_CERT_HEADERS } from "../e3/render/apache";

/** Ingress class of each exposure. */
export const INGRESS_CLASSES: Record<Exposure, string> = { public: "nginx", internal: "nginx-internal" };
/** The public class (the manual's one class); cert-manager's ACME solver uses it. */
export const INGRESS_CLASS = INGRESS_CLASSES.public;
/** Helm release (and so Service and Deployment) name of each controller. */
export const INGRESS_RELEASES: Record<Exposure, string> = { public: "ingress-nginx", internal: "ingress-nginx-internal" };
export const LB_ID_ANNOTATION = "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-id";
export const LB_OVERRIDE_LISTENERS_ANNOTATION = "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-force-override-listeners";
export const LB_ADDRESS_TYPE_ANNOTATION = "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-address-type";

/**
 * Request headers the public controller removes before a request reaches a backend: E3 asserts a
 * device's identity to the services with these (components/e3/render/apache.ts), over the
 * internal controller. Through the public one, a client could otherwise send them itself.
 */
export const STRIPPED_CLIENT_CERT_HEADERS: string[] = Object.values(CLIENT_CERT_HEADERS);
/** Name patterns (headers-more wildcards) the public controller clears as well. */
export const STRIPPED_HEADER_PATTERNS = ["X-SSL-Client-*", "X-SSL-*", "SSL_CLIENT_*", "SSL-Client-*", "X-Client-Cert*", "X-Forwarded-Client-Cert"] as const;

export interface IngressValuesInput {
  stage: Stage;
  /** Which controller: the public one or the internal one. */
  exposure: Exposure;
  loadBalancerId: string;
  /** Create a ServiceMonitor (needs the prometheus-operator CRDs). */
  serviceMonitor: boolean;
}

/** The public controller's http-level nginx lines that clear client-certificate headers by pattern. */
export function clearHeaderSnippet(): string {
  return `${STRIPPED_HEADER_PATTERNS.map((p) => `more_clear_input_headers "${p}";`).join("\n")}\n`;
}

export function ingressNginxValues(input: IngressValuesInput) {
  const replicas = input.stage === "testing" ? 1 : 2;
  const cls = INGRESS_CLASSES[input.exposure];
  const isPublic = input.exposure === "public";
  const config: Record<string, string> = {
    "use-forwarded-headers": "false",
    "server-tokens": "false",
    "ssl-redirect": "true",
    // Headers with underscores (SSL_CLIENT_*) are invalid to nginx and dropped, never passed on.
    "enable-underscores-in-headers": "false",
    "ignore-invalid-headers": "true",
  };
  if (isPublic) config["http-snippet"] = clearHeaderSnippet();
  return {
    controller: {
      replicaCount: replicas,
      // Only the public controller is the cluster's default class: an Ingress without a class must
      // never land on the internal load balancer by accident, nor an internal one on the public.
      ingressClassResource: { name: cls, enabled: true, default: isPublic, controllerValue: `k8s.io/${INGRESS_RELEASES[input.exposure]}` },
      ingressClass: cls,
      // Two controllers in one namespace need their own leader-election lock.
      electionID: `${INGRESS_RELEASES[input.exposure]}-leader`,
      watchIngressWithoutClass: false,
      // Snippets let any Ingress author inject nginx configuration (CVE-2021-25742, CVE-2025-1974).
      allowSnippetAnnotations: false,
      config,
      // Exact names set to "" are not passed upstream (nginx proxy_set_header semantics).
      ...(isPublic ? { proxySetHeaders: Object.fromEntries(STRIPPED_CLIENT_CERT_HEADERS.map((h) => [h, ""])) } : {}),
      service: {
        type: "LoadBalancer",
        // Keeps client addresses for access logs, rate limits and allow-lists (Vault's).
        externalTrafficPolicy: "Local",
        annotations: {
          [LB_ID_ANNOTATION]: input.loadBalancerId,
          [LB_OVERRIDE_LISTENERS_ANNOTATION]: "true",
          ...(isPublic ? {} : { [LB_ADDRESS_TYPE_ANNOTATION]: "intranet" }),
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
