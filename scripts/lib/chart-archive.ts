/**
 * Reads packaged Helm charts (`<name>-<version>.tgz`) without Helm: the files inside, the files of
 * every vendored dependency (a nested archive or a directory under `charts/`), and a digest of
 * their contents.
 *
 * The digest is over the files, not the archive's bytes, because two archives of the same chart
 * release differ in bytes: `helm package` writes the packaging time into the tar headers and into
 * the `generated:` line of a `Chart.lock` it writes. A chart repository's copy and the offline copy
 * of a release therefore have the same content digest and different sha256 sums.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import { gunzipSync } from "node:zlib";
import YAML from "yaml";

/** Path (inside the archive) to file contents. */
export type ArchiveFiles = Map<string, Buffer>;

const BLOCK = 512;

function field(header: Buffer, offset: number, length: number): string {
  const raw = header.subarray(offset, offset + length);
  const end = raw.indexOf(0);
  return raw.subarray(0, end === -1 ? length : end).toString("utf8");
}

/** Regular files of a gzipped tar (ustar, with GNU and PAX long names, as Go's archive/tar writes them). */
export function readTgz(data: Buffer): ArchiveFiles {
  const tar = gunzipSync(data);
  const files: ArchiveFiles = new Map();
  let longName: string | undefined;
  for (let at = 0; at + BLOCK <= tar.length; ) {
    const header = tar.subarray(at, at + BLOCK);
    if (header.every((b) => b === 0)) break;
    const size = parseInt(field(header, 124, 12).trim() || "0", 8);
    const type = String.fromCharCode(header[156] || 0x30);
    const body = tar.subarray(at + BLOCK, at + BLOCK + size);
    at += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
    if (type === "L") {
      longName = body.toString("utf8").replace(/\0+$/, "");
      continue;
    }
    if (type === "x") {
      const m = /\d+ path=([^\n]*)\n/.exec(body.toString("utf8"));
      if (m) longName = m[1];
      continue;
    }
    const prefix = field(header, 345, 155);
    const name = longName ?? (prefix ? `${prefix}/${field(header, 0, 100)}` : field(header, 0, 100));
    longName = undefined;
    if (type === "0" || type === "\0") files.set(name, Buffer.from(body));
  }
  return files;
}

/** A chart's files relative to its root, with the chart's name (the archive's top folder). */
export interface ChartFiles {
  name: string;
  files: ArchiveFiles;
}

/** The chart inside an archive: its single top-level folder, with paths made relative to it. */
export function chartFromArchive(data: Buffer): ChartFiles {
  const all = readTgz(data);
  const tops = new Set([...all.keys()].map((p) => p.split("/")[0]));
  if (tops.size !== 1) throw new Error(`a chart archive holds one top-level folder; this one holds ${[...tops].join(", ")}`);
  const [name] = tops;
  const files: ArchiveFiles = new Map();
  for (const [p, body] of all) files.set(p.slice(name.length + 1), body);
  return { name, files };
}

/** The vendored dependencies under `charts/`: nested archives and directories, by folder name. */
export function subcharts(chart: ChartFiles): ChartFiles[] {
  const out: ChartFiles[] = [];
  const dirs = new Map<string, ArchiveFiles>();
  for (const [p, body] of chart.files) {
    const m = /^charts\/([^/]+)$/.exec(p);
    if (m && p.endsWith(".tgz")) {
      out.push(chartFromArchive(body));
      continue;
    }
    const d = /^charts\/([^/]+)\/(.+)$/.exec(p);
    if (d) {
      const files = dirs.get(d[1]) ?? new Map<string, Buffer>();
      files.set(d[2], body);
      dirs.set(d[1], files);
    }
  }
  for (const [name, files] of dirs) out.push({ name, files });
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * sha256 over every file of the chart and, recursively, of its vendored dependencies: one line
 * `<path> <sha256 of contents>` per file, sorted. `Chart.lock`'s `generated:` line (the time
 * `helm dependency` ran) is left out; everything else counts.
 */
export function contentDigest(chart: ChartFiles): string {
  const lines: string[] = [];
  const walk = (c: ChartFiles, at: string) => {
    for (const [p, body] of c.files) {
      if (/^charts\/[^/]+\.tgz$/.test(p)) continue;
      let content = body;
      if (/(^|\/)Chart\.lock$/.test(p)) content = Buffer.from(body.toString("utf8").replace(/^generated:.*$/m, ""));
      lines.push(`${at}${p} ${createHash("sha256").update(content).digest("hex")}`);
    }
    for (const s of subcharts(c)) {
      // Directory dependencies were already listed with their parent's files.
      if ([...c.files.keys()].some((p) => p.startsWith(`charts/${s.name}/`))) continue;
      walk(s, `${at}charts/${s.name}/`);
    }
  };
  walk(chart, "");
  return createHash("sha256").update(lines.sort().join("\n")).digest("hex");
}

export const readChart = (file: string): ChartFiles => chartFromArchive(fs.readFileSync(file));

/** Chart.yaml of a chart. */
export interface ChartMetadata {
  name: string;
  version: string;
  dependencies?: { name: string; alias?: string; condition?: string }[];
}

export function chartMetadata(chart: ChartFiles): ChartMetadata {
  const raw = chart.files.get("Chart.yaml");
  if (!raw) throw new Error(`chart ${chart.name} has no Chart.yaml`);
  return YAML.parse(raw.toString("utf8")) as ChartMetadata;
}

/** A chart's default values (values.yaml), or {} when it has none. */
export function defaultValues(chart: ChartFiles): Record<string, unknown> {
  const raw = chart.files.get("values.yaml");
  return raw ? ((YAML.parse(raw.toString("utf8")) as Record<string, unknown> | null) ?? {}) : {};
}
