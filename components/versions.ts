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
  /**
   * Set when no chart repository serves the chart: `repository` is then the chart's Git
   * repository, and its archive is `helm package` of `path` at `tag` (scripts/charts.ts).
   */
  source?: { tag: string; path: string };
}

export const CHARTS = {
  // Edge clusters (components/edge). Flux ≥ 2.5 serves the Bucket v1 API the edge sync uses.
  // flux2 chart 2.17.0 is Flux v2.7.2 (its appVersion); FLUX_VERSION below names the same release.
  flux2: { chart: "flux2", repository: "https://fluxcd-community.github.io/helm-charts", version: "2.17.0" },
  sealedSecrets: { chart: "sealed-secrets", repository: "https://bitnami-labs.github.io/sealed-secrets", version: "2.17.6" },
  // Vault: the official chart; its image is pinned below so a chart bump does not move Vault.
  vault: { chart: "vault", repository: "https://helm.releases.hashicorp.com", version: "0.30.0" },
  // --- Central cluster platform (issue 4) ---
  ingressNginx: { chart: "ingress-nginx", repository: "https://kubernetes.github.io/ingress-nginx", version: "4.13.5" },
  certManager: { chart: "cert-manager", repository: "https://charts.jetstack.io", version: "v1.18.2" },
  kubePrometheusStack: {
    chart: "kube-prometheus-stack",
    repository: "https://prometheus-community.github.io/helm-charts",
    version: "77.1.1",
  },
  // Loki: 6.45.1 cannot render filesystem storage (grafana/loki#19675, fixed in 6.46.0); 6.55.0 is
  // the last release of the open-source chart in this repository (7.x is for Enterprise Logs).
  loki: { chart: "loki", repository: "https://grafana.github.io/helm-charts", version: "6.55.0" },
  promtail: { chart: "promtail", repository: "https://grafana.github.io/helm-charts", version: "6.17.0" },
  kyverno: { chart: "kyverno", repository: "https://kyverno.github.io/kyverno", version: "3.5.2" },
  // PostgreSQL (components/postgres): the CloudNativePG operator, chart 0.29.0 = operator 1.30.0.
  cloudnativePg: { chart: "cloudnative-pg", repository: "https://cloudnative-pg.github.io/charts", version: "0.29.0" },
  // KubeEdge CloudCore (components/kubeedge). KubeEdge serves the chart from no repository
  // (keadm installs it from its source tree); v1.23.0 and v1.23.1 carry the same chart 1.23.0.
  cloudcore: {
    chart: "cloudcore",
    repository: "https://github.com/kubeedge/kubeedge",
    version: "1.23.0",
    source: { tag: "v1.23.1", path: "manifests/charts/cloudcore" },
  },
} satisfies Record<string, ChartPin>;

/** Flux release the script-mode bootstrap installs (`flux install --version`): the flux2 chart's appVersion. */
export const FLUX_VERSION = "v2.7.2";

/**
 * The client pods use to exchange their RRSA ServiceAccount token for STS credentials
 * (components/shared/sts-client.ts bundles it; package.json pins the same version).
 */
export const STS_CLIENT = { package: "@alicloud/credentials", version: "2.4.7" } as const;

/**
 * Alibaba's OSS SDK: `npm run fleet` uses its client; the fleet-status exporter bundles its V1
 * signer (components/edge/fleet-exporter.ts; the whole client bundles to ~0.9 MB, too much for
 * a ConfigMap). package.json pins the same version.
 */
export const OSS_CLIENT = { package: "ali-oss", version: "6.23.0" } as const;

/**
 * Alibaba's RPC-style OpenAPI client (signature 1.0): the API server's access list calls SLB
 * with it, and the Vault unsealer (bundled into its ConfigMap) calls KMS Decrypt. package.json
 * pins the same version.
 */
export const RPC_CLIENT = { package: "@alicloud/pop-core", version: "1.8.0" } as const;

export const IMAGES = {
  // Vault: server, and the CLI in the configuration and snapshot jobs (same binary, same version).
  vault: "hashicorp/vault:1.19.0",
  // Vault: the Shamir unsealer (testing) runs a script on Node.js.
  node: "node:22.14.0-alpine3.21",
  // --- Central cluster platform (issue 4) ---
  /** Official Keycloak image; Bitnami's versioned images stopped receiving updates in August 2025. */
  keycloak: "quay.io/keycloak/keycloak:26.4.0",
  /**
   * keycloak-config-cli applies the platform realm on every change (a Job per realm checksum).
   * Its tags name the Keycloak client it is built with; 26.1 speaks the admin API of 26.x.
   */
  keycloakConfigCli: "docker.io/adorsys/keycloak-config-cli:6.4.0-26.1.0",
  // PostgreSQL (components/postgres). The backup, restore and drill Jobs run the server's own
  // image so that pg_dump and pg_restore match its major version; rclone is copied in from its
  // image by an init container (a static binary).
  postgres: "ghcr.io/cloudnative-pg/postgresql:17.9-standard-trixie",
  // PostgreSQL backups and Vault snapshots upload to OSS with rclone (provider "Alibaba").
  rclone: "docker.io/rclone/rclone:1.71.2",
  // Edge status writer (components/edge): kubectl, jq and a POSIX shell in one image.
  edgeStatusCollector: "docker.io/alpine/k8s:1.33.4",
  // The restore Job copies kubectl (to pause the PgBouncer Pooler) from Flux's CLI image: Alpine
  // with kubectl at /usr/local/bin/kubectl (fluxcd/flux2's Dockerfile), the Flux release the edge
  // clusters run (the flux2 chart's appVersion).
  fluxCli: "ghcr.io/fluxcd/flux-cli:v2.7.2",
  // EdgeMesh's agent (components/kubeedge, edp:kubeEdge.edgeMesh). v1.17.0 is upstream's newest
  // release; it has no KubeEdge compatibility matrix: it needs KubeEdge >= 1.7 and talks only
  // Kubernetes APIs (through EdgeCore's metaServer on edge nodes), which 1.23 still serves.
  edgeMeshAgent: "docker.io/kubeedge/edgemesh-agent:v1.17.0",
} satisfies Record<string, string>;

/**
 * K3s sites (components/sites). Each site pins its own K3s release in config (edp:sites[].k3sVersion);
 * what the enrolment script installs beside it is pinned here. Both are fetched from the
 * projects' release tags: K3s's install.sh verifies the binary against the release's sha256sum file.
 */
export const SITE_RELEASES = {
  /** Calico's manifest install (seed 004: K3s with the Calico CNI). */
  calico: "v3.29.3",
  /** Where the K3s install script of a release is read from (the tag, URL-encoded). */
  k3sInstallScript: (k3sVersion: string) => `https://raw.githubusercontent.com/k3s-io/k3s/${encodeURIComponent(k3sVersion)}/install.sh`,
  calicoManifest: (calicoVersion: string) => `https://raw.githubusercontent.com/projectcalico/calico/${calicoVersion}/manifests/calico.yaml`,
} as const;

/**
 * KubeEdge release of CloudCore (its images) and of EdgeCore (`keadm join --kubeedge-version`):
 * one version on both sides. The cloudcore chart 1.23.0 defaults to v1.23.0 images; the values set
 * this tag as `keadm init --kubeedge-version` does.
 */
export const KUBEEDGE_VERSION = "v1.23.1";
