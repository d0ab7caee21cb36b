import assert from "node:assert/strict";
import { envRefsIn, REALM_ENV_REFS, REALM_FILE, REALM_ROLES, realmApplyJob, realmChecksum, realmJson, renderRealm, resolveRealm } from "../../../components/identity";
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

  it("is resolved with the values of its references, JSON-escaped, and refuses a reference without a value", () => {
    const values = { GRAFANA_CLIENT_SECRET: 'se"cr\\et', EDP_ADMIN_PASSWORD: "admin-pw" };
    const realm = JSON.parse(resolveRealm(realmJson(hosts), values)) as { clients: Obj[]; users: { credentials: Obj[] }[] };
    assert.equal(realm.clients.find((c) => c.clientId === "grafana")?.secret, values.GRAFANA_CLIENT_SECRET);
    assert.equal(realm.users[0].credentials[0].value, "admin-pw");
    assert.throws(() => resolveRealm(realmJson(hosts), { GRAFANA_CLIENT_SECRET: "x" }), /references EDP_ADMIN_PASSWORD, which keycloak-realm-secrets does not provide/);
  });

  it("sets the admin's password only when keycloak-config-cli creates the user (userLabel initial)", () => {
    const realm = renderRealm(hosts) as { users: { username: string; credentials: Obj[] }[] };
    assert.deepEqual(realm.users.map((u) => [u.username, u.credentials.map((c) => c.userLabel)]), [["admin", ["initial"]]]);
  });

  describe("a realm change reaches the running Keycloak: it makes a different keycloak-config-cli Job", () => {
    const values = { GRAFANA_CLIENT_SECRET: "grafana-client-secret-0123456789", EDP_ADMIN_PASSWORD: "admin-password-0123456789" };
    const template = (json: string) => {
      const job = realmApplyJob({ namespace: "keycloak", realmSecret: "keycloak-realm", adminSecret: "credential-keycloak", checksum: realmChecksum(json) });
      return JSON.stringify((job.spec as unknown as Obj).template);
    };
    const base = resolveRealm(realmJson(hosts), values);
    const cases: [string, string][] = [
      ["a rotated Grafana client secret", resolveRealm(realmJson(hosts), { ...values, GRAFANA_CLIENT_SECRET: "rotated-client-secret-9876543210" })],
      ["a new redirect URI (Grafana on another host)", resolveRealm(realmJson({ ...hosts, grafanaHost: "grafana.example.org" }), values)],
      ["a new portal host", resolveRealm(realmJson({ ...hosts, portalHost: "portal.example.org" }), values)],
    ];
    for (const [what, changed] of cases) {
      it(`${what} changes the Job's pod template, so Pulumi replaces the Job and the new one applies it`, () => {
        assert.notEqual(template(changed), template(base));
      });
    }
    it("the same realm keeps the same Job (nothing re-applied without a change)", () => {
      assert.equal(template(resolveRealm(realmJson(hosts), { ...values })), template(base));
    });
  });

  it("defines the roles Grafana maps", () => {
    for (const role of Object.values(GRAFANA_ROLES)) assert.ok((REALM_ROLES as readonly string[]).includes(role), role);
  });
});

describe("Keycloak per stage", function () {
  this.timeout(300_000);

  for (const stage of STAGES) {
    it(`${stage}: official pinned image, database and admin from the secrets table, no start-time realm import`, async () => {
      const run = await runPlatform(stage);
      assert.equal(run.error, undefined, run.error);
      const d = run.ofType("kubernetes:apps/v1:Deployment").find((x) => meta(x.inputs).name === "keycloak");
      assert.ok(d);
      const pod = ((d.inputs.spec as Obj).template as Obj).spec as Obj;
      const [c] = pod.containers as Obj[];
      assert.equal(c.image, IMAGES.keycloak);
      assert.match(String(c.image), /^quay\.io\/keycloak\/keycloak:\d+\.\d+\.\d+$/);
      // --import-realm skips a realm that exists, so a change would never reach a running stage.
      assert.deepEqual(c.args, ["start"]);
      assert.equal((d.inputs.spec as Obj).replicas, stage === "testing" ? 1 : 2);
      const tableKeys = new Map(SECRET_TABLE.map((s) => [s.name as string, new Set(s.keys.map((k) => k.key as string))]));
      for (const e of c.env as Obj[]) {
        const ref = (e.valueFrom as Obj | undefined)?.secretKeyRef as { name: string; key: string } | undefined;
        if (ref) assert.ok(tableKeys.get(ref.name)?.has(ref.key), `${e.name} reads ${ref.name}.${ref.key}, which the table does not define`);
        else assert.ok(!/PASSWORD|SECRET/.test(String(e.name)), `${e.name} is set in plain text`);
      }
      const envNames = (c.env as Obj[]).map((e) => e.name);
      for (const n of ["KC_DB_URL_HOST", "KC_DB_URL_PORT", "KC_DB_URL_DATABASE", "KC_DB_USERNAME", "KC_DB_PASSWORD", "KC_BOOTSTRAP_ADMIN_PASSWORD"]) assert.ok(envNames.includes(n), n);
    });

    it(`${stage}: the realm, with its secrets, is only in a Secret; no ConfigMap carries it or a secret of it`, async () => {
      const run = await runPlatform(stage);
      const secret = run.ofType("kubernetes:core/v1:Secret").find((x) => meta(x.inputs).name === "keycloak-realm");
      assert.ok(secret, "no keycloak-realm Secret");
      assert.ok(secret.secretPaths.some((p) => p === "stringData" || p === `stringData.${REALM_FILE}`), "the realm file is not a Pulumi secret");
      const file = String((secret.inputs.stringData as Record<string, string>)[REALM_FILE]);
      assert.deepEqual(envRefsIn(file), [], "a reference was left unresolved");
      const realmValues = run.ofType("kubernetes:core/v1:Secret").find((x) => meta(x.inputs).name === "keycloak-realm-secrets");
      assert.ok(realmValues);
      const values = realmValues.inputs.stringData as Record<string, string>;
      const realm = JSON.parse(file) as { clients: Obj[] };
      assert.equal(realm.clients.find((c) => c.clientId === "grafana")?.secret, values.GRAFANA_CLIENT_SECRET);
      assert.ok(file.includes(`grafana.api.${stage}.example-edp.net/login/generic_oauth`));
      for (const cm of run.ofType("kubernetes:core/v1:ConfigMap")) {
        const text = JSON.stringify(cm.inputs.data ?? {});
        assert.ok(!text.includes(REALM_FILE) && !text.includes('"realm": "edp"'), `ConfigMap ${meta(cm.inputs).name} carries the realm`);
        for (const v of Object.values(values)) assert.ok(!text.includes(v), `ConfigMap ${meta(cm.inputs).name} carries a realm secret`);
      }
    });

    it(`${stage}: keycloak-config-cli (pinned) applies that Secret after Keycloak is up, in a Job keyed by the realm's checksum`, async () => {
      const run = await runPlatform(stage);
      const jobs = run.ofType("kubernetes:batch/v1:Job").filter((j) => meta(j.inputs).namespace === "keycloak");
      assert.equal(jobs.length, 1);
      const [job] = jobs;
      assert.equal(meta(job.inputs).name, undefined, "a named Job could not be replaced create-before-delete");
      const template = (job.inputs.spec as Obj).template as Obj;
      const pod = template.spec as Obj;
      const [c] = pod.containers as Obj[];
      assert.equal(c.image, IMAGES.keycloakConfigCli);
      assert.match(String(c.image), /^docker\.io\/adorsys\/keycloak-config-cli:\d+\.\d+\.\d+-\d+\.\d+\.\d+$/);
      assert.deepEqual((pod.volumes as Obj[]).find((v) => v.name === "realm"), { name: "realm", secret: { secretName: "keycloak-realm", defaultMode: 0o440 } });
      const env = Object.fromEntries((c.env as Obj[]).map((e) => [e.name, e.value ?? (e.valueFrom as Obj).secretKeyRef]));
      assert.equal(env.KEYCLOAK_URL, "http://keycloak.keycloak.svc:8080");
      assert.deepEqual(env.KEYCLOAK_PASSWORD, { name: "credential-keycloak", key: "ADMIN_PASSWORD" });
      assert.equal(env.IMPORT_FILES_LOCATIONS, "/config/*");
      const secret = run.ofType("kubernetes:core/v1:Secret").find((x) => meta(x.inputs).name === "keycloak-realm");
      const file = String((secret?.inputs.stringData as Record<string, string>)[REALM_FILE]);
      assert.equal((template.metadata as Obj & { annotations: Record<string, string> }).annotations["edp/realm-checksum"], realmChecksum(file));
      const deployment = run.ofType("kubernetes:apps/v1:Deployment").find((x) => meta(x.inputs).name === "keycloak");
      assert.ok(deployment && job.options.dependsOn.includes(deployment.urn), "the Job must wait for Keycloak's rollout");
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
