import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { isMap, parseDocument } from "yaml";
import { parseStageConfig, STAGES } from "../../config";
import { readStackConfig } from "../../scripts/lib/mock-runtime";
import { PromotionError, promoteImageTags } from "../../scripts/lib/promote";
import { stageRawConfig } from "../harness/config";
import { ROOT } from "../harness/stage";

const run = promisify(execFile);
const stageFile = (stage: string) => fs.readFileSync(path.join(ROOT, `Pulumi.${stage}.yaml`), "utf8");

/** Byte range of the tags map in a stage file. */
function tagsRange(text: string): [number, number] {
  const node = parseDocument(text).getIn(["config", "edp:images", "tags"], true);
  assert.ok(isMap(node) && node.range);
  return [node.range[0], node.range[1]];
}
const tagsOf = (text: string) => (parseDocument(text).toJS() as { config: Record<string, { tags: Record<string, string> }> }).config["edp:images"].tags;

function tempStages(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "edp-promote-"));
  for (const s of STAGES) fs.copyFileSync(path.join(ROOT, `Pulumi.${s}.yaml`), path.join(dir, `Pulumi.${s}.yaml`));
  return dir;
}

async function promote(dir: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, ["--import", "tsx", path.join(ROOT, "scripts/promote.ts"), ...args, "--dir", dir], { cwd: ROOT });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe("promotion of image tags (pure)", () => {
  for (const [from, to] of [
    ["testing", "staging"],
    ["staging", "production"],
  ]) {
    it(`${from} → ${to}: copies every tag and leaves the rest of the file byte-identical`, () => {
      const before = stageFile(to);
      const { text, changes } = promoteImageTags(stageFile(from), before, from, to);
      assert.deepEqual(tagsOf(text), tagsOf(stageFile(from)));
      assert.ok(changes.length > 0);
      const [a0, a1] = tagsRange(before);
      const [b0, b1] = tagsRange(text);
      assert.equal(text.slice(0, b0), before.slice(0, a0), "text before the tags changed");
      assert.equal(text.slice(b1), before.slice(a1), "text after the tags changed");
      assert.equal(text.split("\n").length, before.split("\n").length);
      assert.ok(text.includes("# Promoted from the previous stage with `npm run promote`"));
      const raw = stageRawConfig(to);
      const cfg = parseStageConfig({ ...raw, values: { ...raw.values, ...readStackConfigText(text) } });
      assert.equal(cfg.images.tags.portal, tagsOf(stageFile(from)).portal);
    });
  }

  it("keeps comments on the tag lines themselves and their quoting style", () => {
    const target = stageFile("staging").replace('portal: "3.9.1"', 'portal: "3.9.1" # customer sign-off 2025-10').replace('masterdata: "3.0.2"', "masterdata: '3.0.2'");
    const { text } = promoteImageTags(stageFile("testing"), target, "testing", "staging");
    assert.match(text, /portal: "4\.0\.0-rc\.4" # customer sign-off 2025-10\n/);
    assert.match(text, /masterdata: '3\.1\.0-rc\.1'\n/);
  });

  it("adds a service the target lacks, with the same indentation", () => {
    const target = stageFile("staging").replace(/\n\s+portal: "3\.9\.1"/, "");
    const { text, changes } = promoteImageTags(stageFile("testing"), target, "testing", "staging");
    assert.equal(tagsOf(text).portal, "4.0.0-rc.4");
    assert.ok(changes.some((c) => c.service === "portal" && c.from === undefined));
    assert.match(text, /\n {6}portal: "4\.0\.0-rc\.4"\n/);
  });

  it("reports nothing to change when the tags are equal", () => {
    const once = promoteImageTags(stageFile("testing"), stageFile("staging"), "testing", "staging").text;
    const twice = promoteImageTags(stageFile("testing"), once, "testing", "staging");
    assert.deepEqual(twice.changes, []);
    assert.equal(twice.text, once);
  });

  const refusals: [string, () => unknown, RegExp][] = [
    ["an unknown stage", () => promoteImageTags(stageFile("testing"), stageFile("staging"), "qa", "staging"), /unknown stage "qa"/],
    ["a skipped stage", () => promoteImageTags(stageFile("testing"), stageFile("production"), "testing", "production"), /production is not the stage after testing \(staging is\)/],
    ["going backwards", () => promoteImageTags(stageFile("staging"), stageFile("testing"), "staging", "testing"), /testing is not the stage after staging/],
    ["promoting past production", () => promoteImageTags(stageFile("production"), stageFile("staging"), "production", "staging"), /production is the last stage/],
    [
      "a tag missing in the source",
      () => promoteImageTags(stageFile("testing").replace(/\n\s+onboarding: "[^"]+"/, ""), stageFile("staging"), "testing", "staging"),
      /Pulumi\.testing\.yaml has no edp:images\.tags\.onboarding/,
    ],
    [
      "latest going into staging",
      () => promoteImageTags(stageFile("testing").replace('portal: "4.0.0-rc.4"', "portal: latest"), stageFile("staging"), "testing", "staging"),
      /edp:images\.tags\.portal is "latest", which must not go into staging/,
    ],
    [
      "latest going into production",
      () => promoteImageTags(stageFile("staging").replace('portal: "3.9.1"', 'portal: "latest"'), stageFile("production"), "staging", "production"),
      /must not go into production/,
    ],
    [
      "a `git describe` tag going into production",
      () => promoteImageTags(stageFile("staging").replace('datadirectormanagement: "2.3.5"', 'datadirectormanagement: "2.4.0-2-ge4a6741"'), stageFile("production"), "staging", "production"),
      /datadirectormanagement:2\.4\.0-2-ge4a6741 is a `git describe` build.*refused for production/,
    ],
    [
      "a release candidate going into production",
      () => promoteImageTags(stageFile("staging").replace('portal: "3.9.1"', 'portal: "4.0.0-rc.4"'), stageFile("production"), "staging", "production"),
      /portal:4\.0\.0-rc\.4 is a pre-release/,
    ],
    [
      "an unquoted 4.10, which YAML reads as 4.1",
      () => promoteImageTags(stageFile("testing").replace('portal: "4.0.0-rc.4"', "portal: 4.10"), stageFile("staging"), "testing", "staging"),
      /edp:images\.tags\.portal in Pulumi\.testing\.yaml is the number 4\.10, not a string: quote it/,
    ],
  ];
  for (const [what, call, message] of refusals) {
    it(`refuses ${what}`, () => assert.throws(call, (e: unknown) => e instanceof PromotionError && message.test(e.message)));
  }
});

/** readStackConfig reads a file; the pure tests hold text. */
function readStackConfigText(text: string): Record<string, string> {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "edp-cfg-")), "Pulumi.x.yaml");
  fs.writeFileSync(file, text);
  try {
    return readStackConfig(file);
  } finally {
    fs.rmSync(path.dirname(file), { recursive: true });
  }
}

describe("npm run promote (CLI) on copies of the stage files", function () {
  this.timeout(60_000);

  it("writes only the target file and prints each change", async () => {
    const dir = tempStages();
    const r = await promote(dir, "testing", "staging");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /portal: 3\.9\.1 → 4\.0\.0-rc\.4/);
    assert.deepEqual(tagsOf(fs.readFileSync(path.join(dir, "Pulumi.staging.yaml"), "utf8")), tagsOf(stageFile("testing")));
    assert.equal(fs.readFileSync(path.join(dir, "Pulumi.testing.yaml"), "utf8"), stageFile("testing"));
    assert.equal(fs.readFileSync(path.join(dir, "Pulumi.production.yaml"), "utf8"), stageFile("production"));
    fs.rmSync(dir, { recursive: true });
  });

  for (const [args, message] of [
    [["qa", "staging"], /unknown stage "qa"/],
    [["testing", "production"], /not the stage after testing/],
    [["testing"], /usage: npm run promote/],
  ] as [string[], RegExp][]) {
    it(`exits 1 and changes nothing for: promote ${args.join(" ")}`, async () => {
      const dir = tempStages();
      const r = await promote(dir, ...args);
      assert.equal(r.code, 1);
      assert.match(r.stderr, message);
      for (const s of STAGES) assert.equal(fs.readFileSync(path.join(dir, `Pulumi.${s}.yaml`), "utf8"), stageFile(s));
      fs.rmSync(dir, { recursive: true });
    });
  }

  it("exits 1 and leaves production untouched when staging holds a `git describe` tag", async () => {
    const dir = tempStages();
    fs.writeFileSync(path.join(dir, "Pulumi.staging.yaml"), stageFile("staging").replace('datadirectormanagement: "2.3.5"', 'datadirectormanagement: "2.4.0-2-ge4a6741"'));
    const r = await promote(dir, "staging", "production");
    assert.equal(r.code, 1);
    assert.match(r.stderr, /2\.4\.0-2-ge4a6741 is a `git describe` build/);
    assert.equal(fs.readFileSync(path.join(dir, "Pulumi.production.yaml"), "utf8"), stageFile("production"));
    fs.rmSync(dir, { recursive: true });
  });

  it("exits 1 and leaves the target untouched when latest would reach staging", async () => {
    const dir = tempStages();
    const testing = path.join(dir, "Pulumi.testing.yaml");
    fs.writeFileSync(testing, stageFile("testing").replace('masterdata: "3.1.0-rc.1"', 'masterdata: "latest"'));
    const r = await promote(dir, "testing", "staging");
    assert.equal(r.code, 1);
    assert.match(r.stderr, /masterdata is "latest"/);
    assert.equal(fs.readFileSync(path.join(dir, "Pulumi.staging.yaml"), "utf8"), stageFile("staging"));
    fs.rmSync(dir, { recursive: true });
  });
});
