/**
 * Real Helm for the tests: the pinned Helm 3 (scripts/install-helm.sh) rendering the pinned
 * chart archives (scripts/charts.ts) with the values a program run passed to each release.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import YAML from "yaml";
import { cachedArchive, HELM, helmEnv } from "../../scripts/lib/chart-cache";
import { CHARTS, type ChartPin } from "../../components/versions";
import type { StageRun } from "./stage";

const run = promisify(execFile);

/** A Helm release the program makes, with the values it passes. */
export interface ProgramRelease {
  /** Where it comes from, for messages: the resource name, or the edge cluster's desired state. */
  label: string;
  pin: ChartPin;
  release: string;
  namespace: string;
  values: Record<string, unknown>;
}

export interface RenderedObject {
  /** The template it came from (Helm's `# Source:` line). */
  source: string;
  object: Record<string, unknown>;
}

const DUMMY_SECRET = "dummy-secret-for-rendering";

/** Replaces the value at each dotted path (with [i] indices) by a dummy, so no secret reaches Helm or a message. */
export function withDummySecrets(values: unknown, paths: string[]): unknown {
  const copy = structuredClone(values);
  for (const p of paths) {
    const keys = p.split(/\.|\[(\d+)\]/).filter((k) => k !== undefined && k !== "");
    let at: unknown = copy;
    for (const k of keys.slice(0, -1)) at = (at as Record<string, unknown> | undefined)?.[k];
    const last = keys[keys.length - 1];
    if (at && typeof at === "object" && last in at) (at as Record<string, unknown>)[last] = DUMMY_SECRET;
  }
  return copy;
}

/** The pin a release's chart and version belong to; throws for a chart not pinned in versions.ts. */
export function pinFor(chart: string, version: string, label: string): ChartPin {
  // A chart no repository serves (cloudcore) is installed from the cache: its archive's path.
  const pin = (Object.values(CHARTS) as ChartPin[]).find((p) => p.chart === chart || (p.source !== undefined && path.basename(chart) === `${p.chart}-${p.version}.tgz`));
  if (!pin) throw new Error(`${label}: chart ${chart} is not pinned in components/versions.ts`);
  if (pin.version !== version) throw new Error(`${label}: chart ${chart} ${version} is not the version pinned in components/versions.ts (${pin.version})`);
  return pin;
}

/**
 * Every helm.v3.Release of a run of a chart the program pins, with its values (secret inputs
 * replaced by dummies). Deployments of operator-defined chart templates on KubeEdge nodes are
 * releases of charts nobody pins here, and are left out, as they are from the desired states.
 */
export function programReleases(stageRun: StageRun): ProgramRelease[] {
  const templateRelease = (inputs: Record<string, unknown>) =>
    !Object.values(CHARTS).some((p) => p.chart === inputs.chart || String(inputs.chart).endsWith(`/${p.chart}-${p.version}.tgz`)) && String(inputs.chart) !== "";
  return stageRun.ofType("kubernetes:helm.sh/v3:Release").filter((r) => !(r.name.startsWith("kubeedge-deploy-") && templateRelease(r.inputs))).map((r) => {
    const inputs = withDummySecrets(r.inputs, r.secretPaths) as { chart: string; version: string; name: string; namespace?: string; values?: Record<string, unknown> };
    return { label: r.name, pin: pinFor(inputs.chart, inputs.version, r.name), release: inputs.name, namespace: inputs.namespace ?? "default", values: inputs.values ?? {} };
  });
}

/**
 * The Flux HelmReleases in the edge clusters' desired state (the objects written to OSS) whose
 * chart the program pins (the controllers it installs). Deployments of operator-defined chart
 * templates are not pinned here and are left out.
 */
export function desiredStateReleases(stageRun: StageRun): ProgramRelease[] {
  const out: ProgramRelease[] = [];
  for (const r of stageRun.ofType("alicloud:oss/bucketObject:BucketObject").filter((o) => o.name.endsWith("-desired-state"))) {
    const docs = YAML.parseAllDocuments(String(r.inputs.content)).map((d) => d.toJS() as Record<string, unknown> | null);
    for (const doc of docs) {
      if (doc?.kind !== "HelmRelease") continue;
      const meta = doc.metadata as { name: string; namespace: string };
      const spec = doc.spec as { releaseName?: string; targetNamespace?: string; values?: Record<string, unknown>; chart: { spec: { chart: string; version: string } } };
      const pinned = Object.values(CHARTS).some((p) => p.chart === spec.chart.spec.chart);
      if (!pinned) continue;
      const label = `${r.name}: HelmRelease ${meta.namespace}/${meta.name}`;
      out.push({
        label,
        pin: pinFor(spec.chart.spec.chart, spec.chart.spec.version, label),
        release: spec.releaseName ?? meta.name,
        namespace: spec.targetNamespace ?? meta.namespace,
        values: spec.values ?? {},
      });
    }
  }
  return out;
}

export interface RenderOptions {
  /** Kubernetes version the cluster runs (major.minor.patch). */
  kubeVersion: string;
  /** API versions the cluster serves beyond the built-in ones (`group/version` and `group/version/Kind`). */
  apiVersions: string[];
}

const renders = new Map<string, Promise<RenderedObject[]>>();

/**
 * `helm template` of the cached archive with the release's values; the objects it renders. A
 * render with the same chart, release, namespace, values and cluster is done once per process
 * (stages share some releases: the edge controllers, promtail, the CNPG operator).
 */
export function renderRelease(r: ProgramRelease, opts: RenderOptions): Promise<RenderedObject[]> {
  const key = JSON.stringify([r.pin, r.release, r.namespace, r.values, opts]);
  let hit = renders.get(key);
  if (!hit) {
    hit = helmTemplate(r, opts);
    renders.set(key, hit);
  }
  // A failed render is reported with the label of the release that asked for it.
  return hit.catch((e: Error) => {
    throw new Error(`${r.label}: ${e.message}`, { cause: e });
  });
}

async function helmTemplate(r: ProgramRelease, opts: RenderOptions): Promise<RenderedObject[]> {
  if (!fs.existsSync(HELM)) throw new Error(`Helm is not installed at ${HELM}: run bash scripts/setup.sh (or bash scripts/install-helm.sh)`);
  const archive = cachedArchive(r.pin);
  if (!fs.existsSync(archive)) throw new Error(`${path.basename(archive)} is not in the chart cache: run bash scripts/setup.sh (or npx tsx scripts/charts.ts)`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "edp-helm-"));
  try {
    const valuesFile = path.join(dir, "values.json");
    fs.writeFileSync(valuesFile, JSON.stringify(r.values));
    const args = ["template", r.release, archive, "--namespace", r.namespace, "--values", valuesFile, "--kube-version", opts.kubeVersion, "--include-crds"];
    for (const v of opts.apiVersions) args.push("--api-versions", v);
    let stdout: string;
    try {
      ({ stdout } = await run(HELM, args, { env: helmEnv(), maxBuffer: 256 * 1024 * 1024 }));
    } catch (e) {
      const err = e as Error & { stderr?: string };
      throw new Error(`helm template ${r.pin.chart} ${r.pin.version} failed: ${(err.stderr ?? err.message).trim()}`, { cause: e });
    }
    return parseRendered(stdout);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Splits `helm template` output into objects, each with its `# Source:` template. */
export function parseRendered(stdout: string): RenderedObject[] {
  const out: RenderedObject[] = [];
  for (const doc of YAML.parseAllDocuments(stdout)) {
    const object = doc.toJS() as Record<string, unknown> | null;
    if (!object || typeof object !== "object") continue;
    const source = /# Source: (\S+)/.exec(String(doc.commentBefore ?? ""))?.[1] ?? "?";
    out.push({ source, object });
  }
  return out;
}
