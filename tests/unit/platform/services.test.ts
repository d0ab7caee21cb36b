import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import YAML from "yaml";
import {
  deploymentArgs,
  imageFor,
  replicasFor,
  routeTable,
  SERVICE_CATALOG,
  type ServiceContext,
  serviceEnv,
} from "../../../components/services";
import { EDP_SERVICES, STAGES } from "../../../config";
import { ROOT } from "../../harness/stage";
import { meta, runPlatform } from "./run";

type Obj = Record<string, unknown>;
const ctx: ServiceContext = {
  stage: "staging",
  namespace: "edp",
  registry: "registry.example.net/edp",
  tags: Object.fromEntries(EDP_SERVICES.map((s) => [s, "1.0.0"])),
  e3Host: "203.0.113.5",
  oidcIssuerUrl: "https://keycloak.example.net/realms/edp",
  pullSecret: "docker-pull",
};

describe("EDP service rendering", () => {
  it("builds the image from registry, service and the stage's tag, and refuses a missing tag", () => {
    assert.equal(imageFor("r.example/ns", "portal", { portal: "4.0.0" }), "r.example/ns/portal:4.0.0");
    assert.throws(() => imageFor("r.example/ns", "portal", {}), /edp:images.tags.portal is missing/);
  });

  it("runs two replicas only in production", () => {
    assert.deepEqual(STAGES.map(replicasFor), [1, 1, 2]);
  });

  it("gives every service E3_HOST first, as the manual's patch did", () => {
    for (const s of EDP_SERVICES) assert.deepEqual(serviceEnv(s, ctx)[0], { name: "E3_HOST", value: "203.0.113.5" });
  });

  it("routes each path once, on the hosts the manual names", () => {
    const routes = routeTable();
    assert.deepEqual(
      routes.public.map((r) => `${r.path}→${r.service}`),
      ["/api→portalgateway", "/device-management→portal", "/devicemanagement→devicemanagement", "/edpgateway→edpgateway"],
    );
    assert.deepEqual(
      routes.internal.map((r) => `${r.path}→${r.service}`),
      ["/datadirectormanagement→datadirectormanagement", "/monitoring→datadirectormonitoring", "/onboarding→onboarding"],
    );
  });

  it("refuses two services on one path", () => {
    const clash = { ...SERVICE_CATALOG, masterdata: { ...SERVICE_CATALOG.masterdata, routes: [{ exposure: "public" as const, path: "/api" }] } };
    assert.throws(() => routeTable(clash), /public path \/api is claimed by masterdata and portalgateway|public path \/api is claimed by portalgateway and masterdata/);
  });

  for (const service of EDP_SERVICES) {
    it(`${service}: limits, probes, non-root, read-only root, pull secret`, () => {
      const d = deploymentArgs(service, ctx) as unknown as Obj;
      const pod = ((d.spec as Obj).template as Obj).spec as Obj;
      assert.deepEqual(pod.imagePullSecrets, [{ name: "docker-pull" }]);
      assert.equal((pod.securityContext as Obj).runAsNonRoot, true);
      const [c] = pod.containers as Obj[];
      const limits = (c.resources as Obj).limits as Obj;
      assert.ok(limits.cpu && limits.memory, "limits");
      assert.ok(c.livenessProbe && c.readinessProbe, "probes");
      const sc = c.securityContext as Obj;
      assert.equal(sc.readOnlyRootFilesystem, true);
      assert.equal(sc.allowPrivilegeEscalation, false);
      assert.deepEqual((sc.capabilities as Obj).drop, ["ALL"]);
      const envFrom = (c.envFrom as Obj[]).map((e) => (e.secretRef as Obj).name);
      assert.deepEqual(envFrom, service === "datadirectormanagement" ? ["datadirectormangement-files"] : []);
    });
  }
});

describe("EDP services per stage", function () {
  this.timeout(300_000);

  for (const stage of STAGES) {
    it(`${stage}: one Deployment per service with the stage's image tag and the E3 address`, async () => {
      const run = await runPlatform(stage);
      assert.equal(run.error, undefined, run.error);
      const file = YAML.parse(fs.readFileSync(path.join(ROOT, `Pulumi.${stage}.yaml`), "utf8")) as { config: Record<string, { registry: string; tags: Record<string, string> }> };
      const { registry, tags } = file.config["edp:images"];
      const deployments = run.ofType("kubernetes:apps/v1:Deployment").filter((d) => meta(d.inputs).namespace === "edp");
      assert.deepEqual(deployments.map((d) => meta(d.inputs).name).sort(), [...EDP_SERVICES].sort());
      for (const d of deployments) {
        const service = meta(d.inputs).name;
        const [c] = (((d.inputs.spec as Obj).template as Obj).spec as { containers: Obj[] }).containers;
        assert.equal(c.image, `${registry}/${service}:${tags[service]}`);
        assert.deepEqual((c.env as Obj[])[0], { name: "E3_HOST", value: "203.0.113.10" });
        assert.equal((d.inputs.spec as Obj).replicas, stage === "production" ? 2 : 1);
      }
      assert.equal(run.ofType("kubernetes:core/v1:Service").filter((s) => meta(s.inputs).namespace === "edp").length, EDP_SERVICES.length);
      assert.equal(run.ofType("kubernetes:policy/v1:PodDisruptionBudget").filter((p) => meta(p.inputs).namespace === "edp").length, stage === "production" ? EDP_SERVICES.length : 0);
    });

    it(`${stage}: ingress hosts edp-portal (public) and edp-service (internal) with the right issuer`, async () => {
      const run = await runPlatform(stage);
      const ingresses = run.ofType("kubernetes:networking.k8s.io/v1:Ingress").filter((i) => meta(i.inputs).namespace === "edp");
      const byName = Object.fromEntries(ingresses.map((i) => [meta(i.inputs).name, i.inputs]));
      const hostOf = (i: Obj) => ((i.spec as Obj).rules as Obj[])[0].host;
      assert.equal(hostOf(byName["edp-portal"]), `edp-portal.api.${stage}.example-edp.net`);
      assert.equal(hostOf(byName["edp-service"]), `edp-service.api.${stage}.example-edp.internal`);
      const issuer = (i: Obj) => meta(i).annotations?.["cert-manager.io/cluster-issuer"];
      assert.equal(issuer(byName["edp-portal"]), stage === "testing" ? "platform-ca" : "letsencrypt");
      assert.equal(issuer(byName["edp-service"]), "platform-ca");
      assert.equal(run.output("portalUrl").value, `https://edp-portal.api.${stage}.example-edp.net/device-management`);
    });
  }
});
