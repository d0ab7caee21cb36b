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
  // Edge clusters (components/edge). Flux ≥ 2.5 serves the Bucket v1 API the edge sync uses.
  flux2: { chart: "flux2", repository: "https://fluxcd-community.github.io/helm-charts", version: "2.17.0" },
  sealedSecrets: { chart: "sealed-secrets", repository: "https://bitnami-labs.github.io/sealed-secrets", version: "2.17.6" },
} satisfies Record<string, ChartPin>;

export const IMAGES = {} satisfies Record<string, string>;
