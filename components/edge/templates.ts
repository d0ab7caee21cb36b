/**
 * Chart templates and deployments (seed 002) rendered into Flux objects: placeholders
 * substituted recursively, pinned deployments placed on their host, floating ones left to the
 * scheduler. Pure: typed input in, plain Kubernetes objects out.
 */
import { createHash } from "node:crypto";
import { plainYaml } from "../shared/yaml";
import { isPlaceholder, KNOWN_PLACEHOLDERS_TEXT, PLACEHOLDER_PATTERN } from "../../config/placeholders";
import { deploymentUuid } from "./uuid";

/** A chart template as the stage file declares it (edp:chartTemplates). */
export interface ChartTemplate {
  chart: string;
  repository: string;
  version: string;
  values: Record<string, unknown>;
}

/** A deployment as the stage file declares it (edp:deployments). */
export interface Deployment {
  name: string;
  template: string;
  cluster: string;
  hostname?: string;
  values: Record<string, unknown>;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

/** Namespace the deployments' HelmReleases and their sources live in on an edge cluster. */
export const WORKLOAD_NAMESPACE = "edp-edge";
export const HOSTNAME_LABEL = "kubernetes.io/hostname";
/** Label carrying a deployment's UUID on its HelmRelease. */
export const DEPLOYMENT_UUID_LABEL = "edp/deployment-uuid";

export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TemplateError";
  }
}

export interface PlaceholderValues {
  uuid: string;
  name: string;
  /** Absent for a floating deployment: `{{hostname}}` is then an error, not an empty string. */
  hostname?: string;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Replaces placeholders in every string of a values tree (objects and arrays, at any depth).
 * Throws a TemplateError naming the deployment, the placeholder and where it is.
 */
export function substitute(value: unknown, vars: PlaceholderValues, deployment: string, path = "values"): unknown {
  if (typeof value === "string") {
    return value.replace(PLACEHOLDER_PATTERN, (_match, word: string) => {
      if (!isPlaceholder(word)) {
        throw new TemplateError(`deployment ${deployment}: unknown placeholder {{${word}}} at ${path} (known: ${KNOWN_PLACEHOLDERS_TEXT})`);
      }
      const replacement = vars[word];
      if (replacement === undefined) {
        throw new TemplateError(
          `deployment ${deployment} floats (no hostname) but uses {{${word}}} at ${path}; pin it to a host or use a template without {{${word}}}`,
        );
      }
      return replacement;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => substitute(v, vars, deployment, `${path}[${i}]`));
  if (isRecord(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, vars, deployment, `${path}.${k}`)]));
  return value;
}

/** Deep merge as Helm merges values files: objects merge key by key, anything else is replaced. */
export function mergeValues(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isRecord(b) && isRecord(v) ? mergeValues(b, v) : v;
  }
  return out;
}

/** Workload kinds whose pods come from `spec.template`. */
export const POD_TEMPLATE_KINDS = ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"];

/**
 * Where a pinned deployment runs, as HelmRelease post-renderers: kustomize strategic-merge
 * patches of every pod template the chart renders, so the placement holds for any chart, not
 * only for charts with conventional `nodeSelector`/`tolerations` values. `nodeSelector` is a
 * map and merges with the chart's; `tolerations` has no merge key in the PodSpec, so the patch
 * replaces the list: the chart's conventional `tolerations` value (if the deployment's values
 * set one) is carried over, then the specialised toleration. Floating deployments get none:
 * the taint keeps them off specialised hosts.
 */
export function placementPostRenderers(values: Record<string, unknown>, hostname: string | undefined, taintKey: string): Record<string, unknown>[] {
  if (hostname === undefined) return [];
  const own = Array.isArray(values.tolerations) ? (values.tolerations as unknown[]) : [];
  const podSpec = { nodeSelector: { [HOSTNAME_LABEL]: hostname }, tolerations: [...own, { key: taintKey, operator: "Exists", effect: "NoSchedule" }] };
  const patch = (apiVersion: string, kind: string, body: Record<string, unknown>) =>
    // The target selects the objects; kustomize takes kind and name from each target, so the
    // patch's own name is a placeholder required by the format.
    plainYaml({ apiVersion, kind, metadata: { name: "placement" }, spec: body });
  return [
    {
      kustomize: {
        patches: [
          { target: { kind: POD_TEMPLATE_KINDS.join("|") }, patch: patch("apps/v1", "Deployment", { template: { spec: podSpec } }) },
          { target: { kind: "CronJob" }, patch: patch("batch/v1", "CronJob", { jobTemplate: { spec: { template: { spec: podSpec } } } }) },
        ],
      },
    },
  ];
}

/** Values a deployment is installed with: template, then deployment values, substituted. Placement is a post-renderer. */
export function deploymentValues(stage: string, d: Deployment, template: ChartTemplate): Record<string, unknown> {
  const vars: PlaceholderValues = { uuid: deploymentUuid(stage, d.cluster, d.name), name: d.name, hostname: d.hostname };
  const merged = mergeValues(template.values, d.values);
  return substitute(merged, vars, d.name) as Record<string, unknown>;
}

/** One HelmRepository per repository URL, named from its URL so that templates sharing one share it. */
export const helmRepositoryName = (url: string) => `charts-${createHash("sha256").update(url).digest("hex").slice(0, 10)}`;

export function helmRepository(url: string, namespace: string, name = helmRepositoryName(url)): KubeObject {
  const spec: Record<string, unknown> = { url, interval: "1h" };
  if (url.startsWith("oci://")) spec.type = "oci";
  return { apiVersion: "source.toolkit.fluxcd.io/v1", kind: "HelmRepository", metadata: { name, namespace }, spec };
}

export interface HelmReleaseInput {
  name: string;
  namespace: string;
  chart: string;
  version: string;
  repository: string;
  repositoryName?: string;
  values: Record<string, unknown>;
  targetNamespace?: string;
  labels?: Record<string, string>;
  postRenderers?: Record<string, unknown>[];
}

export function helmRelease(r: HelmReleaseInput): KubeObject {
  const spec: Record<string, unknown> = {
    interval: "10m",
    releaseName: r.name,
    chart: {
      spec: {
        chart: r.chart,
        version: r.version,
        sourceRef: { kind: "HelmRepository", name: r.repositoryName ?? helmRepositoryName(r.repository) },
      },
    },
    install: { remediation: { retries: 3 } },
    upgrade: { remediation: { retries: 3 } },
    values: r.values,
  };
  if (r.targetNamespace) spec.targetNamespace = r.targetNamespace;
  if (r.postRenderers && r.postRenderers.length > 0) spec.postRenderers = r.postRenderers;
  return {
    apiVersion: "helm.toolkit.fluxcd.io/v2",
    kind: "HelmRelease",
    metadata: { name: r.name, namespace: r.namespace, ...(r.labels ? { labels: r.labels } : {}) },
    spec,
  };
}

/** The HelmRepositories and HelmReleases of one cluster's deployments, in a stable order. */
export function deploymentObjects(stage: string, cluster: string, deployments: Deployment[], templates: Record<string, ChartTemplate>, taintKey: string): KubeObject[] {
  const mine = deployments.filter((d) => d.cluster === cluster).sort((a, b) => a.name.localeCompare(b.name));
  const releases = mine.map((d) => {
    const template = templates[d.template];
    if (!template) throw new TemplateError(`deployment ${d.name}: chart template ${JSON.stringify(d.template)} is not defined`);
    const values = deploymentValues(stage, d, template);
    return helmRelease({
      name: d.name,
      namespace: WORKLOAD_NAMESPACE,
      chart: template.chart,
      version: template.version,
      repository: template.repository,
      values,
      postRenderers: placementPostRenderers(values, d.hostname, taintKey),
      labels: { [DEPLOYMENT_UUID_LABEL]: deploymentUuid(stage, cluster, d.name) },
    });
  });
  const urls = [...new Set(mine.map((d) => templates[d.template].repository))].sort();
  return [...urls.map((u) => helmRepository(u, WORKLOAD_NAMESPACE)), ...releases];
}
