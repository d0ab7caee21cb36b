import assert from "node:assert/strict";
import { kyvernoValues, namespaceCondition, PLATFORM_POLICY_SCOPES, platformPolicies, RECOVERY_NAMESPACES } from "../../../components/policies";
import { CHARTS } from "../../../components/versions";
import { STAGES } from "../../../config";
import { validateObject } from "../../harness/k8s-schema";
import { meta, runPlatform } from "./run";

type Obj = Record<string, unknown>;

function matchedNamespaces(rule: Obj): string[] {
  const any = ((rule.match as Obj).any ?? []) as Obj[];
  return any.flatMap((m) => ((m.resources as Obj).namespaces ?? []) as string[]);
}

describe("Kyverno policies", () => {
  for (const stage of STAGES) {
    it(`${stage}: every policy passes the Kyverno schema`, async () => {
      for (const p of platformPolicies(stage, PLATFORM_POLICY_SCOPES)) await validateObject(p as unknown as Obj);
    });
  }

  it("has a schema check that would catch a wrong failure policy", async () => {
    const [p] = platformPolicies("staging", PLATFORM_POLICY_SCOPES);
    await assert.rejects(validateObject({ ...p, spec: { ...p.spec, failurePolicy: "Sometimes" } }), /failurePolicy/);
  });

  it("forbids latest only in staging and production", () => {
    const names = (stage: (typeof STAGES)[number]) => platformPolicies(stage, PLATFORM_POLICY_SCOPES).map((p) => p.metadata.name);
    assert.ok(!names("testing").includes("disallow-latest-tag"));
    assert.ok(names("staging").includes("disallow-latest-tag"));
    assert.ok(names("production").includes("disallow-latest-tag"));
  });

  it("fails closed only for pod security, and only for requests in its namespaces", () => {
    for (const p of platformPolicies("production", PLATFORM_POLICY_SCOPES)) {
      if (p.metadata.name === "baseline-pod-security") {
        assert.equal(p.spec.failurePolicy, "Fail");
        assert.deepEqual(p.spec.webhookConfiguration?.matchConditions, [
          { name: "platform-namespaces", expression: namespaceCondition(PLATFORM_POLICY_SCOPES.podSecurity) },
        ]);
      } else assert.equal(p.spec.failurePolicy, "Ignore", p.metadata.name);
    }
    assert.equal(namespaceCondition(["edp", "keycloak"]), "has(request.namespace) && request.namespace in ['edp', 'keycloak']");
  });

  it("never covers a namespace needed to recover", () => {
    for (const p of platformPolicies("production", PLATFORM_POLICY_SCOPES)) {
      for (const rule of p.spec.rules) {
        for (const ns of matchedNamespaces(rule)) assert.ok(!(RECOVERY_NAMESPACES as readonly string[]).includes(ns), `${p.metadata.name} covers ${ns}`);
      }
    }
    const selector = kyvernoValues({ stage: "production", monitoring: true, dashboardNamespace: "monitoring" }).config.webhooks.namespaceSelector;
    assert.deepEqual(selector.matchExpressions[0].values, [...RECOVERY_NAMESPACES]);
    assert.equal(selector.matchExpressions[0].operator, "NotIn");
  });

  it("refuses missing limits in our namespaces and reports them in chart namespaces", () => {
    const limits = platformPolicies("staging", PLATFORM_POLICY_SCOPES).find((p) => p.metadata.name === "require-resource-limits");
    assert.ok(limits);
    const byRule = Object.fromEntries(limits.spec.rules.map((r) => [r.name, { action: (r.validate as Obj).failureAction, ns: matchedNamespaces(r) }]));
    assert.deepEqual(byRule["enforce-limits"], { action: "Enforce", ns: ["edp", "keycloak"] });
    assert.equal(byRule["audit-limits"].action, "Audit");
    assert.ok(byRule["audit-limits"].ns.includes("monitoring"));
  });

  it("runs three admission replicas outside testing and removes its webhooks on uninstall", () => {
    assert.equal(kyvernoValues({ stage: "testing", monitoring: false, dashboardNamespace: "m" }).admissionController.replicas, 1);
    const prod = kyvernoValues({ stage: "production", monitoring: false, dashboardNamespace: "m" });
    assert.equal(prod.admissionController.replicas, 3);
    assert.deepEqual(prod.webhooksCleanup, { enabled: true, image: { pullPolicy: "IfNotPresent" } });
  });
});

describe("Kyverno per stage", function () {
  this.timeout(300_000);
  for (const stage of STAGES) {
    it(`${stage}: pinned chart, then the stage's ClusterPolicies`, async () => {
      const run = await runPlatform(stage);
      assert.equal(run.error, undefined, run.error);
      const rel = run.ofType("kubernetes:helm.sh/v3:Release").find((r) => r.inputs.chart === "kyverno");
      assert.ok(rel);
      assert.equal(rel.inputs.version, CHARTS.kyverno.version);
      assert.equal((rel.inputs.repositoryOpts as Obj).repo, CHARTS.kyverno.repository);
      const policies = run.ofType("kubernetes:kyverno.io/v1:ClusterPolicy");
      assert.deepEqual(
        policies.map((p) => meta(p.inputs).name).sort(),
        stage === "testing" ? ["baseline-pod-security", "require-resource-limits"] : ["baseline-pod-security", "disallow-latest-tag", "require-resource-limits"],
      );
      for (const p of policies) assert.ok(p.options.dependsOn.includes(rel.urn));
    });
  }
});
