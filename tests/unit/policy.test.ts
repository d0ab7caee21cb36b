/**
 * The CrossGuard pack's rules (policy/rules.ts): each with resources that pass and that fail, and
 * the whole pack over every stage's program as the mock runtime records it.
 */
import assert from "node:assert/strict";
import { compareTags, type PolicyContext, type PolicyResource, RULES, violations } from "../../policy/rules";
import { contextFor, stackOfUrn } from "../../policy/stage-context";
import { runStage } from "../harness/stage";

const rule = (name: string) => {
  const r = RULES.find((x) => x.name === name);
  if (!r) throw new Error(`no rule ${name}`);
  return r;
};
const res = (type: string, props: Record<string, unknown>, protect = false, name = "r"): PolicyResource => ({ type, name, props, protect });
const deployment = (containers: Record<string, unknown>[]) => res("kubernetes:apps/v1:Deployment", { kind: "Deployment", spec: { template: { spec: { containers } } } });
const limited = { limits: { cpu: "1", memory: "1Gi" } };
const testing: PolicyContext = { stage: "testing" };
const staging: PolicyContext = { stage: "staging", previousStageTags: { portal: "4.0.0-rc.4", masterdata: "3.1.0" } };
const production: PolicyContext = { stage: "production", previousStageTags: { portal: "3.9.1", masterdata: "3.1.0" } };

const table: [string, PolicyResource, PolicyContext, boolean][] = [
  ["production-stateful-protected", res("alicloud:oss/bucket:Bucket", { acl: "private" }, false), production, false],
  ["production-stateful-protected", res("alicloud:oss/bucket:Bucket", { acl: "private" }, true), production, true],
  ["production-stateful-protected", res("kubernetes:core/v1:PersistentVolumeClaim", {}, false), production, false],
  ["production-stateful-protected", res("alicloud:oss/bucket:Bucket", {}, false), staging, true],
  ["no-public-oss", res("alicloud:oss/bucketAcl:BucketAcl", { acl: "public-read" }), testing, false],
  ["no-public-oss", res("alicloud:oss/bucket:Bucket", { acl: "public-read-write" }), testing, false],
  ["no-public-oss", res("alicloud:oss/bucketAcl:BucketAcl", { acl: "private" }), testing, true],
  ["no-ram-wildcard", res("alicloud:ram/policy:Policy", { policyDocument: JSON.stringify({ Statement: [{ Effect: "Allow", Action: "*", Resource: "acs:oss:*:*:b/*" }] }) }), testing, false],
  ["no-ram-wildcard", res("alicloud:ram/policy:Policy", { policyDocument: JSON.stringify({ Statement: [{ Effect: "Allow", Action: ["oss:GetObject"], Resource: ["*"] }] }) }), testing, false],
  ["no-ram-wildcard", res("alicloud:ram/policy:Policy", { policyDocument: JSON.stringify({ Statement: [{ Effect: "Allow", Action: ["oss:*"], Resource: ["acs:oss:*:*:b"] }] }) }), testing, false],
  ["no-ram-wildcard", res("alicloud:ram/policy:Policy", { policyDocument: JSON.stringify({ Statement: [{ Effect: "Allow", Action: ["oss:GetObject"], Resource: ["acs:oss:*:*:b/*"] }] }) }), testing, true],
  ["image-tags", deployment([{ name: "x", image: "nginx:latest", resources: limited }]), testing, true],
  ["image-tags", deployment([{ name: "x", image: "nginx", resources: limited }]), staging, false],
  ["image-tags", deployment([{ name: "x", image: "reg/edp/portal:4.0.0-rc.4", resources: limited }]), staging, true],
  ["image-tags", deployment([{ name: "x", image: "reg/edp/portal:4.1.0", resources: limited }]), staging, false],
  ["image-tags", deployment([{ name: "x", image: "reg/edp/portal:3.9.1", resources: limited }]), production, true],
  ["image-tags", deployment([{ name: "x", image: "reg/edp/portal:4.0.0-rc.4", resources: limited }]), production, false],
  ["image-tags", deployment([{ name: "x", image: "reg/edp/masterdata:3.1.0-2-ge4a6741", resources: limited }]), production, false],
  ["volume-size", res("kubernetes:core/v1:PersistentVolumeClaim", { spec: { resources: { requests: { storage: "5Gi" } } } }), testing, false],
  ["volume-size", res("kubernetes:core/v1:PersistentVolumeClaim", { spec: { resources: { requests: { storage: "20Gi" } } } }), testing, true],
  ["volume-size", res("alicloud:ecs/ecsDisk:EcsDisk", { size: 10 }), testing, false],
  ["container-limits", deployment([{ name: "x", image: "a:1", resources: { limits: { cpu: "1" } } }]), testing, false],
  ["container-limits", deployment([{ name: "x", image: "a:1", resources: { requests: { memory: "1Gi" } } }]), testing, false],
  ["container-limits", deployment([{ name: "x", image: "a:1", resources: { limits: { memory: "1Gi" } } }]), testing, true],
  ["container-limits", deployment([{ name: "x", image: "a:1", resources: limited }]), testing, true],
  ["container-limits", res("kubernetes:batch/v1:CronJob", { kind: "CronJob", spec: { jobTemplate: { spec: { template: { spec: { containers: [{ name: "c", image: "a:1" }] } } } } } }), testing, false],
];

describe("policy pack rules", () => {
  for (const [name, r, ctx, passes] of table) {
    it(`${name} ${passes ? "passes" : "fails"} ${r.type} ${JSON.stringify(r.props).slice(0, 90)} in ${ctx.stage}${r.protect ? " (protected)" : ""}`, () => {
      const found = rule(name).check(r, ctx);
      if (passes) assert.deepEqual(found, []);
      else assert.ok(found.length > 0, "expected a violation");
    });
  }

  it("orders tags by SemVer precedence", () => {
    assert.ok((compareTags("4.0.0-rc.4", "3.9.1") ?? 0) > 0);
    assert.ok((compareTags("4.0.0-rc.4", "4.0.0") ?? 0) < 0);
    assert.ok((compareTags("4.0.0-rc.10", "4.0.0-rc.4") ?? 0) > 0);
    assert.ok((compareTags("4.10", "4.1") ?? "n/a") === "n/a");
  });

  it("reads the stage from the URN and the previous stage's tags from its file", () => {
    assert.equal(stackOfUrn("urn:pulumi:production::edp::alicloud:oss/bucket:Bucket::b"), "production");
    const ctx = contextFor("production");
    assert.equal(ctx.previousStageTags?.portal !== undefined, true);
    assert.throws(() => contextFor("dev"), /runs on the stages testing, staging, production/);
  });
});

describe("policy pack over every stage's program", function () {
  this.timeout(600_000);
  for (const stage of ["testing", "staging", "production"]) {
    it(`${stage}: no resource violates a rule`, async () => {
      const run = await runStage(stage);
      assert.equal(run.error, undefined);
      const ctx = contextFor(stage);
      const found = run.resources.filter((r) => r.custom).flatMap((r) => violations({ type: r.type, name: r.name, props: r.inputs, protect: r.options.protect }, ctx));
      assert.deepEqual(found, []);
    });
  }

  it("fails production when a bucket loses its protection", async () => {
    const run = await runStage("production");
    const bucket = run.resources.find((r) => r.type === "alicloud:oss/bucket:Bucket");
    assert.ok(bucket, "production has no bucket");
    const found = violations({ type: bucket.type, name: bucket.name, props: bucket.inputs, protect: false }, contextFor("production"));
    assert.ok(found.some((m) => m.startsWith("production-stateful-protected:")));
  });
});
