/**
 * Edge-fleet shards (fleet/, issue 22): a shard builds for its clusters exactly what the central
 * stack builds for its own, reads the bucket from the central stack, refuses bad config with its
 * `edp-fleet:` key, and a change to one cluster touches only that cluster's desired state.
 */
import assert from "node:assert/strict";
import { runShard } from "../harness/fleet";
import { runStage } from "../harness/stage";

const SHARD = "testing-shard-a";

describe("edge-fleet shards", function () {
  this.timeout(300_000);

  it("build per cluster the same resources as the central stack does", async () => {
    const [shard, central] = await Promise.all([runShard("testing", SHARD), runStage("testing")]);
    assert.equal(shard.error, undefined, shard.error);
    const kinds = (run: typeof shard, cluster: string) =>
      // Central resources only: testing's lab-line-1 bootstraps directly (issue 15), so it also has in-cluster ones.
      run.resources
        .filter((r) => r.name.startsWith(`edge-${cluster}`) && r.type !== "edp:edge:EdgeCluster" && !r.type.startsWith("kubernetes:") && !r.type.startsWith("pulumi:providers:"))
        .map((r) => r.type)
        .sort();
    const centralKinds = kinds(central, "lab-line-1");
    assert.ok(centralKinds.length >= 5, `central builds ${centralKinds.length} resources for lab-line-1`);
    for (const c of ["lab-line-2", "lab-line-3"]) assert.deepEqual(kinds(shard, c), centralKinds, c);
    // Nothing of the central platform.
    assert.deepEqual(shard.resources.filter((r) => /^(alicloud:cs|alicloud:vpc|kubernetes:helm)/.test(r.type)).map((r) => r.type), []);
  });

  it("writes desired state into the central stack's manifests bucket under the stage prefix", async () => {
    const shard = await runShard("testing", SHARD);
    const central = await runStage("testing");
    const bucket = (central.output("edgeFleet").value as { manifestsBucket: string }).manifestsBucket;
    const object = shard.get("alicloud:oss/bucketObject:BucketObject", "edge-lab-line-3-desired-state");
    assert.equal(object.inputs.bucket, bucket);
    assert.equal(object.inputs.key, "testing/clusters/lab-line-3/desired-state.yaml");
    assert.equal(central.output("edgeFleet").secret, false);
  });

  it("changing one cluster's deployment changes only that cluster's desired-state object", async () => {
    const before = await runShard("testing", SHARD);
    const after = await runShard("testing", SHARD, {
      config: {
        "edp-fleet:deployments": [
          { name: "opcua-press-2", template: "opcua-collector", cluster: "lab-line-2", hostname: "lab2-edge-01" },
          { name: "opcua-press-3", template: "opcua-collector", cluster: "lab-line-3", hostname: "lab3-edge-01" },
        ],
      },
    });
    assert.equal(after.error, undefined, after.error);
    const byUrn = new Map(before.resources.map((r) => [r.urn, JSON.stringify(r.inputs)]));
    const changed = after.resources.filter((r) => byUrn.get(r.urn) !== JSON.stringify(r.inputs)).map((r) => r.name);
    assert.deepEqual(changed, ["edge-lab-line-3-desired-state"]);
    assert.equal(after.resources.length, before.resources.length);
  });

  it("refuses bad config before registering anything, naming the edp-fleet key", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ "edp-fleet:stage": "prod" }, "edp-fleet:stage"],
      [{ "edp-fleet:centralStack": "organization/edp/production" }, "edp-fleet:centralStack"],
      [{ "edp-fleet:edgeClusters": [{ name: "Lab_2", bootstrap: "script" }] }, "edp-fleet:edgeClusters[0].name"],
      [{ "edp-fleet:deployments": [{ name: "x", template: "opcua-collector", cluster: "nowhere", hostname: "h" }] }, "edp-fleet:deployments[0]"],
    ];
    for (const [config, key] of cases) {
      const run = await runShard("testing", SHARD, { config });
      assert.ok(run.error, `${JSON.stringify(config)} was accepted`);
      assert.ok(run.error.includes(key), `${run.error} does not name ${key}`);
      assert.equal(run.resources.filter((r) => r.custom).length, 0, `${key}: resources were registered`);
    }
  });

  it("stops the program on a cluster that the central stack already manages", async () => {
    // The check runs when the central stack's output arrives (an apply): the program fails, as
    // `pulumi preview` would, with the message.
    await assert.rejects(
      runShard("testing", SHARD, {
        config: { "edp-fleet:edgeClusters": [{ name: "lab-line-1", bootstrap: "script", hosts: ["lab2-edge-01"] }], "edp-fleet:deployments": [] },
      }),
      /edp-fleet:edgeClusters: lab-line-1 already belong to the central stack organization\/edp\/testing/,
    );
  });
});
