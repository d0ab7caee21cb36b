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
  // PostgreSQL (components/postgres): the CloudNativePG operator, chart 0.29.0 = operator 1.30.0.
  cloudnativePg: { chart: "cloudnative-pg", repository: "https://cloudnative-pg.github.io/charts", version: "0.29.0" },
} satisfies Record<string, ChartPin>;

export const IMAGES = {
  // PostgreSQL (components/postgres). The backup, restore and drill Jobs run the server's own
  // image so that pg_dump and pg_restore match its major version; rclone is copied in from its
  // image by an init container (a static binary).
  postgres: "ghcr.io/cloudnative-pg/postgresql:17.9-standard-trixie",
  rclone: "docker.io/rclone/rclone:1.71.2",
} satisfies Record<string, string>;
