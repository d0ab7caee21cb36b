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
import YAML from "yaml";
import { plainYaml } from "../../components/shared/yaml";
import { HELM, helmEnv } from "../../scripts/lib/chart-cache";

/** Strings that YAML 1.1 reads as booleans, dates or numbers; a cluster may be named `no`. */
const TRICKY = ["no", "yes", "on", "off", "y", "n", "No", "ON", "2026-01-01", "0777", "0o17", "1e3", "+12", "1:20", "1_000", "~", "0X1F", "1_0.5e3", "0o1_7"];

function helmSees(valuesText: string): Record<string, string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "edp-yaml-readers-"));
  try {
    fs.mkdirSync(path.join(dir, "chart", "templates"), { recursive: true });
    fs.writeFileSync(path.join(dir, "chart", "Chart.yaml"), "apiVersion: v2\nname: readers\nversion: 0.1.0\n");
    // One line per key: its Go kind, then its value as Helm printed it.
    fs.writeFileSync(path.join(dir, "chart", "templates", "seen.yaml"), "seen:\n{{- range $k, $v := .Values.data }}\n  {{ $k }}: {{ printf \"%s %v\" (kindOf $v) $v | quote }}\n{{- end }}\n");
    fs.writeFileSync(path.join(dir, "values.yaml"), valuesText);
    const out = execFileSync(HELM, ["template", "readers", path.join(dir, "chart"), "-f", path.join(dir, "values.yaml")], { encoding: "utf8", env: helmEnv() });
    return (YAML.parse(out.split("---").pop() ?? "") as { seen: Record<string, string> }).seen;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
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
