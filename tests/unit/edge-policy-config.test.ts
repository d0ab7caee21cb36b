import assert from "node:assert/strict";
import * as path from "node:path";
import { edgeRamUserName } from "../../components/edge/policy";
import { edgeClusterReadPolicy, edgeClusterStatusWriterPolicy } from "../../components/foundation/policies";
import { isAllowed, type RamRequest } from "../harness/ram-eval";
import { ConfigError, parseStageConfig } from "../../config";
import { readStackConfig } from "../../scripts/lib/mock-runtime";
import { ROOT } from "../harness/stage";

describe("edge: RAM policy of an edge cluster", () => {
  const bucket = "example-edp-testing-manifests";
  const prefix = "testing/clusters/lab-line-1/";
  const doc = edgeClusterReadPolicy({ bucket, prefix });
  const arn = (key?: string) => (key === undefined ? `acs:oss:*:*:${bucket}` : `acs:oss:*:*:${bucket}/${key}`);

  // What source-controller's Bucket reconciler (internal/controller/bucket_controller.go,
  // fetchEtagIndex and fetchIndexFiles, with internal/bucket/minio) sends to OSS for a Bucket
  // with provider generic, region set and spec.prefix = the cluster's prefix, as RAM sees it.
  const fluxAccessPattern: [string, RamRequest][] = [
    ["BucketExists: HEAD on the bucket", { action: "oss:GetBucketInfo", resource: arn() }],
    ["FGetObject(.sourceignore): StatObject (HEAD) of the root key", { action: "oss:GetObject", resource: arn(".sourceignore") }],
    ["FGetObject(.sourceignore): GET of the root key", { action: "oss:GetObject", resource: arn(".sourceignore") }],
    ["VisitObjects: ListObjects, recursive, prefix = spec.prefix", { action: "oss:ListObjects", resource: arn(), context: { "oss:Prefix": prefix } }],
    ["FGetObject(desired-state.yaml): HEAD + GET", { action: "oss:GetObject", resource: arn(`${prefix}desired-state.yaml`) }],
    ["FGetObject of any other object under the prefix", { action: "oss:GetObject", resource: arn(`${prefix}extra/other.yaml`) }],
  ];
  for (const [what, request] of fluxAccessPattern) {
    it(`allows Flux's ${what}`, () => assert.ok(isAllowed(doc, request), JSON.stringify(request)));
  }

  const outside: [string, RamRequest][] = [
    ["another cluster's desired state", { action: "oss:GetObject", resource: arn("testing/clusters/lab-line-10/desired-state.yaml") }],
    ["another root object", { action: "oss:GetObject", resource: arn("other.yaml") }],
    ["a .sourceignore below the root of another prefix", { action: "oss:GetObject", resource: arn("testing/clusters/lab-line-2/.sourceignore") }],
    ["listing the whole bucket", { action: "oss:ListObjects", resource: arn(), context: { "oss:Prefix": "" } }],
    ["listing a sibling prefix", { action: "oss:ListObjects", resource: arn(), context: { "oss:Prefix": "testing/clusters/lab-line-10/" } }],
    ["listing a broader prefix", { action: "oss:ListObjects", resource: arn(), context: { "oss:Prefix": "testing/" } }],
    ["writing its own desired state", { action: "oss:PutObject", resource: arn(`${prefix}desired-state.yaml`) }],
    ["writing its status object", { action: "oss:PutObject", resource: arn(`${prefix}status.json`) }],
    ["deleting its desired state", { action: "oss:DeleteObject", resource: arn(`${prefix}desired-state.yaml`) }],
    ["reading the bucket's ACL", { action: "oss:GetBucketAcl", resource: arn() }],
    ["GetBucketLocation (not sent: the Bucket sets region)", { action: "oss:GetBucketLocation", resource: arn() }],
  ];
  for (const [what, request] of outside) {
    it(`denies ${what}`, () => assert.ok(!isAllowed(doc, request), JSON.stringify(request)));
  }

  it("grants exactly three actions, each on the least resource (a test of the document, not just the evaluator)", () => {
    assert.equal(doc.Version, "1");
    assert.ok(doc.Statement.every((s) => s.Effect === "Allow"));
    assert.deepEqual(doc.Statement.flatMap((s) => s.Action).sort(), ["oss:GetBucketInfo", "oss:GetObject", "oss:ListObjects"]);
    assert.deepEqual(doc.Statement.find((s) => s.Action.includes("oss:GetObject"))?.Resource, [arn(".sourceignore"), arn(`${prefix}*`)]);
    assert.deepEqual(doc.Statement.find((s) => s.Action.includes("oss:ListObjects"))?.Condition, { StringEquals: { "oss:Prefix": [prefix] } });
  });

  it("refuses a prefix without a trailing slash (lab-line-1 would also match lab-line-10)", () => {
    assert.throws(() => edgeClusterReadPolicy({ bucket, prefix: "testing/clusters/lab-line-1" }), /must be non-empty, end with '\/'/);
  });

  it("status writer: PutObject of exactly its status object, nothing else", () => {
    const key = `${prefix}status.json`;
    const writer = edgeClusterStatusWriterPolicy({ bucket, key });
    assert.ok(isAllowed(writer, { action: "oss:PutObject", resource: arn(key) }));
    for (const r of [
      { action: "oss:PutObject", resource: arn(`${prefix}desired-state.yaml`) },
      { action: "oss:PutObject", resource: arn(`${key}.bak`) },
      { action: "oss:PutObject", resource: arn("testing/clusters/lab-line-10/status.json") },
      { action: "oss:GetObject", resource: arn(key) },
      { action: "oss:DeleteObject", resource: arn(key) },
      { action: "oss:ListObjects", resource: arn(), context: { "oss:Prefix": prefix } },
    ]) {
      assert.ok(!isAllowed(writer, r), JSON.stringify(r));
    }
    assert.throws(() => edgeClusterStatusWriterPolicy({ bucket, key: prefix }), /one object/);
  });

  it("keeps RAM user names within 64 characters, distinct for distinct clusters", () => {
    assert.equal(edgeRamUserName("edp-testing", "lab-line-1"), "edp-testing-edge-lab-line-1");
    const long = "a".repeat(60);
    const a = edgeRamUserName("edp-production", long);
    const b = edgeRamUserName("edp-production", `${"a".repeat(59)}b`);
    assert.ok(a.length <= 64 && b.length <= 64, `${a} / ${b}`);
    assert.notEqual(a, b);
  });
});

describe("edge: config checks of deployments", () => {
  const base = readStackConfig(path.join(ROOT, "Pulumi.testing.yaml"));
  const parse = (overrides: Record<string, unknown>) => {
    const values = { ...base };
    for (const [k, v] of Object.entries(overrides)) values[k] = JSON.stringify(v);
    try {
      parseStageConfig({ values, stack: "testing", project: "edp" });
      return [];
    } catch (e) {
      if (e instanceof ConfigError) return e.problems;
      throw e;
    }
  };
  const templates = {
    pinnedOnly: { chart: "c", repository: "https://charts.example-edp.net/edge", version: "1.0.0", values: { node: "{{hostname}}" } },
    typo: { chart: "c", repository: "https://charts.example-edp.net/edge", version: "1.0.0", values: { id: "{{uid}}" } },
    plain: { chart: "c", repository: "https://charts.example-edp.net/edge", version: "1.0.0", values: {} },
  };

  it("accepts the three stage files as they are", () => {
    for (const stage of ["testing", "staging", "production"]) {
      parseStageConfig({ values: readStackConfig(path.join(ROOT, `Pulumi.${stage}.yaml`)), stack: stage, project: "edp" });
    }
  });

  const cases: { title: string; deployments: unknown[]; key: string; message: RegExp }[] = [
    {
      title: "{{hostname}} in the template of a floating deployment",
      deployments: [{ name: "f", template: "pinnedOnly", cluster: "lab-line-1" }],
      key: "edp:deployments[0].hostname",
      message: /floats, but \{\{hostname\}\} is used at edp:chartTemplates\.pinnedOnly\.values\.node/,
    },
    {
      title: "{{hostname}} in a floating deployment's own values",
      deployments: [{ name: "f", template: "plain", cluster: "lab-line-1", values: { x: ["{{hostname}}"] } }],
      key: "edp:deployments[0].hostname",
      message: /at edp:deployments\[0\]\.values\.x\[0\]/,
    },
    {
      title: "an unknown placeholder in a deployment's values",
      deployments: [{ name: "p", template: "plain", cluster: "lab-line-1", hostname: "lab-edge-01", values: { x: "{{host}}" } }],
      key: "edp:deployments[0].values.x",
      message: /\{\{host\}\} is not a placeholder \(deployment p/,
    },
    {
      title: "an unknown placeholder in a chart template",
      deployments: [],
      key: "edp:chartTemplates.typo.values.id",
      message: /\{\{uid\}\} is not a placeholder/,
    },
    {
      title: "a deployment name too long for a Helm release",
      deployments: [{ name: "d".repeat(54), template: "plain", cluster: "lab-line-1" }],
      key: "edp:deployments[0].name",
      message: /limited to 53/,
    },
  ];
  for (const c of cases) {
    it(`reports ${c.title} with its key`, () => {
      const problems = parse({ "edp:chartTemplates": templates, "edp:deployments": c.deployments });
      const hit = problems.find((p) => p.key === c.key);
      assert.ok(hit, `no problem at ${c.key}; got ${JSON.stringify(problems)}`);
      assert.match(hit.message, c.message);
    });
  }
});
