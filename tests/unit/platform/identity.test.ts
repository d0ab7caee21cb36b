import assert from "node:assert/strict";
import { envRefsIn, REALM_ENV_REFS, REALM_ROLES, realmJson, renderRealm } from "../../../components/identity";
import { GRAFANA_ROLES } from "../../../components/monitoring";
import { SECRET_TABLE } from "../../../components/secrets";
import { IMAGES } from "../../../components/versions";
import { STAGES } from "../../../config";
import { meta, runPlatform } from "./run";

type Obj = Record<string, unknown>;
const hosts = { grafanaHost: "grafana.api.testing.example.net", portalHost: "edp-portal.api.testing.example.net" };

describe("the platform realm", () => {
  it("holds its secrets only as environment references to the keys of keycloak-realm-secrets", () => {
    const keys = SECRET_TABLE.find((s) => s.name === "keycloak-realm-secrets")?.keys.map((k) => k.key).sort();
    assert.deepEqual(envRefsIn(realmJson(hosts)), keys);
    assert.deepEqual(Object.values(REALM_ENV_REFS).sort(), keys);
  });

  it("finds environment references, with or without a default, and nothing else", () => {
    // Keycloak's ${ENV} reference syntax, not a template literal.
    assert.deepEqual(envRefsIn('{"a":"${B_1}","c":"${A:dflt}","d":"$NOT","e":"${lower}"}'), ["A", "B_1"]);
  });

  it("gives Grafana a confidential client and the portal a public PKCE client on the stage's hosts", () => {
    const realm = renderRealm(hosts) as { clients: Obj[] };
    const grafana = realm.clients.find((c) => c.clientId === "grafana");
    const portal = realm.clients.find((c) => c.clientId === "edp-portal");
    assert.ok(grafana && portal);
    assert.equal(grafana.publicClient, false);
    // Keycloak's ${ENV} reference syntax, not a template literal.
    assert.equal(grafana.secret, "${GRAFANA_CLIENT_SECRET}");
    assert.deepEqual(grafana.redirectUris, ["https://grafana.api.testing.example.net/login/generic_oauth"]);
    assert.equal(portal.publicClient, true);
    assert.ok(!("secret" in portal));
    assert.deepEqual(portal.redirectUris, ["https://edp-portal.api.testing.example.net/device-management/*"]);
    assert.equal((portal.attributes as Obj)["pkce.code.challenge.method"], "S256");
  });

  it("defines the roles Grafana maps", () => {
    for (const role of Object.values(GRAFANA_ROLES)) assert.ok((REALM_ROLES as readonly string[]).includes(role), role);
  });
});

describe("Keycloak per stage", function () {
  this.timeout(300_000);

  for (const stage of STAGES) {
    it(`${stage}: official pinned image, database and admin from the secrets table, realm mounted`, async () => {
      const run = await runPlatform(stage);
      assert.equal(run.error, undefined, run.error);
      const d = run.ofType("kubernetes:apps/v1:Deployment").find((x) => meta(x.inputs).name === "keycloak");
      assert.ok(d);
      const pod = ((d.inputs.spec as Obj).template as Obj).spec as Obj;
      const [c] = pod.containers as Obj[];
      assert.equal(c.image, IMAGES.keycloak);
      assert.match(String(c.image), /^quay\.io\/keycloak\/keycloak:\d+\.\d+\.\d+$/);
      assert.deepEqual(c.args, ["start", "--import-realm"]);
      assert.equal((d.inputs.spec as Obj).replicas, stage === "testing" ? 1 : 2);
      const tableKeys = new Map(SECRET_TABLE.map((s) => [s.name as string, new Set(s.keys.map((k) => k.key as string))]));
      for (const e of c.env as Obj[]) {
        const ref = (e.valueFrom as Obj | undefined)?.secretKeyRef as { name: string; key: string } | undefined;
        if (ref) assert.ok(tableKeys.get(ref.name)?.has(ref.key), `${e.name} reads ${ref.name}.${ref.key}, which the table does not define`);
        else assert.ok(!/PASSWORD|SECRET/.test(String(e.name)), `${e.name} is set in plain text`);
      }
      const envNames = (c.env as Obj[]).map((e) => e.name);
      for (const n of ["KC_DB_URL_HOST", "KC_DB_URL_PORT", "KC_DB_URL_DATABASE", "KC_DB_USERNAME", "KC_DB_PASSWORD", "KC_BOOTSTRAP_ADMIN_PASSWORD"]) assert.ok(envNames.includes(n), n);
      assert.deepEqual(c.envFrom, [{ secretRef: { name: "keycloak-realm-secrets" } }]);
      assert.deepEqual((pod.volumes as Obj[])[0].configMap, { name: "keycloak-realm" });
    });

    it(`${stage}: the realm ConfigMap carries no secret value`, async () => {
      const run = await runPlatform(stage);
      const cm = run.ofType("kubernetes:core/v1:ConfigMap").find((x) => meta(x.inputs).name === "keycloak-realm");
      assert.ok(cm);
      const text = JSON.stringify(cm.inputs.data);
      assert.equal(cm.secretPaths.length, 0);
      assert.deepEqual(envRefsIn(JSON.parse(text)["edp-realm.json"]), ["EDP_ADMIN_PASSWORD", "GRAFANA_CLIENT_SECRET"]);
      for (const s of run.ofType("kubernetes:core/v1:Secret")) {
        for (const value of Object.values((s.inputs.stringData ?? {}) as Record<string, string>)) {
          if (value.length >= 12) assert.ok(!text.includes(value), `a value of ${meta(s.inputs).name} is in the ConfigMap`);
        }
      }
      assert.ok(text.includes(`grafana.api.${stage}.example-edp.net/login/generic_oauth`));
    });

    it(`${stage}: public host serves only realms and resources; the admin console is VPC-internal`, async () => {
      const run = await runPlatform(stage);
      const ing = Object.fromEntries(
        run
          .ofType("kubernetes:networking.k8s.io/v1:Ingress")
          .filter((i) => meta(i.inputs).namespace === "keycloak")
          .map((i) => [meta(i.inputs).name, ((i.inputs.spec as Obj).rules as Obj[])[0]]),
      );
      assert.equal(ing.keycloak.host, `keycloak.api.${stage}.example-edp.net`);
      assert.deepEqual(((ing.keycloak.http as Obj).paths as Obj[]).map((p) => p.path), ["/realms", "/resources"]);
      assert.equal(ing["keycloak-admin"].host, `keycloak.api.${stage}.example-edp.internal`);
      assert.equal(run.output("keycloakAdminUrl").value, `https://keycloak.api.${stage}.example-edp.internal/admin/`);
    });
  }
});
