import assert from "node:assert/strict";
import { STAGES } from "../../config";
import { runStage } from "../harness/stage";

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

  it("stops before registering any resource when the config is invalid", async () => {
    const run = await runStage("staging", { config: { "edp:stage": "qa" } });
    assert.match(run.error ?? "", /edp:stage/);
    assert.equal(run.resources.length, 0);
  });
});
