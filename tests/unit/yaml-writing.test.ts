/**
 * YAML the program and its scripts write goes through plainYaml (components/shared/yaml.ts), which
 * spells every object out instead of anchoring an object used twice, and quotes every string a
 * YAML 1.1 reader (kubectl, Helm, docker-registry, cloud-init) would take for something else.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import YAML from "yaml";
import { identityConfigMap } from "../../components/edge/manifests";
import { plainYaml } from "../../components/shared/yaml";
import { ROOT } from "../harness/stage";

function sources(dir: string): string[] {
  return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = path.join(dir, e.name);
    if (e.isDirectory()) return sources(rel);
    return /\.(ts|cjs|js)$/.test(e.name) ? [rel] : [];
  });
}

describe("writing YAML", () => {
  it("spells out an object used twice, where the yaml library's default makes an anchor and an alias", () => {
    const context = { runAsNonRoot: true };
    const doc = { containers: [{ name: "a", securityContext: context }, { name: "b", securityContext: context }] };
    assert.match(YAML.stringify(doc), /&a1[\s\S]*\*a1/, "the library's default (what this guards against)");
    const text = plainYaml(doc);
    assert.doesNotMatch(text, /[&*]a\d/);
    assert.deepEqual(YAML.parse(text), doc);
    assert.equal(text.match(/runAsNonRoot: true/g)?.length, 2);
  });

  it("writes no anchor or alias of either library's form", () => {
    const shared = { a: 1 };
    const text = plainYaml({ x: shared, y: [shared, shared] });
    assert.doesNotMatch(text, /[&*](?:a|ref_)\d/);
    assert.equal(text.match(/a: 1/g)?.length, 3);
  });

  it("writes text a YAML 1.1 reader reads as a YAML 1.2 reader does", () => {
    // Strings that are booleans, nulls, dates or numbers to YAML 1.1 (go-yaml v2 under kubectl and
    // Helm, PyYAML under cloud-init) but plain strings to the yaml library's default YAML 1.2.
    const tricky = ["no", "No", "NO", "yes", "on", "Off", "y", "n", "Y", "N", "true", "null", "~", "2026-01-01", "2001-12-14t21:59:43.10-05:00", "0777", "0o17", "0x1F", "0b101", "1e3", "-.5", ".inf", "+12", "1:20", "12:30:00", "=", "<<", "012", "1_000", "0x_1F", "190:20:30.15", "+1_000", "1_0.5e3", "0X1F", "0o1_7", "-0b1_01"];
    const value = { data: Object.fromEntries(tricky.map((t, i) => [`k${i}`, t])), keys: Object.fromEntries(tricky.map((t) => [t, "v"])), list: tricky };
    const text = plainYaml(value);
    assert.deepEqual(YAML.parse(text), value, "YAML 1.2");
    assert.deepEqual(YAML.parse(text, { version: "1.1" }), value, "YAML 1.1");
    // What the writer guards against: the yaml library's own default leaves some of them plain.
    const libraryDefault = YAML.stringify({ list: tricky });
    assert.notDeepEqual(YAML.parse(libraryDefault, { version: "1.1" }), { list: tricky });
  });

  it("keeps an edge cluster named no a string in the identity ConfigMap its bootstrap script applies", () => {
    const cm = identityConfigMap({ stage: "testing", name: "no", uuid: "6f1c1b7e-0000-4000-8000-000000000000" });
    const text = plainYaml(cm);
    assert.equal((YAML.parse(text, { version: "1.1" }) as { data: Record<string, unknown> }).data.cluster, "no");
    assert.equal((YAML.parse(YAML.stringify(cm), { version: "1.1" }) as { data: Record<string, unknown> }).data.cluster, false, "the yaml library's default text, as kubectl would read it");
  });

  it("writes multi-line strings as literal blocks and never folds a long line", () => {
    const script = "#!/bin/sh\nset -eu\necho done\n";
    const long = "x ".repeat(80).trim();
    const text = plainYaml({ script, long });
    assert.match(text, /^script: \|\n {2}#!\/bin\/sh\n {2}set -eu\n/m);
    assert.match(text, new RegExp(`^long: ${long}$`, "m"));
    assert.deepEqual(YAML.parse(text), { script, long });
  });

  it("is the only way the program, its components and scripts write YAML", () => {
    const own = path.join("components", "shared", "yaml.ts");
    const callers = [...["index.ts"], ...sources("components"), ...sources("config"), ...sources("fleet"), ...sources("scripts")]
      .filter((f) => f !== own && !f.includes("node_modules"))
      .filter((f) => /\b(?:YAML|yaml)\.stringify\(|new (?:YAML\.)?Document\(|\bdump\(|from "js-yaml"/.test(fs.readFileSync(path.join(ROOT, f), "utf8")));
    assert.deepEqual(callers, []);
  });
});
