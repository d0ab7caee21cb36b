/**
 * The GitHub workflows pass @action-validator/cli (schema and action inputs), and the validator
 * is a real gate: a broken copy fails it.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { ROOT } from "../harness/stage";

const run = promisify(execFile);
const validator = path.join(ROOT, "node_modules/.bin/action-validator");
const dir = path.join(ROOT, ".github/workflows");

describe("GitHub workflows", function () {
  this.timeout(120_000);
  const files = fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f));

  it("there is a workflow to check", () => assert.ok(files.length > 0));
  for (const f of files) {
    it(`${f} passes action-validator`, async () => {
      await run(validator, [path.join(dir, f)]);
    });
  }

  it("pull requests from forks get no preview job and no cloud credentials", () => {
    const text = fs.readFileSync(path.join(dir, "pulumi.yml"), "utf8");
    assert.match(text, /preview:\n\s+if: github\.event_name == 'pull_request' && github\.event\.pull_request\.head\.repo\.full_name == github\.repository/);
    assert.match(text, /policyPacks: policy/);
    assert.match(text, /pulumi-version: \$\{\{ env\.PULUMI_VERSION \}\}/);
  });

  it("a workflow with an unknown key fails action-validator", async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "edp-wf-"));
    const broken = path.join(tmp, "broken.yml");
    fs.writeFileSync(broken, fs.readFileSync(path.join(dir, "pulumi.yml"), "utf8").replace("runs-on: ubuntu-24.04", "runs-onn: ubuntu-24.04"));
    await assert.rejects(run(validator, [broken]));
    fs.rmSync(tmp, { recursive: true });
  });
});
