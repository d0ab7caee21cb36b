/**
 * The in-cluster scripts' bundles kept between runs (components/shared/bundle.ts): each run is a
 * process of its own here, as `pulumi preview`, synth and every stage run of the tests are.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { BUNDLE_CACHE_DIR, bundleScript } from "../../components/shared/bundle";
import { ROOT } from "../harness/stage";

/** bundleScript in a fresh process, as the next run would call it. */
function bundleInNewProcess(entry: string, cacheDir: string): string {
  const code = `process.stdout.write(require(${JSON.stringify(path.join(ROOT, "components/shared/bundle.ts"))}).bundleScript({ entry: ${JSON.stringify(entry)} }, [], ${JSON.stringify(cacheDir)}))`;
  const r = spawnSync(process.execPath, ["--import", "tsx", "-e", code], { cwd: ROOT, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

const entries = (dir: string) => fs.readdirSync(dir).filter((f) => f.endsWith(".json"));

describe("bundles kept between runs", function () {
  this.timeout(60_000);
  let dir: string;
  let cacheDir: string;
  let entry: string;
  let dep: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "edp-bundle-"));
    cacheDir = path.join(dir, "cache");
    entry = path.join(dir, "entry.cjs");
    dep = path.join(dir, "dep.cjs");
    fs.writeFileSync(entry, 'const dep = require("./dep.cjs");\nconsole.log(dep.word);\n');
    fs.writeFileSync(dep, 'exports.word = "dep-version-one";\n');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("reads a bundle back while every file it was built from is unchanged", () => {
    const first = bundleInNewProcess(entry, cacheDir);
    assert.match(first, /dep-version-one/);
    const [file] = entries(cacheDir);
    const stored = JSON.parse(fs.readFileSync(path.join(cacheDir, file), "utf8")) as { text: string; inputs: Record<string, string> };
    assert.equal(stored.text, first);
    assert.deepEqual(Object.keys(stored.inputs).sort(), [dep, entry].sort());
    // The next run takes the kept text: marked here, so that a rebuild could not pass for it.
    fs.writeFileSync(path.join(cacheDir, file), JSON.stringify({ ...stored, text: `${first}/* kept */` }));
    assert.equal(bundleInNewProcess(entry, cacheDir), `${first}/* kept */`);
  });

  it("rebuilds when a file the bundle includes changes, not only its entry", () => {
    bundleInNewProcess(entry, cacheDir);
    const [file] = entries(cacheDir);
    const stored = JSON.parse(fs.readFileSync(path.join(cacheDir, file), "utf8")) as { text: string };
    fs.writeFileSync(path.join(cacheDir, file), JSON.stringify({ ...stored, text: "stale" }));
    fs.writeFileSync(dep, 'exports.word = "dep-version-two";\n');
    const second = bundleInNewProcess(entry, cacheDir);
    assert.match(second, /dep-version-two/);
    assert.doesNotMatch(second, /dep-version-one|stale/);
    assert.match(JSON.parse(fs.readFileSync(path.join(cacheDir, file), "utf8")).text as string, /dep-version-two/, "the kept bundle is replaced");
  });

  it("builds anew over an unreadable entry, and keeps nothing when told not to", () => {
    const first = bundleInNewProcess(entry, cacheDir);
    const [file] = entries(cacheDir);
    fs.writeFileSync(path.join(cacheDir, file), "{ not json");
    assert.equal(bundleInNewProcess(entry, cacheDir), first);
    const other = path.join(dir, "other.cjs");
    fs.writeFileSync(other, 'console.log("no cache");\n');
    assert.match(bundleScript({ entry: other }, [], null), /no cache/);
    // Neither beside the script nor in the place bundles are kept by default.
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f !== "cache").sort(), ["dep.cjs", "entry.cjs", "other.cjs"]);
    const kept = fs.existsSync(BUNDLE_CACHE_DIR) ? entries(BUNDLE_CACHE_DIR).map((f) => fs.readFileSync(path.join(BUNDLE_CACHE_DIR, f), "utf8")) : [];
    assert.ok(!kept.some((text) => text.includes(JSON.stringify(other))), "a bundle built with no cache was kept");
  });
});
