import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import YAML from "yaml";
import { STAGES } from "../../config";
import { SECRET_KEYS, stageSchema } from "../../config/schema";
import { ROOT, runStage } from "../harness/stage";

describe("the program per stage", function () {
  this.timeout(300_000);

  for (const stage of STAGES) {
    it(`evaluates ${stage} with its own stack file and registers resources`, async () => {
      const run = await runStage(stage);
      assert.equal(run.error, undefined, run.error);
      assert.ok(run.resources.length > 0, "no resource registered");
      assert.ok(run.resources.every((r) => r.urn.startsWith(`urn:pulumi:${stage}::edp::`)), "a resource carries another stage's URN");
      assert.equal(run.output("stage").value, stage);
    });
  }

  it("gives each stage its own host names, taken from its stack file", async () => {
    const urls = await Promise.all(STAGES.map(async (s) => (await runStage(s)).output("portalUrl").value));
    assert.deepEqual(urls, STAGES.map((s) => `https://edp-portal.api.${s}.example-edp.net/device-management`));
  });

  it("keeps secret outputs secret in every stage", async () => {
    for (const stage of STAGES) {
      const run = await runStage(stage);
      const sensitive = Object.keys(run.result.outputs).filter((k) => /kubeconfig|password|token|privateKey|bootstrapScript|accessKeySecret|vaultKeys/i.test(k));
      assert.ok(sensitive.includes("kubeconfig"), `stage ${stage} has no kubeconfig output`);
      for (const k of sensitive) assert.equal(run.output(k).secret, true, `output ${k} of ${stage} is not secret`);
      assert.equal(run.output("portalUrl").secret, false);
    }
  });

  it("differs between stages where the stack files differ", async () => {
    const [testing, production] = await Promise.all([runStage("testing"), runStage("production")]);
    const pools = (run: typeof testing) => run.ofType("alicloud:cs/nodePool:NodePool").map((p) => p.name).sort();
    assert.ok(pools(production).length > pools(testing).length, "production declares more node pools than testing");
    const vswitches = (run: typeof testing) => run.ofType("alicloud:vpc/switch:Switch").length;
    assert.equal(vswitches(testing), 2);
    assert.equal(vswitches(production), 3);
    const protectedCount = (run: typeof testing) => run.resources.filter((r) => r.options.protect).length;
    assert.equal(protectedCount(testing), 0);
    assert.ok(protectedCount(production) > 0);
  });

  it("stops before registering any resource when the config is invalid", async () => {
    const run = await runStage("staging", { config: { "edp:stage": "qa" } });
    assert.match(run.error ?? "", /edp:stage/);
    assert.equal(run.resources.length, 0);
  });
});

describe("stack files", () => {
  it("hold no secret key in plaintext", () => {
    for (const stage of STAGES) {
      const doc = YAML.parse(fs.readFileSync(path.join(ROOT, `Pulumi.${stage}.yaml`), "utf8")) as { config: Record<string, unknown> };
      for (const key of Object.keys(SECRET_KEYS)) {
        const value = doc.config[`edp:${key}`];
        assert.ok(value === undefined || (typeof value === "object" && value !== null && "secure" in value), `edp:${key} is in plaintext in Pulumi.${stage}.yaml`);
      }
      const text = fs.readFileSync(path.join(ROOT, `Pulumi.${stage}.yaml`), "utf8");
      assert.doesNotMatch(text, /-----BEGIN|password:|secret:\s*[^\s]/i, `Pulumi.${stage}.yaml looks like it holds a secret`);
    }
  });
});

describe("Pulumi.yaml", () => {
  it("declares every config key with a description, and marks the secret ones secret", () => {
    const project = YAML.parse(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")) as { config: Record<string, { description?: string; secret?: boolean }> };
    const keys = Object.keys(stageSchema.shape).filter((k) => k !== "region");
    for (const key of [...keys, ...Object.keys(SECRET_KEYS)]) {
      const decl = project.config[key];
      assert.ok(decl, `edp:${key} is not declared in Pulumi.yaml`);
      assert.ok((decl.description ?? "").length > 10, `edp:${key} has no description`);
      assert.equal(decl.secret === true, key in SECRET_KEYS, `edp:${key} secret flag`);
    }
    // Keys of other namespaces (pulumi:disable-default-providers) are settings of the CLI, not the program's.
    const projectKeys = Object.keys(project.config).filter((k) => !k.includes(":"));
    assert.deepEqual(projectKeys.sort(), [...keys, ...Object.keys(SECRET_KEYS)].sort(), "Pulumi.yaml declares keys the schema does not know");
  });
});
