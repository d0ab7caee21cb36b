/**
 * The one place for versions: Helm charts (with their repositories) and container images.
 * Each component reads its pins from here; a version bump is a one-line change reviewed here.
 */

export interface ChartPin {
  /** Chart name in its repository. */
  chart: string;
  /** Upstream Helm repository URL (or oci:// reference). */
  repository: string;
  version: string;
}

export const CHARTS = {
  // --- Central cluster platform (issue 4) ---
  ingressNginx: { chart: "ingress-nginx", repository: "https://kubernetes.github.io/ingress-nginx", version: "4.13.5" },
  certManager: { chart: "cert-manager", repository: "https://charts.jetstack.io", version: "v1.18.2" },
  kubePrometheusStack: {
    chart: "kube-prometheus-stack",
    repository: "https://prometheus-community.github.io/helm-charts",
    version: "77.1.1",
  },
  loki: { chart: "loki", repository: "https://grafana.github.io/helm-charts", version: "6.45.1" },
  promtail: { chart: "promtail", repository: "https://grafana.github.io/helm-charts", version: "6.17.0" },
  kyverno: { chart: "kyverno", repository: "https://kyverno.github.io/kyverno", version: "3.5.2" },
} satisfies Record<string, ChartPin>;

export const IMAGES = {
  // --- Central cluster platform (issue 4) ---
  /** Official Keycloak image; Bitnami's versioned images stopped receiving updates in August 2025. */
  keycloak: "quay.io/keycloak/keycloak:26.4.0",
} satisfies Record<string, string>;
