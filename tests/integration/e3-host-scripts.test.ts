/**
 * The E3 host's first-boot user data and shell scripts, run for real: `cloud-init schema` on the
 * user data, `bash -n` on every rendered script, and the apply script writing into a temp root.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { renderApplyScript } from "../../components/e3/render/apply";
import { type E3Settings, renderE3Files, renderHostSteps } from "../../components/e3/render/bundle";
import { renderCloudInit } from "../../components/e3/render/cloud-init";
import { STAGES } from "../../config";
import { readStackConfig } from "../../scripts/lib/mock-runtime";
import { TEST_E3_HOSTS } from "../fixtures/e3-hosts";
import { ROOT } from "../harness/stage";

const cert = (n: number) => `-----BEGIN CERTIFICATE-----\nQ0VSVC${n}\n-----END CERTIFICATE-----\n`;

function settings(over: Partial<E3Settings> = {}): E3Settings {
  return {
    stage: "testing",
    hosts: TEST_E3_HOSTS,
    serviceUrl: "https://edp-service.example.internal",
    crlUrl: "https://edp-service.example.internal/vault/v1/pki-devices/crl/pem",
    deviceCaPem: cert(0),
    serverCertPem: cert(9),
    serverKeyPem: "-----BEGIN PRIVATE KEY-----\nS0VZ\n-----END PRIVATE KEY-----\n",
    platformCaPem: cert(8),
    acme: { directoryUrl: "https://acme.example.net/directory" },
    sshPort: 2222,
    nodeExporterPort: 9100,
    crlRefreshMinutes: 15,
    customCaBundle: `${cert(1)}${cert(2)}`,
    dataDiskId: "d-gw8test",
    packages: { upstream: "packages@master.example.net:/srv/debian", upstreamPort: 22, privateKeyOpenssh: "PRIVATE\n", publicKeyOpenssh: "ssh-ed25519 AAAA" },
    registryHttpSecret: "registry-secret",
    notary: {
      serverDbPassword: "pw1",
      signerDbPassword: "pw2",
      signerPassphrase: "pw3",
      caPem: cert(3),
      signerCertPem: cert(4),
      signerKeyPem: "k1",
      serverCertPem: cert(5),
      serverKeyPem: "k2",
    },
    ...over,
  };
}

describe("E3 host scripts, run for real", function () {
  this.timeout(60_000);
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "edp-e3-host-"));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const schema = (file: string) => spawnSync("cloud-init", ["schema", "--config-file", file], { encoding: "utf8" });

  for (const stage of STAGES) {
    it(`renders user data that cloud-init's schema accepts (${stage})`, () => {
      const e3 = JSON.parse(readStackConfig(path.join(ROOT, `Pulumi.${stage}.yaml`))["edp:e3"]) as { sshPort: number };
      const file = path.join(dir, `user-data-${stage}.yaml`);
      fs.writeFileSync(file, renderCloudInit({ hostname: `e3-${stage}`, sshPort: e3.sshPort, deploy: { user: "edp-deploy", publicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample" } }));
      const r = schema(file);
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /Valid cloud-config/);
    });
  }

  it("has a schema check that rejects broken user data (the check above is real)", () => {
    const file = path.join(dir, "broken.yaml");
    fs.writeFileSync(file, "#cloud-config\npackages: 3\nusers: {name: x}\n");
    assert.notEqual(schema(file).status, 0);
  });

  it("renders shell scripts bash can parse", () => {
    const { files, managedDirs } = renderE3Files(settings());
    const scripts = files.filter((f) => f.content.startsWith("#!/bin/bash"));
    assert.ok(scripts.length >= 3, `${scripts.length} scripts`);
    scripts.push({ path: "/apply", content: renderApplyScript(files, managedDirs, renderHostSteps()), mode: "0700", owner: "root:root", tag: "x" });
    for (const s of scripts) {
      const file = path.join(dir, path.basename(s.path));
      fs.writeFileSync(file, s.content);
      const r = spawnSync("bash", ["-n", file], { encoding: "utf8" });
      assert.equal(r.status, 0, `${s.path}: ${r.stderr}`);
    }
  });

  describe("apply script into a temp root", () => {
    const apply = (s: E3Settings, root: string) => {
      const { files, managedDirs, dirs } = renderE3Files(s);
      return execFileSync("bash", ["-s"], { input: renderApplyScript(files, managedDirs, renderHostSteps(), dirs), env: { ...process.env, EDP_APPLY_ROOT: root }, encoding: "utf8" })
        .split("\n")
        .filter(Boolean);
    };
    let root: string;
    before(() => {
      root = path.join(dir, "root");
    });

    it("writes every file with its mode on the first run", () => {
      const changed = apply(settings(), root);
      assert.ok(changed.includes("changed: apache") && changed.includes("changed: notary") && changed.includes("changed: ca"), changed.join(", "));
      const key = fs.statSync(path.join(root, "etc/edp/tls/bootstrap.key"));
      assert.equal(key.mode & 0o777, 0o600);
      assert.equal(fs.readFileSync(path.join(root, "etc/edp/tls/device-ca.pem"), "utf8"), cert(0));
      assert.match(fs.readFileSync(path.join(root, "etc/apache2/apache2.conf"), "utf8"), /SSLCARevocationFile "\/etc\/edp\/tls\/device-crl\.pem"/);
      assert.equal(fs.readFileSync(path.join(root, "usr/local/share/ca-certificates/edp/edp-custom-2.crt"), "utf8"), cert(2));
    });

    it("changes nothing when run again with the same settings", () => {
      assert.deepEqual(apply(settings(), root), []);
    });

    it("reports only the group whose file changed", () => {
      assert.deepEqual(apply(settings({ crlRefreshMinutes: 20 }), root), ["changed: units"]);
      assert.match(fs.readFileSync(path.join(root, "etc/systemd/system/edp-crl-refresh.timer"), "utf8"), /OnUnitActiveSec=20min/);
    });

    it("removes a custom CA certificate that left the bundle (and Apache's proxy trust changes with it)", () => {
      assert.deepEqual(apply(settings({ crlRefreshMinutes: 20, customCaBundle: cert(1) }), root), ["changed: apache", "changed: ca"]);
      assert.ok(fs.existsSync(path.join(root, "usr/local/share/ca-certificates/edp/edp-custom-1.crt")));
      assert.ok(!fs.existsSync(path.join(root, "usr/local/share/ca-certificates/edp/edp-custom-2.crt")));
    });
  });
});
