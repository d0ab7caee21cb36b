/** Pure renderers of the E3 host, checked with tables of cases. */
import assert from "node:assert/strict";
import YAML from "yaml";
import { e3AlertRules } from "../../components/e3/render/alerts";
import { execFileSync } from "node:child_process";
import { type ApacheParams, CLIENT_CERT_HEADERS, FOREIGN_CLIENT_CERT_HEADERS, MOZILLA_INTERMEDIATE, renderApacheConfig, UNSAFE_PATH_PATTERN } from "../../components/e3/render/apache";
import { CRL_REFUSALS } from "../../components/e3/render/crl-refresh";
import { CLOUD_ASSISTANT_MAX_CONTENT_BYTES, cloudAssistantParts } from "../../components/e3/render/delivery";
import { type E3File, filesHash, renderApplyScript } from "../../components/e3/render/apply";
import { productionApacheParams } from "../../components/e3/render/bundle";
import { renderDataDiskScript, splitPemCertificates } from "../../components/e3/render/host";
import { renderNotaryDatabaseSql, renderNotaryServerConfig, renderNotarySignerConfig, renderNotarySignerEnv } from "../../components/e3/render/notary";
import { renderRegistryConfig } from "../../components/e3/render/registry";
import { e3IngressRules } from "../../components/e3/rules";
import { TEST_E3_HOSTS } from "../fixtures/e3-hosts";
import { validateObject } from "../harness/k8s-schema";

const HOSTS = TEST_E3_HOSTS;
const prod = (serviceUrl = "https://edp-service.api.testing.example.internal"): ApacheParams => productionApacheParams({ hosts: HOSTS, serviceUrl });
const cert = (n: number) => `-----BEGIN CERTIFICATE-----\nQ0VSVC${n}\n-----END CERTIFICATE-----`;

describe("E3 renderers", () => {
  describe("e3IngressRules", () => {
    const cases: { name: string; adminCidrs: string[]; vpc: string; expect: string[] }[] = [
      {
        name: "one admin network",
        adminCidrs: ["198.51.100.0/24"],
        vpc: "10.20.0.0/16",
        expect: ["443 0.0.0.0/0", "80 0.0.0.0/0", "2222 198.51.100.0/24", "2222 10.20.0.0/16", "9100 198.51.100.0/24", "9100 10.20.0.0/16"],
      },
      { name: "no admin network: the VPC only", adminCidrs: [], vpc: "10.30.0.0/16", expect: ["443 0.0.0.0/0", "80 0.0.0.0/0", "2222 10.30.0.0/16", "9100 10.30.0.0/16"] },
      { name: "an admin network equal to the VPC is not opened twice", adminCidrs: ["10.40.0.0/16"], vpc: "10.40.0.0/16", expect: ["443 0.0.0.0/0", "80 0.0.0.0/0", "2222 10.40.0.0/16", "9100 10.40.0.0/16"] },
    ];
    for (const c of cases) {
      it(c.name, () => {
        const rules = e3IngressRules({ sshPort: 2222, nodeExporterPort: 9100, adminCidrs: c.adminCidrs, vpcCidr: c.vpc });
        assert.deepEqual(rules.map((r) => `${r.port} ${r.cidr}`), c.expect);
        assert.equal(new Set(rules.map((r) => r.key)).size, rules.length, "rule keys are unique");
      });
    }
    it("never opens SSH or the node exporter to the whole internet", () => {
      const rules = e3IngressRules({ sshPort: 2222, nodeExporterPort: 9100, adminCidrs: ["198.51.100.0/24"], vpcCidr: "10.0.0.0/16" });
      assert.ok(rules.filter((r) => r.cidr === "0.0.0.0/0").every((r) => r.port === 443 || r.port === 80));
    });
  });

  describe("renderApacheConfig", () => {
    it("verifies client certificates optionally at the virtual host and never per location", () => {
      const conf = renderApacheConfig(prod());
      assert.doesNotMatch(conf, /SSLVerifyClient require/);
      assert.equal(conf.match(/SSLVerifyClient optional/g)?.length, 5, "one per HTTPS virtual host");
      assert.equal(conf.match(/SSLCARevocationCheck chain/g)?.length, 5);
    });
    it("uses Mozilla's intermediate protocols and ciphers", () => {
      const conf = renderApacheConfig(prod());
      assert.match(conf, /^SSLProtocol -all \+TLSv1\.2 \+TLSv1\.3$/m);
      assert.ok(conf.includes(`SSLCipherSuite ${MOZILLA_INTERMEDIATE.ciphers}`));
      assert.match(conf, /^SSLSessionTickets off$/m);
    });
    it("unsets every client-certificate header early, before it sets any", () => {
      const lines = renderApacheConfig(prod()).split("\n").map((l) => l.trim());
      for (const name of Object.values(CLIENT_CERT_HEADERS)) {
        const unset = lines.indexOf(`RequestHeader unset ${name} early`);
        const set = lines.findIndex((l) => l.startsWith(`RequestHeader set ${name} `));
        assert.ok(unset >= 0 && set > unset, `${name}: unset at ${unset}, set at ${set}`);
        assert.ok(lines.includes(`RequestHeader unset ${name.replace(/-/g, "_")} early`), `${name} underscore spelling`);
      }
    });
    it("exempts only /onboarding/ from the certificate requirement", () => {
      const conf = renderApacheConfig(prod());
      assert.equal(conf.match(/Require all granted/g)?.length, 2, "/onboarding/ and the ACME challenge directory on port 80");
      assert.match(conf, /<Location "\/onboarding\/">\n\s+Require all granted/);
    });
    it("verifies the ingress's certificate when the services are reached over HTTPS, and only then", () => {
      assert.match(renderApacheConfig(prod()), /SSLProxyVerify require/);
      assert.doesNotMatch(renderApacheConfig(prod("http://127.0.0.1:8080")), /SSLProxyEngine/);
    });
    it("routes Notary's trust paths before the registry's /v2/", () => {
      const conf = renderApacheConfig(prod());
      assert.ok(conf.indexOf("_trust") < conf.indexOf('ProxyPass "/v2/"'));
    });
  });

  describe("splitPemCertificates", () => {
    const cases: [string, string, number][] = [
      ["empty", "", 0],
      ["one", cert(1), 1],
      ["two with text between", `subject=x\n${cert(1)}\nissuer=y\n${cert(2)}\n`, 2],
    ];
    for (const [name, bundle, n] of cases) it(name, () => assert.equal(splitPemCertificates(bundle).length, n));
    it("keeps each certificate whole", () => assert.equal(splitPemCertificates(`${cert(1)}\n${cert(2)}`)[1], `${cert(2)}\n`));
  });

  describe("Notary", () => {
    const params = {
      serverListen: "127.0.0.1:4443",
      signerHost: "127.0.0.1",
      signerPort: 7899,
      postgres: { host: "127.0.0.1", port: 5432 },
      serverDb: { name: "notaryserver", user: "notary_server", password: "a-b_c.d~e" },
      signerDb: { name: "notarysigner", user: "notary_signer", password: "p@ss:w/rd'" },
      signerKeyAlias: "edp",
      tls: { caFile: "/ca", signerCertFile: "/sc", signerKeyFile: "/sk", serverClientCertFile: "/cc", serverClientKeyFile: "/ck" },
    };
    it("points the server at the signer over mutual TLS and at its own database", () => {
      const server = JSON.parse(renderNotaryServerConfig(params));
      assert.equal(server.trust_service.type, "remote");
      assert.equal(server.trust_service.tls_client_cert, "/cc");
      assert.equal(server.storage.db_url, "postgres://notary_server:a-b_c.d~e@127.0.0.1:5432/notaryserver?sslmode=disable");
    });
    it("encodes passwords in the signer's database URL and names its passphrase variable after the alias", () => {
      const signer = JSON.parse(renderNotarySignerConfig(params));
      assert.equal(signer.storage.db_url, "postgres://notary_signer:p%40ss%3Aw%2Frd'@127.0.0.1:5432/notarysigner?sslmode=disable");
      assert.equal(signer.storage.default_alias, "edp");
      assert.equal(renderNotarySignerEnv("edp", "p"), "NOTARY_SIGNER_EDP=p\n");
    });
    it("quotes passwords in SQL", () => {
      const sql = renderNotaryDatabaseSql(params);
      assert.match(sql, /ALTER ROLE "notary_signer" WITH LOGIN PASSWORD 'p@ss:w\/rd''';/);
      assert.match(sql, /CREATE TABLE IF NOT EXISTS private_keys/);
      assert.match(sql, /CREATE TABLE IF NOT EXISTS tuf_files/);
    });
  });

  it("renders a registry config that listens on loopback with relative URLs and no deletes", () => {
    const doc = YAML.parse(renderRegistryConfig({ listen: "127.0.0.1:5000", storageDir: "/srv/r", httpSecret: "s" }));
    assert.equal(doc.http.addr, "127.0.0.1:5000");
    assert.equal(doc.http.relativeurls, true);
    assert.equal(doc.storage.delete.enabled, false);
    assert.equal(doc.storage.filesystem.rootdirectory, "/srv/r");
  });

  it("finds the data disk by its serial, not by a device name", () => {
    const script = renderDataDiskScript({ diskId: "d-gw8abc123", mountPoint: "/srv/edp", label: "edp-data", waitSeconds: 60 });
    assert.match(script, /serial='gw8abc123'/);
    assert.doesNotMatch(script, /\/dev\/vd[a-z]/);
    assert.match(script, /if ! blkid -p "\$device"/);
  });

  describe("apply script", () => {
    const f = (path: string, content = "x\n"): E3File => ({ path, content, mode: "0644", owner: "root:root", tag: "apache" });
    const cases: [string, E3File[], RegExp][] = [
      ["a relative path", [f("etc/x")], /bad path/],
      ["a path rendered twice", [f("/etc/x"), f("/etc/x")], /rendered twice/],
      ["a bad mode", [{ ...f("/etc/x"), mode: "644" }], /bad mode/],
      ["a bad owner", [{ ...f("/etc/x"), owner: "root" }], /bad owner/],
    ];
    for (const [name, files, error] of cases) it(`refuses ${name}`, () => assert.throws(() => renderApplyScript(files, [], ""), error));

    it("hashes content, not order", () => {
      assert.equal(filesHash([f("/a"), f("/b")]), filesHash([f("/b"), f("/a")]));
      assert.notEqual(filesHash([f("/a", "1")]), filesHash([f("/a", "2")]));
      assert.notEqual(filesHash([f("/a")]), filesHash([{ ...f("/a"), mode: "0600" }]));
    });
  });

  it("renders a PrometheusRule whose critical CRL alert fires the given hours before nextUpdate", async () => {
    const rule = e3AlertRules({ namespace: "monitoring", stage: "staging", crlRefreshMinutes: 15, crlCriticalHours: 24, labels: { release: "kube-prometheus-stack" } });
    await validateObject(rule as unknown as Record<string, unknown>);
    const soon = rule.spec.groups[0].rules.find((r) => r.alert === "EdpE3CrlExpiresSoon");
    assert.equal(soon?.expr, "edp_e3_crl_next_update_timestamp_seconds - time() < 86400");
    assert.equal(rule.metadata.labels.release, "kube-prometheus-stack");
  });

  it("alerts on each reason a CRL is refused, and before the server certificate expires", () => {
    const rules = e3AlertRules({ namespace: "monitoring", stage: "testing", crlRefreshMinutes: 15, crlCriticalHours: 24 }).spec.groups[0].rules;
    for (const reason of Object.keys(CRL_REFUSALS)) {
      assert.ok(rules.some((r) => r.expr === `edp_e3_crl_refresh_refused{reason="${reason}"} == 1`), reason);
    }
    assert.ok(rules.some((r) => r.alert === "EdpE3ServerCertExpiresSoon" && r.expr.includes("edp_e3_server_cert_not_after_timestamp_seconds")));
  });

  describe("unsafe paths", () => {
    const re = new RegExp(UNSAFE_PATH_PATTERN);
    const cases: [string, boolean][] = [
      ["GET /onboarding/..;/x HTTP/1.1", true],
      ["GET /onboarding/..%5Cx HTTP/1.1", true],
      ["GET /onboarding/..%5cx HTTP/1.1", true],
      ["GET /onboarding/..%252fx HTTP/1.1", true],
      ["GET /onboarding/%2e%2e/x HTTP/1.1", true],
      ["GET /onboarding/..\\x HTTP/1.1", true],
      ["GET /onboarding/register HTTP/1.1", false],
      ["GET /onboarding/register?next=a;b%25 HTTP/1.1", false],
      ["PUT /v2/edge/app/manifests/sha256:0a1b HTTP/1.1", false],
    ];
    for (const [line, refused] of cases) it(`${refused ? "refuses" : "passes"} ${line}`, () => assert.equal(re.test(line), refused));
  });

  it("unsets every foreign client-certificate header, in both spellings, and loads mod_reqtimeout", () => {
    const conf = renderApacheConfig(prod());
    for (const h of FOREIGN_CLIENT_CERT_HEADERS) {
      assert.ok(conf.includes(`RequestHeader unset ${h} early`), h);
      assert.ok(conf.includes(`RequestHeader unset ${h.replace(/-/g, "_")} early`), h);
      assert.ok(!new RegExp(`RequestHeader set ${h} `).test(conf), `${h} is never set`);
    }
    assert.match(conf, /LoadModule reqtimeout_module/);
    assert.match(conf, /RequestReadTimeout header=20-40,MinRate=500/);
  });

  it("lets only operators write to the registry, Notary and Git", () => {
    const conf = renderApacheConfig(prod());
    assert.match(conf, /%\{REQUEST_METHOD\} in \{'GET', 'HEAD'\} \|\| %\{SSL_CLIENT_S_DN_OU\} == 'edp-operators'/);
    assert.match(conf, /%\{SSL_CLIENT_S_DN_OU\} == 'edp-operators' \|\| !\(%\{QUERY_STRING\} =~ \/service=git-receive-pack\//);
  });

  describe("Cloud Assistant parts", () => {
    const script = `#!/bin/bash\necho hello from the apply script\n${"x".repeat(50_000)}\n`;
    it("keep every part under the command size limit and rebuild the script byte for byte", () => {
      const parts = cloudAssistantParts(`${script}`.replace(/x{50000}/, () => Array.from({ length: 2000 }, (_, i) => `: ${i * 7919}`).join("\n")));
      for (const p of parts) assert.ok(Buffer.from(p).toString("base64").length <= CLOUD_ASSISTANT_MAX_CONTENT_BYTES);
      const dir = execFileSync("mktemp", ["-d"], { encoding: "utf8" }).trim();
      try {
        // Run the parts in reverse order: the last one must wait for the others (here: be run after them).
        for (const p of parts.slice(0, -1).reverse()) execFileSync("bash", ["-c", p.replace(/\/run\/edp-apply/g, dir)]);
        const out = execFileSync("bash", ["-c", parts[parts.length - 1].replace(/\/run\/edp-apply/g, dir)], { encoding: "utf8" });
        assert.equal(out, "hello from the apply script\n");
      } finally {
        execFileSync("rm", ["-rf", dir]);
      }
    });
    it("refuses a script that does not fit, saying so", () => {
      const random = Array.from({ length: 40_000 }, (_, i) => ((i * 2654435761) >>> 0).toString(36)).join("");
      assert.throws(() => cloudAssistantParts(random, 2), /does not fit in 2 Cloud Assistant commands/);
    });
  });
});
