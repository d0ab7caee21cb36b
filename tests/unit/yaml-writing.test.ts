/**
 * YAML the program and its scripts write goes through plainYaml (components/shared/yaml.ts), which
 * spells every object out instead of anchoring an object used twice.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import YAML from "yaml";
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

  it("keeps the options it is given", () => {
    const long = "x ".repeat(60).trim();
    assert.equal(plainYaml({ long }, { lineWidth: 0 }), `long: ${long}\n`);
    assert.notEqual(plainYaml({ long }), `long: ${long}\n`, "the default folds a long line");
  });

  it("is the only way the program, its components and scripts write YAML", () => {
    const own = path.join("components", "shared", "yaml.ts");
    const callers = [...["index.ts"], ...sources("components"), ...sources("config"), ...sources("fleet"), ...sources("scripts")]
      .filter((f) => f !== own && !f.includes("node_modules"))
      .filter((f) => /\b(?:YAML|yaml)\.stringify\(|new (?:YAML\.)?Document\(/.test(fs.readFileSync(path.join(ROOT, f), "utf8")));
    assert.deepEqual(callers, []);
  });
});
