/**
 * The local chart cache the chart tests render from: one archive per chart pinned in
 * components/versions.ts, each checked against its content digest in components/chart-digests.txt.
 *
 * Archives come from a directory named by EDP_CHART_ARCHIVES (CI points it at ../shared/charts,
 * which is also the default when that directory exists), or else from the chart repositories
 * with `helm pull`, where the network allows.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { CHARTS, type ChartPin } from "../../components/versions";
import { chartMetadata, contentDigest, readChart } from "./chart-archive";

export const ROOT = path.resolve(__dirname, "..", "..");
export const CACHE_DIR = path.join(ROOT, ".cache", "charts");
export const DIGESTS_FILE = path.join(ROOT, "components", "chart-digests.txt");
export const HELM = path.join(ROOT, ".cache", "helm", "helm");

/** Helm's own state (repository cache, config) stays inside the project's cache, never in $HOME. */
export function helmEnv(): NodeJS.ProcessEnv {
  const home = path.join(ROOT, ".cache", "helm", "home");
  return { ...process.env, HELM_CACHE_HOME: path.join(home, "cache"), HELM_CONFIG_HOME: path.join(home, "config"), HELM_DATA_HOME: path.join(home, "data") };
}

/** The archive name `helm pull` gives a chart release. */
export const archiveName = (pin: Pick<ChartPin, "chart" | "version">) => `${pin.chart}-${pin.version}.tgz`;

/** Parses the digests file: archive name to digest. Throws on a malformed line, naming it. */
export function parseDigests(text: string): Map<string, string> {
  const out = new Map<string, string>();
  text.split("\n").forEach((line, i) => {
    const l = line.trim();
    if (l === "" || l.startsWith("#")) return;
    const m = /^(\S+\.tgz)\s+([0-9a-f]{64})$/.exec(l);
    if (!m) throw new Error(`${path.basename(DIGESTS_FILE)}:${i + 1}: expected "<name>-<version>.tgz <64 hex digits>", got ${JSON.stringify(l)}`);
    if (out.has(m[1])) throw new Error(`${path.basename(DIGESTS_FILE)}:${i + 1}: ${m[1]} is pinned twice`);
    out.set(m[1], m[2]);
  });
  return out;
}

/**
 * Why an archive does not hold the pinned release, or undefined when it does: it must be the
 * chart and version of its pin, with the pinned content digest.
 */
export function archiveProblem(file: string, pin: Pick<ChartPin, "chart" | "version">, digests: Map<string, string>): string | undefined {
  const name = archiveName(pin);
  const expected = digests.get(name);
  if (!expected) return `${name} has no digest in components/chart-digests.txt (a chart bump needs one: npx tsx scripts/charts.ts --digest <archive>)`;
  let chart;
  try {
    chart = readChart(file);
  } catch (e) {
    return `${file} is not a chart archive: ${(e as Error).message}`;
  }
  const meta = chartMetadata(chart);
  if (meta.name !== pin.chart || String(meta.version) !== pin.version) return `${file} holds ${meta.name} ${meta.version}, not ${pin.chart} ${pin.version}`;
  const actual = contentDigest(chart);
  if (actual !== expected) return `${file} has content digest ${actual}, but components/chart-digests.txt pins ${expected} for ${name}`;
  return undefined;
}

/** Where archives are copied from: EDP_CHART_ARCHIVES, else ../shared/charts when it exists. */
export function archiveSource(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.EDP_CHART_ARCHIVES) return path.resolve(ROOT, env.EDP_CHART_ARCHIVES);
  const shared = path.resolve(ROOT, "..", "shared", "charts");
  return fs.existsSync(shared) ? shared : undefined;
}

function pull(pin: ChartPin, dest: string) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "edp-helm-pull-"));
  try {
    if (pin.source) {
      // No chart repository serves it: package the chart from its source tree at the pinned tag.
      const src = path.join(tmp, "src");
      execFileSync("git", ["clone", "--quiet", "--depth", "1", "--branch", pin.source.tag, pin.repository, src], { stdio: ["ignore", "pipe", "pipe"] });
      execFileSync(HELM, ["package", path.join(src, pin.source.path), "--destination", tmp], { env: helmEnv(), stdio: ["ignore", "pipe", "pipe"] });
      fs.copyFileSync(path.join(tmp, archiveName(pin)), dest);
      return;
    }
    const args = pin.repository.startsWith("oci://")
      ? ["pull", `${pin.repository.replace(/\/$/, "")}/${pin.chart}`, "--version", pin.version, "--destination", tmp]
      : ["pull", pin.chart, "--repo", pin.repository, "--version", pin.version, "--destination", tmp];
    execFileSync(HELM, args, { env: helmEnv(), stdio: ["ignore", "pipe", "pipe"] });
    fs.copyFileSync(path.join(tmp, archiveName(pin)), dest);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

export interface FillResult {
  /** Archive name to where it came from ("cache", the source directory, or the repository URL). */
  from: Record<string, string>;
}

/**
 * Makes the cache hold exactly the pinned archive of every chart in `charts`, verified. Archives
 * already in the cache are verified again (a cache is only as good as its last check).
 */
export function fillCache(charts: Record<string, ChartPin> = CHARTS, source = archiveSource(), cacheDir = CACHE_DIR): FillResult {
  const digests = parseDigests(fs.readFileSync(DIGESTS_FILE, "utf8"));
  fs.mkdirSync(cacheDir, { recursive: true });
  const from: Record<string, string> = {};
  const problems: string[] = [];
  for (const pin of Object.values(charts)) {
    const name = archiveName(pin);
    if (from[name]) continue;
    const dest = path.join(cacheDir, name);
    if (fs.existsSync(dest) && !archiveProblem(dest, pin, digests)) {
      from[name] = "cache";
      continue;
    }
    const tmp = `${dest}.partial`;
    try {
      const offered = source ? path.join(source, name) : undefined;
      if (offered && fs.existsSync(offered)) {
        fs.copyFileSync(offered, tmp);
        from[name] = source as string;
      } else {
        if (!fs.existsSync(HELM)) throw new Error(`${name} is not in ${source ?? "any archive directory (set EDP_CHART_ARCHIVES)"}, and Helm is not installed to pull it (bash scripts/install-helm.sh)`);
        pull(pin, tmp);
        from[name] = pin.source ? `${pin.repository} ${pin.source.tag}` : pin.repository;
      }
      const problem = archiveProblem(tmp, pin, digests);
      if (problem) throw new Error(problem.replace(tmp, `${name} from ${from[name]}`));
      fs.renameSync(tmp, dest);
    } catch (e) {
      const err = e as Error & { stderr?: Buffer };
      problems.push(`${name}: ${err.stderr?.toString().trim() || err.message}`);
    } finally {
      fs.rmSync(tmp, { force: true });
    }
  }
  if (problems.length > 0) throw new Error(`chart cache ${cacheDir}:\n  - ${problems.join("\n  - ")}`);
  return { from };
}

/** The cached archive of a pinned chart (after fillCache). */
export const cachedArchive = (pin: Pick<ChartPin, "chart" | "version">, cacheDir = CACHE_DIR) => path.join(cacheDir, archiveName(pin));
