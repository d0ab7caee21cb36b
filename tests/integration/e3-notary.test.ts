/**
 * Debian's notary-server and notary-signer read the rendered configs: each accepts its config and
 * stops only at the database, which this test deliberately leaves closed.
 * (Running them against PostgreSQL is left to the host; Notary v1 is archived upstream.)
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { type NotaryParams, renderNotaryServerConfig, renderNotarySignerConfig } from "../../components/e3/render/notary";
import { freePort } from "./helpers/net";

describe("Notary reads its rendered configuration", function () {
  this.timeout(60_000);
  let dir: string;
  let params: NotaryParams;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "edp-notary-"));
    const key = path.join(dir, "key.pem");
    const cert = path.join(dir, "cert.pem");
    execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert, "-subj", "/CN=notary-signer", "-addext", "subjectAltName=IP:127.0.0.1", "-days", "1"], { stdio: "ignore" });
    const closedDbPort = await freePort();
    params = {
      serverListen: `127.0.0.1:${await freePort()}`,
      signerHost: "127.0.0.1",
      signerPort: await freePort(),
      postgres: { host: "127.0.0.1", port: closedDbPort },
      serverDb: { name: "notaryserver", user: "notary_server", password: "server-pw" },
      signerDb: { name: "notarysigner", user: "notary_signer", password: "signer-pw" },
      signerKeyAlias: "edp",
      tls: { caFile: cert, signerCertFile: cert, signerKeyFile: key, serverClientCertFile: cert, serverClientKeyFile: key },
    };
    fs.writeFileSync(path.join(dir, "server.json"), renderNotaryServerConfig(params));
    fs.writeFileSync(path.join(dir, "signer.json"), renderNotarySignerConfig(params));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const run = (bin: string, config: string) =>
    spawnSync(bin, ["-config", config], { encoding: "utf8", timeout: 20_000, env: { ...process.env, NOTARY_SIGNER_EDP: "passphrase" } });

  it("notary-signer gets as far as its database", () => {
    const r = run("notary-signer", path.join(dir, "signer.json"));
    assert.match(r.stderr, new RegExp(`dial tcp 127\\.0\\.0\\.1:${params.postgres.port}: connect: connection refused`), r.stderr);
  });

  it("notary-server uses the remote signer and gets as far as its database", () => {
    const r = run("notary-server", path.join(dir, "server.json"));
    assert.match(r.stderr, /Using remote signing service/);
    assert.match(r.stderr, /Using postgres backend/);
    assert.match(r.stderr, new RegExp(`dial tcp 127\\.0\\.0\\.1:${params.postgres.port}`), r.stderr);
  });

  it("notary-server refuses a config it cannot use (the checks above are real)", () => {
    fs.writeFileSync(path.join(dir, "bad.json"), JSON.stringify({ storage: { backend: "postgres" } }));
    const r = run("notary-server", path.join(dir, "bad.json"));
    assert.notEqual(r.status, 0);
    assert.doesNotMatch(r.stderr, /Using postgres backend/);
  });
});
