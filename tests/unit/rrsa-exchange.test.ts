/**
 * The RRSA exchange for real: the bundled clients, exactly as the ConfigMaps ship them, run by
 * node against a loopback HTTPS server standing in for Alibaba STS (it checks the anonymous
 * AssumeRoleWithOIDC call and answers as STS documents), then rclone (Debian's, as the Jobs run
 * it) and the fleet-status exporter use the temporary credentials against loopback stand-ins
 * for OSS that check the session token is sent and signed.
 */
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { fleetExporterBundle } from "../../components/edge/fleet-exporter";
import { stsClientBundle } from "../../components/shared/sts-client";
import { STS_CLIENT } from "../../components/versions";
import { ossV1Signed } from "../harness/alicloud-signatures";

const ROLE_ARN = "acs:ram::1234567890123456:role/edp-testing-pg-backup-writer";
const PROVIDER_ARN = "acs:ram::1234567890123456:oidc-provider/ack-rrsa-c0123456789abcdef";
const TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6cG9zdGdyZXM6cGdiYWNrdXAifQ.c2lnbmF0dXJl";
const STS = {
  AccessKeyId: "STS.NUgYrLnoC37mZZCNnAbez2Mv",
  AccessKeySecret: "CVwjCkNzTMupZ8NbTCxCBRq3K16jtcWFTJAyBEv2",
  SecurityToken: "CAIS8gF1q6Ft5B2yfSjIr5bSM/Tq3vP8tDdRSaS5mH9c1TmOE0UbC6wCR9iRe91j7BwPeDc8c+P2vYHE/qz2SR6vQ0A=",
};

interface StsCall {
  method: string;
  query: URLSearchParams;
  form: URLSearchParams;
}

function selfSignedLoopbackCert(dir: string): { key: string; cert: string; certFile: string } {
  const keyFile = path.join(dir, "sts.key");
  const certFile = path.join(dir, "sts.crt");
  execFileSync("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", keyFile, "-out", certFile,
  ], { stdio: "ignore" });
  return { key: fs.readFileSync(keyFile, "utf8"), cert: fs.readFileSync(certFile, "utf8"), certFile };
}

const listen = (server: http.Server | https.Server) => new Promise<number>((r) => server.listen(0, "127.0.0.1", () => r((server.address() as AddressInfo).port)));
/** node on a file, as the pods run it (never spawnSync: the stand-ins answer from this process). */
function runNode(file: string, env: NodeJS.ProcessEnv): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--no-deprecation", file], { env });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += String(d)));
    child.stderr.on("data", (d) => (stderr += String(d)));
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

async function freePort(): Promise<number> {
  const s = http.createServer();
  const port = await listen(s);
  await new Promise((r) => s.close(r));
  return port;
}

describe("RRSA token exchange, run for real against a stand-in STS", function () {
  this.timeout(60_000);
  let dir: string;
  let sts: https.Server;
  let stsPort: number;
  let caFile: string;
  const calls: StsCall[] = [];
  let stsRefuses = false;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "edp-rrsa-"));
    const tls = selfSignedLoopbackCert(dir);
    caFile = tls.certFile;
    fs.mkdirSync(path.join(dir, "token"));
    fs.writeFileSync(path.join(dir, "token", "token"), TOKEN);
    sts = https.createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
      let body = "";
      req.on("data", (d) => (body += String(d)));
      req.on("end", () => {
        const url = new URL(req.url ?? "/", "https://127.0.0.1");
        const call = { method: req.method ?? "", query: url.searchParams, form: new URLSearchParams(body) };
        calls.push(call);
        const json = (status: number, o: unknown) => res.writeHead(status, { "Content-Type": "application/json" }).end(JSON.stringify(o));
        // As STS answers: the token must be the provider's and trusted by the role.
        if (stsRefuses || call.form.get("OIDCToken") !== TOKEN || call.form.get("RoleArn") !== ROLE_ARN || call.form.get("OIDCProviderArn") !== PROVIDER_ARN) {
          json(400, { RequestId: "r-1", Code: "AuthenticationFail.OIDCToken.Invalid", Message: "The OIDC token is invalid." });
          return;
        }
        json(200, {
          RequestId: "r-2",
          Credentials: { ...STS, Expiration: new Date(Date.now() + 3600_000).toISOString().replace(/\.\d+Z$/, "Z") },
          AssumedRoleUser: { Arn: `${ROLE_ARN}/pgbackup`, AssumedRoleId: "3001:pgbackup" },
          OIDCTokenInfo: { Subject: "system:serviceaccount:postgres:pgbackup", Issuer: "https://oidc-ack", ClientIds: "sts.aliyuncs.com" },
        });
      });
    });
    stsPort = await listen(sts);
  });

  after(() => {
    sts.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const exchangeEnv = (out: string) => ({
    PATH: process.env.PATH ?? "",
    NODE_EXTRA_CA_CERTS: caFile,
    ALIBABA_CLOUD_ROLE_ARN: ROLE_ARN,
    ALIBABA_CLOUD_OIDC_PROVIDER_ARN: PROVIDER_ARN,
    ALIBABA_CLOUD_OIDC_TOKEN_FILE: path.join(dir, "token", "token"),
    ALIBABA_CLOUD_ROLE_SESSION_NAME: "pgbackup",
    EDP_STS_ENDPOINT: `127.0.0.1:${stsPort}`,
    EDP_STS_DURATION_SECONDS: "3300",
    EDP_RCLONE_REMOTE: "oss",
    EDP_RCLONE_CONFIG_OUT: out,
  });

  it("bundles the credentials library at the version versions.ts and package.json pin", () => {
    const pkg = JSON.parse(fs.readFileSync(path.resolve(__dirname, "../../package.json"), "utf8")) as { dependencies: Record<string, string> };
    assert.equal(pkg.dependencies[STS_CLIENT.package], STS_CLIENT.version);
    assert.match(pkg.dependencies.esbuild ?? "", /^\d+\.\d+\.\d+$/, "esbuild, which bundles it, is pinned");
    assert.match(stsClientBundle(), /AssumeRoleWithOIDC/);
  });

  it("exchanges the projected token anonymously and writes the STS credentials for rclone only, printing none of them", async () => {
    const bundle = path.join(dir, "sts-exchange.cjs");
    fs.writeFileSync(bundle, stsClientBundle());
    const out = path.join(dir, "creds", "rclone.conf");
    fs.mkdirSync(path.dirname(out));
    calls.length = 0;
    const res = await runNode(bundle, exchangeEnv(out));
    assert.equal(res.status, 0, res.stderr);
    assert.equal(calls.length, 1);
    const [call] = calls;
    assert.equal(call.method, "POST");
    assert.deepEqual([call.query.get("Action"), call.query.get("Version"), call.query.get("Format")], ["AssumeRoleWithOIDC", "2015-04-01", "JSON"]);
    // Anonymous: no key, no signature (STS authenticates the call by the token).
    for (const p of ["AccessKeyId", "Signature", "SignatureMethod", "SecurityToken"]) assert.ok(!call.query.has(p) && !call.form.has(p), p);
    assert.deepEqual(
      [call.form.get("RoleArn"), call.form.get("OIDCProviderArn"), call.form.get("OIDCToken"), call.form.get("RoleSessionName"), call.form.get("DurationSeconds")],
      [ROLE_ARN, PROVIDER_ARN, TOKEN, "pgbackup", "3300"],
    );
    assert.equal(fs.readFileSync(out, "utf8"), `[oss]\naccess_key_id = ${STS.AccessKeyId}\nsecret_access_key = ${STS.AccessKeySecret}\nsession_token = ${STS.SecurityToken}\n`);
    assert.equal(fs.statSync(out).mode & 0o777, 0o600);
    assert.deepEqual(fs.readdirSync(path.dirname(out)), ["rclone.conf"], "no temporary file left behind");
    const logs = res.stdout + res.stderr;
    assert.match(logs, /assumed acs:ram::1234567890123456:role\/edp-testing-pg-backup-writer/);
    for (const secret of [STS.AccessKeySecret, STS.SecurityToken, TOKEN]) assert.ok(!logs.includes(secret), "a credential in the log");

    // rclone, as the Jobs run it: the remote from RCLONE_CONFIG_OSS_*, the credentials from the file.
    const seen: { auth: string; token: string }[] = [];
    const oss = http.createServer((req, res) => {
      seen.push({ auth: String(req.headers.authorization ?? ""), token: String(req.headers["x-amz-security-token"] ?? "") });
      res.writeHead(200, { "Content-Type": "application/xml" }).end(
        '<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>edp-testing-pgbackup</Name>' +
          "<Prefix>testing/app/</Prefix><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated><Contents><Key>testing/app/20261201T000000Z.complete</Key>" +
          '<LastModified>2026-12-01T00:00:00.000Z</LastModified><ETag>"d41d8cd98f00b204e9800998ecf8427e"</ETag><Size>0</Size><StorageClass>Standard</StorageClass></Contents></ListBucketResult>',
      );
    });
    const ossPort = await listen(oss);
    {
      try {
        const listed = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
          const child = spawn("rclone", ["-q", "lsf", "--files-only", "oss:edp-testing-pgbackup/testing/app/"], {
            env: {
              PATH: process.env.PATH ?? "",
              HOME: dir,
              RCLONE_CONFIG: out,
              RCLONE_CONFIG_OSS_TYPE: "s3",
              // Loopback has no bucket subdomains, and rclone's "Alibaba" provider always addresses
              // <bucket>.<endpoint>; "Other" with path style reaches the stand-in. The credentials
              // path (file, session token, signature) is the s3 backend's either way.
              RCLONE_CONFIG_OSS_PROVIDER: "Other",
              RCLONE_CONFIG_OSS_ENDPOINT: `http://127.0.0.1:${ossPort}`,
              RCLONE_CONFIG_OSS_FORCE_PATH_STYLE: "true",
              RCLONE_CONFIG_OSS_NO_CHECK_BUCKET: "true",
            },
          });
          let stdout = "";
          let stderr = "";
          child.stdout.on("data", (d) => (stdout += String(d)));
          child.stderr.on("data", (d) => (stderr += String(d)));
          child.on("close", (code) => resolve({ code, stdout, stderr }));
        });
        assert.equal(listed.code, 0, listed.stderr);
        assert.equal(listed.stdout.trim(), "20261201T000000Z.complete");
        assert.ok(seen.length > 0);
        for (const s of seen) {
          assert.equal(s.token, STS.SecurityToken, "rclone sends the session token");
          assert.match(s.auth, new RegExp(`Credential=${STS.AccessKeyId}/`), "rclone signs with the temporary key");
        }
      } finally {
        oss.close();
      }
    }
  });

  it("fails, naming STS's answer, and writes nothing when STS refuses the token", async () => {
    const bundle = path.join(dir, "sts-exchange.cjs");
    fs.writeFileSync(bundle, stsClientBundle());
    const out = path.join(dir, "refused", "rclone.conf");
    fs.mkdirSync(path.dirname(out));
    stsRefuses = true;
    try {
      const res = await runNode(bundle, exchangeEnv(out));
      assert.equal(res.status, 1);
      assert.match(res.stderr, /AuthenticationFail\.OIDCToken\.Invalid/);
      assert.ok(!res.stderr.includes(TOKEN));
      assert.deepEqual(fs.readdirSync(path.dirname(out)), []);
    } finally {
      stsRefuses = false;
    }
  });

  it("lets the fleet-status exporter read OSS with its role's session, signed with the session token", async () => {
    const bucket = "edp-testing-manifests";
    const key = "testing/clusters/line-1/status.json";
    const requests: { signed: boolean }[] = [];
    const oss = http.createServer((req, res) => {
      // The session token is sent, and signed as one of the x-oss- headers.
      const token = String(req.headers["x-oss-security-token"] ?? "");
      requests.push({ signed: token === STS.SecurityToken && ossV1Signed("GET", req.headers, `/${bucket}/${key}`, { accessKeyId: STS.AccessKeyId, accessKeySecret: STS.AccessKeySecret }) });
      res.writeHead(404).end("<Code>NoSuchKey</Code>");
    });
    const ossPort = await listen(oss);
    const bundle = path.join(dir, "exporter.cjs");
    fs.writeFileSync(bundle, fleetExporterBundle());
    const metricsPort = await freePort();
    calls.length = 0;
    const child = spawn(process.execPath, ["--no-deprecation", bundle], {
      env: {
        PATH: process.env.PATH ?? "",
        NODE_EXTRA_CA_CERTS: caFile,
        EDP_STAGE: "testing",
        EDP_BUCKET: bucket,
        EDP_OSS_BASE_URL: `http://127.0.0.1:${ossPort}`,
        EDP_CLUSTERS: JSON.stringify([{ cluster: "line-1", key }]),
        EDP_STALE_AFTER_SECONDS: "900",
        EDP_POLL_SECONDS: "600",
        EDP_METRICS_PORT: String(metricsPort),
        ALIBABA_CLOUD_ROLE_ARN: ROLE_ARN,
        ALIBABA_CLOUD_OIDC_PROVIDER_ARN: PROVIDER_ARN,
        ALIBABA_CLOUD_OIDC_TOKEN_FILE: path.join(dir, "token", "token"),
        EDP_STS_ENDPOINT: `127.0.0.1:${stsPort}`,
      },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += String(d)));
    try {
      const deadline = Date.now() + 20_000;
      while (requests.length === 0 && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
      assert.equal(requests.length, 1, `no request reached OSS: ${stderr}`);
      assert.ok(requests[0].signed, "the exporter signs with the STS key and sends its session token");
      assert.equal(calls.length, 1, "one AssumeRoleWithOIDC per session");
      assert.equal(calls[0].form.get("OIDCToken"), TOKEN);
    } finally {
      child.kill();
      oss.close();
    }
  });
});
