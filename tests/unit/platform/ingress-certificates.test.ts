import assert from "node:assert/strict";
import { acmeIssuer, caIssuer, issuerFor } from "../../../components/certificates";
import {
  INGRESS_CLASSES,
  ingressNginxValues,
  LB_ADDRESS_TYPE_ANNOTATION,
  LB_ID_ANNOTATION,
  LB_OVERRIDE_LISTENERS_ANNOTATION,
  STRIPPED_CLIENT_CERT_HEADERS,
} from "../../../components/ingress";
import { CLIENT_CERT_HEADERS } from "../../../components/e3/render/apache";
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
    const v = ingressNginxValues({ stage: "staging", exposure: "public", loadBalancerId: "lb-abc", serviceMonitor: false });
    assert.deepEqual(v.controller.service.annotations, { [LB_ID_ANNOTATION]: "lb-abc", [LB_OVERRIDE_LISTENERS_ANNOTATION]: "true" });
    assert.equal(v.controller.replicaCount, 2);
    assert.equal(ingressNginxValues({ stage: "testing", exposure: "public", loadBalancerId: "lb-abc", serviceMonitor: false }).controller.replicaCount, 1);
  });

  it("give the internal controller its own class, controller value and lock on the intranet load balancer", () => {
    const pub = ingressNginxValues({ stage: "staging", exposure: "public", loadBalancerId: "lb-pub", serviceMonitor: true }).controller;
    const int = ingressNginxValues({ stage: "staging", exposure: "internal", loadBalancerId: "lb-int", serviceMonitor: true }).controller;
    assert.equal(int.ingressClassResource.name, INGRESS_CLASSES.internal);
    assert.equal(int.ingressClass, INGRESS_CLASSES.internal);
    assert.notEqual(int.ingressClassResource.controllerValue, pub.ingressClassResource.controllerValue);
    assert.notEqual(int.electionID, pub.electionID);
    // Only the public class is the default, and neither serves Ingresses without a class.
    assert.equal(pub.ingressClassResource.default, true);
    assert.equal(int.ingressClassResource.default, false);
    assert.equal(int.watchIngressWithoutClass, false);
    assert.equal(int.service.annotations[LB_ID_ANNOTATION], "lb-int");
    assert.equal((int.service.annotations as Record<string, string>)[LB_ADDRESS_TYPE_ANNOTATION], "intranet");
    assert.equal(int.service.externalTrafficPolicy, "Local");
  });

  it("strip client-certificate headers at the public controller only", () => {
    const pub = ingressNginxValues({ stage: "production", exposure: "public", loadBalancerId: "lb-pub", serviceMonitor: true }).controller;
    const int = ingressNginxValues({ stage: "production", exposure: "internal", loadBalancerId: "lb-int", serviceMonitor: true }).controller;
    // Every header E3 asserts a device's identity with is cleared by name and by pattern.
    for (const h of Object.values(CLIENT_CERT_HEADERS)) {
      assert.ok(STRIPPED_CLIENT_CERT_HEADERS.includes(h), h);
      assert.equal((pub as { proxySetHeaders?: Record<string, string> }).proxySetHeaders?.[h], "", h);
    }
    assert.match(pub.config["http-snippet"], /more_clear_input_headers "X-SSL-Client-\*";/);
    assert.match(pub.config["http-snippet"], /more_clear_input_headers "SSL_CLIENT_\*";/);
    // Underscore spellings (SSL_CLIENT_*) are dropped as invalid headers.
    assert.equal(pub.config["enable-underscores-in-headers"], "false");
    assert.equal(pub.config["ignore-invalid-headers"], "true");
    // E3 sets them for the services behind the internal controller: they must pass there.
    assert.equal(int.config["http-snippet"], undefined);
    assert.equal((int as { proxySetHeaders?: unknown }).proxySetHeaders, undefined);
  });
});

describe("ingress-nginx and cert-manager per stage", function () {
  this.timeout(300_000);

  for (const stage of STAGES) {
    it(`${stage}: ingress-nginx is the pinned chart on the stage's load balancer`, async () => {
      const run = await runPlatform(stage);
      assert.equal(run.error, undefined, run.error);
      const rel = run.ofType("kubernetes:helm.sh/v3:Release").find((r) => r.inputs.chart === "ingress-nginx" && r.inputs.name === "ingress-nginx");
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
