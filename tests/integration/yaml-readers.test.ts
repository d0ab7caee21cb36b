/**
 * What plainYaml writes, read by a real YAML 1.1 reader: Helm 3 (the pinned binary) reads a
 * values file through sigs.k8s.io/yaml, the reader kubectl applies manifests with. A tiny chart
 * prints the type and value Helm saw for each key.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { isDeepStrictEqual } from "node:util";
import YAML from "yaml";
import { plainYaml } from "../../components/shared/yaml";
import { STAGES } from "../../config";
import { HELM, helmEnv } from "../../scripts/lib/chart-cache";
import { publishedTexts } from "../harness/published";
import { runStage } from "../harness/stage";

/** Strings that YAML 1.1 reads as booleans, dates or numbers; a cluster may be named `no`. */
const TRICKY = ["no", "yes", "on", "off", "y", "n", "No", "ON", "2026-01-01", "0777", "0o17", "1e3", "+12", "1:20", "1_000", "~", "0X1F", "1_0.5e3", "0o1_7"];

/**
 * `helm template` of a throwaway chart: its one template, further chart files by path, and an
 * optional values file; the rendered text.
 */
function helmTemplate(template: string, files: Record<string, string> = {}, values?: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "edp-yaml-readers-"));
  try {
    const chart = path.join(dir, "chart");
    const write = (rel: string, text: string) => {
      fs.mkdirSync(path.dirname(path.join(chart, rel)), { recursive: true });
      fs.writeFileSync(path.join(chart, rel), text);
    };
    write("Chart.yaml", "apiVersion: v2\nname: readers\nversion: 0.1.0\n");
    write("templates/read.yaml", template);
    for (const [rel, text] of Object.entries(files)) write(rel, text);
    const args = ["template", "readers", chart];
    if (values !== undefined) {
      fs.writeFileSync(path.join(dir, "values.yaml"), values);
      args.push("-f", path.join(dir, "values.yaml"));
    }
    return execFileSync(HELM, args, { encoding: "utf8", env: helmEnv(), maxBuffer: 256 * 1024 * 1024 });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The Go kind and value Helm saw for each key under `data` of a values file. */
function helmSees(valuesText: string): Record<string, string> {
  const out = helmTemplate('seen:\n{{- range $k, $v := .Values.data }}\n  {{ $k }}: {{ printf "%s %v" (kindOf $v) $v | quote }}\n{{- end }}\n', {}, valuesText);
  return (YAML.parse(out.split("---").pop() ?? "") as { seen: Record<string, string> }).seen;
}

describe("YAML as a YAML 1.1 reader (real Helm) reads it", () => {
  const data = Object.fromEntries(TRICKY.map((t, i) => [`k${String(i).padStart(2, "0")}`, t]));

  it("keeps every string plainYaml writes a string", () => {
    const seen = helmSees(plainYaml({ data }));
    assert.deepEqual(seen, Object.fromEntries(Object.entries(data).map(([k, v]) => [k, `string ${v}`])));
  });

  it("reads the yaml library's default text otherwise (what plainYaml guards against)", () => {
    const seen = helmSees(YAML.stringify({ data }));
    const changed = Object.entries(data).filter(([k, v]) => seen[k] !== `string ${v}`).map(([, v]) => v);
    assert.ok(changed.includes("no") && changed.includes("on") && changed.includes("y"), `only ${changed.join(", ")} read as something else`);
  });

  it("reads numbers with underscores, 0o and 0X, and an unsigned exponent as numbers when they are plain", () => {
    // The forms js-yaml 4's own schema writes plain and plainYaml's schema adds (components/shared/yaml.ts).
    const seen = helmSees("data:\n  a: 1_000\n  b: 1_0.5e3\n  c: 0o1_7\n  d: 0X1F\n");
    assert.deepEqual(seen, { a: "float64 1000", b: "float64 10500", c: "float64 15", d: "float64 31" });
  });
});

/**
 * Each YAML mapping document as go-yaml v2 reads it (Helm's fromYaml, sigs.k8s.io/yaml: the same
 * reader as kubectl), as JSON, by file name.
 */
function helmReads(docs: string[]): Record<string, unknown> {
  // A document in the middle of a stream may end without its last newline; a file has one.
  const files = Object.fromEntries(docs.map((d, i) => [`docs/d${i}.yaml`, d.endsWith("\n") ? d : `${d}\n`]));
  // One comment line per document (Helm checks that what it renders is YAML): its file name,
  // then what fromYaml read, as one line of JSON.
  const out = helmTemplate('{{- range $path, $_ := .Files.Glob "docs/*.yaml" }}\n# {{ base $path }} {{ $.Files.Get $path | fromYaml | toJson }}\n{{- end }}\n', files);
  const lines = out.split("\n").flatMap((l) => (/^# d\d+\.yaml /.test(l) ? [l.slice(2)] : []));
  return Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(" ")), JSON.parse(l.slice(l.indexOf(" ") + 1)) as unknown]));
}

describe("every stage's published YAML as kubectl's and Helm's reader (real Helm) reads it", function () {
  this.timeout(300_000);

  for (const stage of STAGES) {
    it(`${stage}: every mapping document reads as it does to a YAML 1.2 reader`, async () => {
      const run = await runStage(stage);
      assert.equal(run.error, undefined, run.error);
      const docs: { where: string; source: string; v12: unknown }[] = [];
      for (const published of publishedTexts(run)) {
        // A script is not YAML, though its lines may parse as some; its here-documents are
        // published texts of their own.
        if (published.text.startsWith("#!")) continue;
        const { where } = published;
        // Each text as a file or a here-document delivers it: ending in a newline (the
        // here-documents are listed without the one before their delimiter).
        const text = published.text.endsWith("\n") ? published.text : `${published.text}\n`;
        const parsed = YAML.parseAllDocuments(text);
        if (parsed.some((d) => d.errors.length > 0)) continue;
        for (const d of parsed) {
          const v12 = d.toJS() as unknown;
          if (v12 === null || typeof v12 !== "object" || Array.isArray(v12)) continue;
          // The document's own text, as the program wrote it (not the library's rewrite of it).
          docs.push({ where, source: text.slice(d.range[0], d.range[2]), v12 });
        }
      }
      assert.ok(docs.length > 30, `only ${docs.length} YAML mapping documents in the program`);
      const read = helmReads(docs.map((d) => d.source));
      assert.equal(Object.keys(read).length, docs.length, "Helm printed a line for every document");
      const differ = docs.flatMap((d, i) => (isDeepStrictEqual(read[`d${i}.yaml`], d.v12) ? [] : [`${d.where}: ${JSON.stringify(read[`d${i}.yaml`]).slice(0, 160)}`]));
      assert.deepEqual(differ, []);
    });
  }
});
