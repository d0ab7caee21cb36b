import assert from "node:assert/strict";
import { acmeIssuer, caIssuer, issuerFor } from "../../../components/certificates";
import { ingressNginxValues, LB_ID_ANNOTATION, LB_OVERRIDE_LISTENERS_ANNOTATION } from "../../../components/ingress";
import { CHARTS } from "../../../components/versions";
import { STAGES } from "../../../config";
import { validateObject } from "../../harness/k8s-schema";
import { meta, runPlatform } from "./run";

type Obj = Record<string, unknown>;
const LB_IDS: Record<string, string> = { testing: "lb-gw8t3st1ngz0a1b2c3d4", staging: "lb-gw8st4g1ngz0e5f6g7h8", production: "lb-gw8pr0dz0i9j0k1l2m3n" };

describe("issuers", () => {
  const cases: [Parameters<typeof issuerFor>[0], string | undefined, string][] = [
    ["public", "ops@example.net", "letsencrypt"],
    ["public", undefined, "platform-ca"],
    ["internal", "ops@example.net", "platform-ca"],
    ["internal", undefined, "platform-ca"],
  ];
  for (const [exposure, email, issuer] of cases) it(`${exposure} names with${email ? "" : "out"} ACME e-mail → ${issuer}`, () => assert.equal(issuerFor(exposure, email), issuer));

  it("renders ClusterIssuers that pass the cert-manager schema", async () => {
    await validateObject(caIssuer("issuer-ca") as unknown as Obj);
    await validateObject(acmeIssuer("ops@example.net", "nginx") as unknown as Obj);
    await assert.rejects(validateObject({ ...caIssuer("issuer-ca"), spec: { ca: { secretName: 7 } } }));
  });
});

describe("ingress-nginx values", () => {
  it("bind the controller's Service to the stage's load balancer and let it manage listeners", () => {
    const v = ingressNginxValues({ stage: "staging", loadBalancerId: "lb-abc", serviceMonitor: false });
    assert.deepEqual(v.controller.service.annotations, { [LB_ID_ANNOTATION]: "lb-abc", [LB_OVERRIDE_LISTENERS_ANNOTATION]: "true" });
    assert.equal(v.controller.replicaCount, 2);
    assert.equal(ingressNginxValues({ stage: "testing", loadBalancerId: "lb-abc", serviceMonitor: false }).controller.replicaCount, 1);
  });
});

describe("ingress-nginx and cert-manager per stage", function () {
  this.timeout(300_000);

  for (const stage of STAGES) {
    it(`${stage}: ingress-nginx is the pinned chart on the stage's load balancer`, async () => {
      const run = await runPlatform(stage);
      assert.equal(run.error, undefined, run.error);
      const rel = run.ofType("kubernetes:helm.sh/v3:Release").find((r) => r.inputs.chart === "ingress-nginx");
      assert.ok(rel, "no ingress-nginx release");
      assert.equal(rel.inputs.version, CHARTS.ingressNginx.version);
      assert.equal((rel.inputs.repositoryOpts as Obj).repo, "https://kubernetes.github.io/ingress-nginx");
      assert.equal(rel.inputs.namespace, "ingress-nginx");
      const annotations = (((rel.inputs.values as Obj).controller as Obj).service as Obj).annotations as Obj;
      assert.equal(annotations[LB_ID_ANNOTATION], LB_IDS[stage]);
      assert.equal(annotations[LB_OVERRIDE_LISTENERS_ANNOTATION], "true");
      assert.ok(rel.options.provider?.includes("pulumi:providers:kubernetes::central"), "not on the central cluster's provider");
    });

    it(`${stage}: cert-manager installs its CRDs, then the issuers the stage needs`, async () => {
      const run = await runPlatform(stage);
      const rel = run.ofType("kubernetes:helm.sh/v3:Release").find((r) => r.inputs.chart === "cert-manager");
      assert.ok(rel);
      assert.equal(rel.inputs.version, CHARTS.certManager.version);
      assert.deepEqual((rel.inputs.values as Obj).crds, { enabled: true, keep: true });
      const issuers = run.ofType("kubernetes:cert-manager.io/v1:ClusterIssuer");
      const names = issuers.map((i) => meta(i.inputs).name).sort();
      assert.deepEqual(names, stage === "testing" ? ["platform-ca"] : ["letsencrypt", "platform-ca"]);
      for (const i of issuers) assert.ok(i.options.dependsOn.includes(rel.urn), `${i.name} does not wait for the CRDs`);
      const ca = issuers.find((i) => meta(i.inputs).name === "platform-ca");
      assert.ok(ca);
      assert.deepEqual((ca.inputs.spec as Obj).ca, { secretName: "issuer-ca" });
      const acme = issuers.find((i) => meta(i.inputs).name === "letsencrypt");
      if (acme) assert.equal(((acme.inputs.spec as Obj).acme as Obj).email, "platform-ops@example-edp.net");
    });
  }
});
