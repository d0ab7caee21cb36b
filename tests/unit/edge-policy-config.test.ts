import assert from "node:assert/strict";
import { edgeRamUserName } from "../../components/edge/policy";
import { edgeClusterReadPolicy, edgeClusterStatusWriterPolicy } from "../../components/foundation/policies";
import { fluxBucketAccessPattern, isAllowed, type RamRequest } from "../harness/ram-eval";
import { ConfigError, parseStageConfig } from "../../config";
import { stageRawConfig } from "../harness/config";

describe("edge: RAM policy of an edge cluster", () => {
  const bucket = "example-edp-testing-manifests";
  const prefix = "testing/clusters/lab-line-1/";
  const doc = edgeClusterReadPolicy({ bucket, prefix });
  const arn = (key?: string) => (key === undefined ? `acs:oss:*:*:${bucket}` : `acs:oss:*:*:${bucket}/${key}`);

  const fluxAccessPattern: [string, RamRequest][] = [
    ...fluxBucketAccessPattern(bucket, prefix),
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
    assert.equal(edgeRamUserName("edp-testing", "lab-line-1", "edgestatus"), "edp-testing-edgestatus-lab-line-1");
    assert.notEqual(edgeRamUserName("edp-testing", "x-status"), edgeRamUserName("edp-testing", "x", "edgestatus"));
  });
});

describe("edge: config checks of deployments", () => {
  const base = stageRawConfig("testing").values;
  const parse = (overrides: Record<string, unknown>) => {
    const raw = stageRawConfig("testing");
    for (const [k, v] of Object.entries(overrides)) raw.values[k] = JSON.stringify(v);
    try {
      parseStageConfig(raw);
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

  it("accepts the three stage files as they are (with stand-ins for their secrets)", () => {
    for (const stage of ["testing", "staging", "production"]) parseStageConfig(stageRawConfig(stage));
  });

  const lab = { name: "lab-line-1", bootstrap: "direct", hosts: ["lab-edge-01", "lab-edge-02"] };
  const edgeCases: { title: string; overrides: Record<string, unknown>; key: string; message: RegExp }[] = [
    {
      title: "a specialised host that is not a host of the cluster",
      overrides: { "edp:edgeClusters": [{ ...lab, specialisedHosts: { "lab-edge-09": "opcua" } }] },
      key: "edp:edgeClusters[0].specialisedHosts.lab-edge-09",
      message: /lab-edge-09 is not in edp:edgeClusters\[0\]\.hosts \(lab-edge-01, lab-edge-02\)/,
    },
    {
      title: "a specialisation that is not a label value",
      overrides: { "edp:edgeClusters": [{ ...lab, specialisedHosts: { "lab-edge-01": "opc ua" } }] },
      key: "edp:edgeClusters[0].specialisedHosts.lab-edge-01",
      message: /is not a Kubernetes label value/,
    },
    {
      title: "a taint key that is not a qualified name",
      overrides: { "edp:edgeSpecialisedTaintKey": "Not A Key/x" },
      key: "edp:edgeSpecialisedTaintKey",
      message: /is not a qualified taint key/,
    },
    {
      title: "a sealed secret file that does not exist",
      overrides: { "edp:edgeClusters": [{ ...lab, sealedSecrets: ["tests/fixtures/sealed-secrets/missing.yaml"] }] },
      key: "edp:edgeClusters[0].sealedSecrets[0]",
      message: /missing\.yaml cannot be read/,
    },
    {
      title: "a plain Secret referenced as a sealed secret",
      overrides: { "edp:deployments": [{ name: "opcua-press-1", template: "opcua-collector", cluster: "lab-line-1", hostname: "lab-edge-01", sealedSecrets: ["tests/fixtures/sealed-secrets/plain-secret.yaml"] }] },
      key: "edp:deployments[0].sealedSecrets[0]",
      message: /is a plain Secret: seal it first \(npm run seal/,
    },
    {
      title: "a sealed secret path outside the project",
      overrides: { "edp:edgeClusters": [{ ...lab, sealedSecrets: ["../../etc/passwd"] }] },
      key: "edp:edgeClusters[0].sealedSecrets[0]",
      message: /must be a path inside the project/,
    },
  ];
  for (const c of edgeCases) {
    it(`reports ${c.title} at ${c.key}`, () => {
      const problems = parse(c.overrides);
      assert.ok(problems.some((p) => p.key === c.key && c.message.test(p.message)), JSON.stringify(problems, null, 1));
    });
  }

  it("reads referenced SealedSecrets per cluster, deployment references included, each once", () => {
    const ref = "tests/fixtures/sealed-secrets/opcua-credentials.yaml";
    const cfg = parseStageConfig({
      ...stageRawConfig("testing"),
      values: {
        ...base,
        "edp:edgeClusters": JSON.stringify([{ ...lab, sealedSecrets: [ref] }]),
        "edp:deployments": JSON.stringify([{ name: "opcua-press-1", template: "opcua-collector", cluster: "lab-line-1", hostname: "lab-edge-01", sealedSecrets: [ref] }]),
      },
      stack: "testing",
      project: "edp",
    });
    assert.deepEqual(cfg.edgeSealedSecrets["lab-line-1"].map((o) => `${o.metadata.namespace}/${o.metadata.name}`), ["edp-edge/opcua-credentials"]);
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
      message: /\{\{host\}\}, which is not a placeholder .*\(deployment p\)/,
    },
    {
      title: "an unknown placeholder in a chart template",
      deployments: [],
      key: "edp:chartTemplates.typo.values.id",
      message: /\{\{uid\}\}, which is not a placeholder/,
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
