import assert from "node:assert/strict";
import { edgeRamUserName } from "../../components/edge/policy";
import { edgeClusterReadPolicy } from "../../components/foundation/policies";
import { ConfigError, parseStageConfig } from "../../config";
import { stageRawConfig } from "../harness/config";

describe("edge: RAM policy of an edge cluster", () => {
  const bucket = "example-edp-testing-manifests";
  const prefix = "testing/clusters/lab-line-1/";
  const doc = JSON.parse(JSON.stringify(edgeClusterReadPolicy({ bucket, prefix }))) as {
    Version: string;
    Statement: { Effect: string; Action: string[]; Resource: string[]; Condition?: Record<string, Record<string, string[]>> }[];
  };

  it("allows reading objects under the cluster's prefix only", () => {
    const get = doc.Statement.filter((s) => s.Action.includes("oss:GetObject"));
    assert.equal(get.length, 1);
    assert.deepEqual(get[0].Resource, [`acs:oss:*:*:${bucket}/${prefix}*`]);
  });

  it("allows listing the bucket only under the prefix (oss:Prefix StringLike)", () => {
    const list = doc.Statement.filter((s) => s.Action.includes("oss:ListObjects"));
    assert.equal(list.length, 1);
    assert.deepEqual(list[0].Resource, [`acs:oss:*:*:${bucket}`]);
    assert.deepEqual(list[0].Condition, { StringLike: { "oss:Prefix": [`${prefix}*`] } });
  });

  it("allows nothing else: only Allow, only these two actions, every resource in this bucket", () => {
    assert.equal(doc.Version, "1");
    assert.ok(doc.Statement.every((s) => s.Effect === "Allow"));
    assert.deepEqual(doc.Statement.flatMap((s) => s.Action).sort(), ["oss:GetObject", "oss:ListObjects"]);
    assert.ok(doc.Statement.flatMap((s) => s.Resource).every((r) => r === `acs:oss:*:*:${bucket}` || r.startsWith(`acs:oss:*:*:${bucket}/${prefix}`)));
  });

  it("refuses a prefix without a trailing slash (lab-line-1 would also match lab-line-10)", () => {
    assert.throws(() => edgeClusterReadPolicy({ bucket, prefix: "testing/clusters/lab-line-1" }), /must be non-empty, end with '\/'/);
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

  it("accepts the three stage files as they are", () => {
    for (const stage of ["testing", "staging", "production"]) {
      parseStageConfig(stageRawConfig(stage));
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
