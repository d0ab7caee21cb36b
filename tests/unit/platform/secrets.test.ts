import assert from "node:assert/strict";
import { FORBIDDEN_PASSWORD_CHARS, htpasswdLine, MANUAL_SECRET_VARIABLES, PASSWORD_SPECIALS, passwordProblem, SECRET_TABLE, tableProblems } from "../../../components/secrets";
import { STAGES } from "../../../config";
import { testPki } from "../../harness/pki";
import { meta, runPlatform } from "./run";
import { edgeKubeconfigStandIns } from "../../../scripts/lib/stand-in-secrets";

describe("the secrets table", () => {
  it("covers every variable and Secret of the manual's table (§3.2.2)", () => {
    assert.deepEqual(tableProblems(SECRET_TABLE, MANUAL_SECRET_VARIABLES), []);
    const manualNames = new Set(Object.values(MANUAL_SECRET_VARIABLES).flat());
    assert.deepEqual(
      [...manualNames].sort(),
      [
        "credential-keycloak",
        "datadirectormangement-files",
        "docker-pull",
        "grafana-credentials",
        "issuer-ca",
        "keycloak-db-secret",
        "loki-basic-auth",
        "pgbouncer-admin-credentials",
        "postgres-admin-credentials",
        "vault-db-credentials",
      ],
    );
  });

  const cases: [string, Parameters<typeof tableProblems>[0], RegExp][] = [
    ["a Secret missing from the table", SECRET_TABLE.filter((s) => s.name !== "issuer-ca"), /ISSUER_CA_CRT: secret issuer-ca is not in the table/],
    [
      "a variable that feeds no key",
      SECRET_TABLE.map((s) => (s.name === "docker-pull" ? { ...s, keys: [{ key: ".dockerconfigjson" }] } : s)),
      /DOCKER_PULL_JSON: no key of docker-pull/,
    ],
    ["a Secret listed twice", [...SECRET_TABLE, SECRET_TABLE[0]], /monitoring\/grafana-credentials is listed twice/],
  ];
  for (const [what, table, problem] of cases) {
    it(`reports ${what}`, () => assert.match(tableProblems(table, MANUAL_SECRET_VARIABLES).join("\n"), problem));
  }
});

describe("password rules", () => {
  it("never lets the generator use a character the manual forbids", () => {
    for (const c of FORBIDDEN_PASSWORD_CHARS) assert.ok(!PASSWORD_SPECIALS.includes(c), JSON.stringify(c));
  });
  const cases: [string, string | undefined][] = [
    ["Abcdefgh12345678-_.~", undefined],
    ["short", "is shorter than 16 characters"],
    ["Abcdefgh12345678@x", 'contains the forbidden character "@"'],
    ["Abcdefgh12345678:x", 'contains the forbidden character ":"'],
    ["Abcdefgh12345678?x", 'contains the forbidden character "?"'],
    ["Abcdefgh12345678&x", 'contains the forbidden character "&"'],
    ["Abcdefgh12345678\nx", 'contains the forbidden character "\\n"'],
    ["Abcdefgh12345678%x", 'contains "%", which is not valid unencoded in a JDBC URL'],
  ];
  for (const [password, problem] of cases) {
    it(`${JSON.stringify(password)} → ${problem ?? "ok"}`, () => assert.equal(passwordProblem(password), problem));
  }
  it("writes htpasswd lines ingress-nginx reads, and refuses a non-bcrypt hash", () => {
    assert.equal(htpasswdLine("loki", "$2a$10$abcdefghijklmnopqrstuv"), "loki:$2a$10$abcdefghijklmnopqrstuv\n");
    assert.throws(() => htpasswdLine("loki", "plain"), /bcrypt/);
    assert.throws(() => htpasswdLine("lo:ki", "$2a$10$x"), /htpasswd user/);
  });
});

describe("platform secrets per stage", function () {
  this.timeout(300_000);

  for (const stage of STAGES) {
    it(`${stage}: every Secret of the table exists with exactly its keys, type and namespace, values secret`, async () => {
      const run = await runPlatform(stage);
      assert.equal(run.error, undefined, run.error);
      const secrets = run.ofType("kubernetes:core/v1:Secret");
      for (const spec of SECRET_TABLE) {
        const found = secrets.filter((s) => meta(s.inputs).name === spec.name);
        assert.equal(found.length, 1, `${spec.name}: ${found.length} Secrets`);
        const [s] = found;
        const expectedNs = { certManager: "cert-manager" }[spec.home as string] ?? spec.home;
        assert.equal(meta(s.inputs).namespace, expectedNs, spec.name);
        assert.equal(s.inputs.type, spec.type, spec.name);
        const stringData = s.inputs.stringData as Record<string, string>;
        assert.deepEqual(Object.keys(stringData).sort(), spec.keys.map((k) => k.key).sort(), spec.name);
        for (const k of spec.keys) {
          assert.ok(stringData[k.key].length > 0, `${spec.name}.${k.key} is empty`);
          const covered = s.secretPaths.some((p) => p === "stringData" || p === `stringData.${k.key}`);
          assert.ok(covered, `${spec.name}.${k.key} is not a Pulumi secret`);
        }
      }
    });
  }

  it("fills loki-basic-auth with an htpasswd line and keeps the password out of plain outputs", async () => {
    const run = await runPlatform("testing");
    const loki = run.ofType("kubernetes:core/v1:Secret").find((s) => meta(s.inputs).name === "loki-basic-auth");
    assert.ok(loki);
    assert.match((loki.inputs.stringData as Record<string, string>).auth, /^loki:\$2a\$10\$[0-9a-f]+\n$/);
    assert.equal(run.output("lokiBasicAuthPassword").secret, true);
    assert.equal(run.output("grafanaAdminPassword").secret, true);
    assert.equal(run.output("issuerCaCertificate").secret, false);
    assert.match(String(run.output("issuerCaCertificate").value), /BEGIN CERTIFICATE/);
  });

  it("generates passwords the manual allows", async () => {
    const run = await runPlatform("staging");
    const generators = run.ofType("random:index/randomPassword:RandomPassword").filter((r) => r.name.startsWith("platform-"));
    assert.ok(generators.length >= 5);
    for (const g of generators) {
      assert.equal(g.inputs.overrideSpecial, PASSWORD_SPECIALS, g.name);
      assert.ok(Number(g.inputs.length) >= 16, g.name);
    }
  });

  it("takes the platform CA from edp:issuerCa when set instead of generating one", async () => {
    // A real CA: the config parses it and checks the key is its key.
    const issuerCa = testPki().ca;
    const run = await runPlatform("production", { secrets: { "edp:issuerCa": issuerCa } });
    assert.equal(run.error, undefined, run.error);
    assert.equal(run.ofType("tls:index/selfSignedCert:SelfSignedCert").length, 0);
    const ca = run.ofType("kubernetes:core/v1:Secret").find((s) => meta(s.inputs).name === "issuer-ca");
    assert.deepEqual(ca?.inputs.stringData, { "tls.crt": issuerCa.crt, "tls.key": issuerCa.key });
  });

  it("refuses to run without the registry's pull credentials", async () => {
    // Without any stand-in but the lab cluster's kubeconfig (it bootstraps directly), so only the pull credentials are missing.
    const run = await runPlatform("testing", { standIns: false, secrets: { "edp:dockerPullJson": undefined, "edp:edgeKubeconfigs": edgeKubeconfigStandIns(JSON.stringify([{ name: "lab-line-1", bootstrap: "direct" }])) } });
    assert.match(run.error ?? "", /edp:dockerPullJson: is required \(secret\)/);
    assert.equal(run.resources.length, 0, "found only after resources were registered");
  });

  it("names each missing GPG value of edp:ddmFiles", async () => {
    const run = await runPlatform("testing", { secrets: { "edp:ddmFiles": { DDM_REV: "1", DDM_SSH_PUB: "ssh-ed25519 AAAA x", EXTRA: "x" } } });
    for (const key of ["DDM_KEY1", "DDM_TRUSTDB", "DDM_SSH_PUB", "EXTRA"]) assert.match(run.error ?? "", new RegExp(`edp:ddmFiles\\.${key}`));
    assert.equal(run.resources.length, 0);
  });
});
