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

export const CHARTS = {} satisfies Record<string, ChartPin>;

export const IMAGES = {} satisfies Record<string, string>;
