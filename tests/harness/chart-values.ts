/**
 * Which values a release sets that its chart does not have. Helm ignores a value under a key no
 * template reads, so a misspelled or moved key (a chart bump renames keys now and then) silently
 * does nothing; this finds it by walking the values against the chart's own values.yaml and
 * those of its vendored dependencies.
 */
import { type ChartFiles, chartMetadata, defaultValues, subcharts } from "../../scripts/lib/chart-archive";

type Values = Record<string, unknown>;

const isMap = (v: unknown): v is Values => typeof v === "object" && v !== null && !Array.isArray(v);

/** A chart's defaults with its dependencies, by the key the parent's values address them with. */
export interface ChartDefaults {
  values: Values;
  dependencies: Record<string, ChartDefaults>;
  /** Dotted `.Values` paths the chart's templates read (`.Values.cli.resources` gives `cli.resources`). */
  read?: ReadonlySet<string>;
}

/** Every `.Values.x.y` path a chart's templates name. */
export function templateValuePaths(chart: ChartFiles): Set<string> {
  const out = new Set<string>();
  for (const [p, body] of chart.files) {
    if (!p.startsWith("templates/")) continue;
    for (const m of body.toString("utf8").matchAll(/\.Values((?:\.[A-Za-z0-9_]+)+)/g)) out.add(m[1].slice(1));
  }
  return out;
}

export function chartDefaults(chart: ChartFiles): ChartDefaults {
  const meta = chartMetadata(chart);
  const bundled = new Map(subcharts(chart).map((s) => [chartMetadata(s).name, s]));
  const dependencies: Record<string, ChartDefaults> = {};
  for (const dep of meta.dependencies ?? []) {
    const sub = bundled.get(dep.name);
    if (sub) dependencies[dep.alias ?? dep.name] = chartDefaults(sub);
  }
  return { values: defaultValues(chart), dependencies, read: templateValuePaths(chart) };
}

/**
 * Paths (dotted, from the values' root) that the chart does not have. A key exists when the
 * chart's values.yaml has it. Below a key whose default is an empty map or null the chart takes
 * any keys (resources, annotations, nodeSelector, …), and so it does below `freeForm` paths: maps
 * the chart documents as free-form without listing their keys (give each with the reason). A key
 * values.yaml leaves out counts when the chart's templates read its exact path. A
 * `resources` map is a container's ResourceRequirements (limits, requests, claims).
 * Lists are values, not structure: they are not descended into. `global` is Helm's shared map.
 */
export function unknownValuePaths(values: Values, chart: ChartDefaults, freeForm: readonly string[] = []): string[] {
  const out: string[] = [];
  const free = new Set(freeForm);
  const walk = (set: Values, defaults: Values, at: string, chartAt: ChartDefaults, rel: string) => {
    for (const [key, value] of Object.entries(set)) {
      const p = joinPath(at, key);
      const relPath = rel ? `${rel}.${key}` : key;
      if (free.has(p)) continue;
      const dep = rel === "" ? chartAt.dependencies[key] : undefined;
      if (dep) {
        // A dependency reads its defaults, overridden by the parent's values under its key.
        if (isMap(value)) walk(value, mergeDefaults(dep.values, isMap(defaults[key]) ? defaults[key] : {}), p, dep, "");
        continue;
      }
      if (rel === "" && key === "global") continue;
      if (!(key in defaults)) {
        // Some charts read keys their values.yaml leaves out (flux2's cli.resources).
        if (!chartAt.read?.has(relPath)) out.push(p);
        continue;
      }
      const d = defaults[key];
      if (!isMap(value) || d === null) continue;
      if (key === "resources" && isMap(d)) {
        // A container's ResourceRequirements: a chart's default may list requests only, and
        // limits are as much part of the type.
        for (const k of Object.keys(value)) if (!RESOURCE_REQUIREMENTS.has(k)) out.push(joinPath(p, k));
        continue;
      }
      if (isMap(d)) {
        if (Object.keys(d).length > 0) walk(value, d, p, chartAt, relPath);
        continue;
      }
      out.push(`${p} (a map, where the chart's default is ${Array.isArray(d) ? "a list" : JSON.stringify(d)})`);
    }
  };
  walk(values, chart.values, "", chart, "");
  return out;
}

/** Fields of Kubernetes' ResourceRequirements, which `resources` keys are by convention. */
const RESOURCE_REQUIREMENTS = new Set(["limits", "requests", "claims"]);

/** `a.b`, or `a["b.c"]` for a key with a dot (Helm's own `grafana.ini` is one). */
export const joinPath = (at: string, key: string) => (/^[A-Za-z0-9_-]+$/.test(key) ? (at ? `${at}.${key}` : key) : `${at}[${JSON.stringify(key)}]`);

function mergeDefaults(base: Values, over: Values): Values {
  const out: Values = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = isMap(v) && isMap(base[k]) ? mergeDefaults(base[k], v) : v;
  return out;
}
