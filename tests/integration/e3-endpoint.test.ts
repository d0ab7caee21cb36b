/**
 * The E3 configuration running for real on loopback: Debian's apache2 with the rendered
 * apache2.conf, Debian's docker-registry with the rendered config behind it, a node backend
 * standing in for the cluster's ingress, certificates made here with openssl, and the rendered
 * CRL refresh script fetching a new CRL from a loopback HTTP server. Each server starts once.
 */
import assert from "node:assert/strict";
import { type ChildProcess, execFile, execFileSync, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import type * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { type ApacheParams, renderApacheConfig } from "../../components/e3/render/apache";
import { CRL_METRICS, renderCrlRefreshScript } from "../../components/e3/render/crl-refresh";
import { renderRegistryConfig } from "../../components/e3/render/registry";
import { type Issued, TestCa } from "./helpers/pki";
import { curl, type EchoServer, freePort, startEchoServer, waitForPort } from "./helpers/net";

const HOSTS = {
  docker: "edp-docker.api.testing.example-edp.net",
  git: "edp-git.api.testing.example-edp.net",
  monitoring: "edp-monitoring.api.testing.example-edp.net",
  onboarding: "edp-onboarding.api.testing.example-edp.net",
  packages: "edp-packages.api.testing.example-edp.net",
  access: "edp-access.api.testing.example-edp.net",
};

interface Echo {
  method: string;
  url: string;
  headers: Record<string, string>;
}

describe("E3 on loopback: Apache mTLS with CRL, registry, CRL refresh", function () {
  this.timeout(120_000);

  let dir: string;
  let deviceCa: TestCa;
  let otherCa: TestCa;
  let server: Issued;
  const device: Record<"valid" | "revoked" | "expired" | "foreign" | "laterRevoked" | "operator", Issued> = {} as never;
  let params: ApacheParams;
  let confFile: string;
  let apache: ChildProcess | undefined;
  let registry: ChildProcess | undefined;
  let backend: EchoServer;
  let crlServer: http.Server;
  let crlServerPort: number;
  let servedCrl = "";

  /** curl against Apache's HTTPS port with the name resolved to loopback. */
  const https = (host: string, urlPath: string, as?: Issued, extra: string[] = []) =>
    curl([
      "--resolve", `${host}:${params.httpsPort}:127.0.0.1`,
      "--cacert", server.cert.replace(/server\.pem$/, "ca.pem"),
      ...(as ? ["--cert", as.cert, "--key", as.key] : []),
      ...extra,
      `https://${host}:${params.httpsPort}${urlPath}`,
    ]);

  const rejected = (r: { exitCode: number; status: number }) => r.exitCode !== 0 || r.status === 403;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "edp-e3-"));
    fs.chmodSync(dir, 0o755);
    for (const d of ["logs", "run", "git", "packages", "acme", "registry", "textfile"]) fs.mkdirSync(path.join(dir, d), { recursive: true });

    const serverCa = new TestCa(path.join(dir, "pki-server"), "EDP test platform CA");
    server = serverCa.issue("server", "server", { dnsNames: Object.values(HOSTS) });
    deviceCa = new TestCa(path.join(dir, "pki-device"), "EDP test device CA");
    otherCa = new TestCa(path.join(dir, "pki-other"), "Some other CA");
    device.valid = deviceCa.issue("device-valid", "client");
    device.revoked = deviceCa.issue("device-revoked", "client");
    device.laterRevoked = deviceCa.issue("device-later-revoked", "client");
    device.expired = deviceCa.issue("device-expired", "client", { validity: { start: "20200101000000Z", end: "20200102000000Z" } });
    device.foreign = otherCa.issue("device-foreign", "client");
    device.operator = deviceCa.issue("operator", "client", { ou: "edp-operators" });
    deviceCa.revoke(device.revoked);
    deviceCa.crl(path.join(dir, "crl.pem"));

    backend = await startEchoServer();
    crlServer = http.createServer((_req, res) => res.end(servedCrl));
    await new Promise<void>((resolve) => crlServer.listen(0, "127.0.0.1", resolve));
    crlServerPort = (crlServer.address() as net.AddressInfo).port;

    const registryPort = await freePort();
    const registryConf = path.join(dir, "registry.yml");
    fs.writeFileSync(registryConf, renderRegistryConfig({ listen: `127.0.0.1:${registryPort}`, storageDir: path.join(dir, "registry"), httpSecret: "test-secret-for-upload-state" }));
    registry = spawn("docker-registry", ["serve", registryConf], { stdio: "ignore" });

    // A bare repository for the Git-over-HTTPS check; the CGI runs as www-data.
    execFileSync("git", ["init", "--quiet", "--bare", "-b", "main", path.join(dir, "git", "device-1.git")]);
    const work = path.join(dir, "work");
    execFileSync("git", ["init", "--quiet", "-b", "main", work]);
    fs.writeFileSync(path.join(work, "README"), "device repository\n");
    execFileSync("git", ["-C", work, "add", "README"]);
    execFileSync("git", ["-C", work, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "--quiet", "-m", "first"]);
    execFileSync("git", ["-C", work, "push", "--quiet", path.join(dir, "git", "device-1.git"), "main"]);
    execFileSync("chmod", ["-R", "a+rX", path.join(dir, "git")]);
    fs.writeFileSync(path.join(dir, "packages", "Release"), "Origin: EDP test\n");
    fs.chmodSync(path.join(dir, "packages", "Release"), 0o644);

    params = {
      serverRoot: dir,
      modulesDir: "/usr/lib/apache2/modules",
      listenAddress: "127.0.0.1",
      httpsPort: await freePort(),
      httpPort: await freePort(),
      runUser: "www-data",
      runGroup: "www-data",
      pidFile: path.join(dir, "run", "apache2.pid"),
      runtimeDir: path.join(dir, "run"),
      logDir: path.join(dir, "logs"),
      mimeTypesFile: "/etc/mime.types",
      hosts: HOSTS,
      tls: { certFile: server.cert, keyFile: server.key, deviceCaFile: deviceCa.cert, crlFile: path.join(dir, "crl.pem") },
      serviceUrl: `http://127.0.0.1:${backend.port}`,
      serviceCaFile: "/etc/ssl/certs/ca-certificates.crt",
      registryUrl: `http://127.0.0.1:${registryPort}`,
      // The echo backend stands in for notary-server: the tests check which paths reach it.
      notaryUrl: `http://127.0.0.1:${backend.port}/notary`,
      packagesDir: path.join(dir, "packages"),
      gitRoot: path.join(dir, "git"),
      gitHttpBackend: "/usr/lib/git-core/git-http-backend",
      acmeWebroot: path.join(dir, "acme"),
      operatorOu: "edp-operators",
    };
    confFile = path.join(dir, "apache2.conf");
    fs.writeFileSync(confFile, renderApacheConfig(params));
    apache = spawn("apache2", ["-f", confFile, "-DFOREGROUND"], { stdio: ["ignore", "ignore", "pipe"] });
    let apacheErr = "";
    apache.stderr?.on("data", (d) => {
      apacheErr += String(d);
    });
    await waitForPort(params.httpsPort).catch((e) => {
      throw new Error(`${e.message}\n${apacheErr}\n${fs.existsSync(path.join(dir, "logs/error.log")) ? fs.readFileSync(path.join(dir, "logs/error.log"), "utf8") : ""}`);
    });
    await waitForPort(registryPort);
  });

  after(async () => {
    apache?.kill("SIGTERM");
    registry?.kill("SIGTERM");
    backend?.server.close();
    crlServer?.close();
    await new Promise((r) => setTimeout(r, 300));
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("passes apache2 -t", () => {
    const out = execFileSync("apache2", ["-t", "-f", confFile], { stdio: ["ignore", "pipe", "pipe"] }).toString();
    assert.equal(out, "");
  });

  it("proxies a request with a valid device certificate to the backend, with the certificate's headers", async () => {
    const r = await https(HOSTS.monitoring, "/monitoring/api/v1/monitoring/container", device.valid);
    assert.equal(r.status, 200, r.stderr);
    const echo = JSON.parse(r.body) as Echo;
    assert.equal(echo.url, "/monitoring/api/v1/monitoring/container");
    assert.equal(echo.headers["x-ssl-client-verify"], "SUCCESS");
    assert.match(echo.headers["x-ssl-client-s-dn"], /CN=device-valid/);
    assert.match(echo.headers["x-ssl-client-cert"], /^-----BEGIN CERTIFICATE----- /);
  });

  it("negotiates TLS 1.3 and refuses TLS 1.1", async () => {
    const ok = await https(HOSTS.onboarding, "/onboarding/health", undefined, ["--tlsv1.3"]);
    assert.equal(ok.exitCode, 0, ok.stderr);
    const old = await https(HOSTS.onboarding, "/onboarding/health", undefined, ["--tlsv1.1", "--tls-max", "1.1"]);
    assert.notEqual(old.exitCode, 0);
  });

  it("proxies /onboarding/ without a client certificate", async () => {
    const r = await https(HOSTS.onboarding, "/onboarding/health");
    assert.equal(r.status, 200, r.stderr);
    const echo = JSON.parse(r.body) as Echo;
    assert.equal(echo.url, "/onboarding/health");
    assert.equal(echo.headers["x-ssl-client-verify"], "NONE");
  });

  it("rejects every other path without a client certificate (403)", async () => {
    for (const [host, p] of [
      [HOSTS.monitoring, "/monitoring/x"],
      [HOSTS.access, "/vault/v1/sys/health"],
      [HOSTS.docker, "/v2/"],
      [HOSTS.git, "/device-1.git/info/refs?service=git-upload-pack"],
      [HOSTS.packages, "/Release"],
    ]) {
      const r = await https(host, p);
      assert.equal(r.status, 403, `${host}${p}: ${r.status}`);
    }
  });

  for (const kind of ["revoked", "foreign", "expired"] as const) {
    it(`rejects a ${kind} client certificate`, async () => {
      const r = await https(HOSTS.monitoring, "/monitoring/x", device[kind]);
      assert.ok(rejected(r), `${kind}: exit ${r.exitCode}, status ${r.status}, body ${r.body}`);
      assert.notEqual(r.status, 200);
    });
  }

  it("strips spoofed client-certificate headers before setting its own", async () => {
    const spoof = ["-H", "X-SSL-Client-S-DN: CN=admin", "-H", "X_SSL_Client_Cert: forged", "-H", "X-SSL-Client-Serial: 01"];
    const withCert = JSON.parse((await https(HOSTS.monitoring, "/monitoring/x", device.valid, spoof)).body) as Echo;
    assert.match(withCert.headers["x-ssl-client-s-dn"], /CN=device-valid/);
    assert.equal(withCert.headers.x_ssl_client_cert, undefined);
    assert.notEqual(withCert.headers["x-ssl-client-serial"], "01");

    const anon = await https(HOSTS.onboarding, "/onboarding/x", undefined, ["-H", "X-SSL-Client-Verify: SUCCESS", "-H", "X-SSL-Client-S-DN: CN=admin"]);
    const echo = JSON.parse(anon.body) as Echo;
    assert.equal(echo.headers["x-ssl-client-verify"], "NONE");
    assert.equal(echo.headers["x-ssl-client-s-dn"], undefined);
  });

  it("sends Notary's trust paths to notary-server and the rest of /v2/ to the registry", async () => {
    const trust = await https(HOSTS.docker, "/v2/edge/app/_trust/tuf/root.json", device.valid);
    assert.equal((JSON.parse(trust.body) as Echo).url, "/notary/v2/edge/app/_trust/tuf/root.json");
    const base = await https(HOSTS.docker, "/v2/", device.valid);
    assert.equal(base.status, 200);
    assert.match(base.headers, /docker-distribution-api-version: registry\/2\.0/i);
  });

  it("lets the registry take an operator's upload and serve a blob and a manifest to a device", async () => {
    const refusedUpload = await https(HOSTS.docker, "/v2/edge/app/blobs/uploads/", device.valid, ["-X", "POST"]);
    assert.equal(refusedUpload.status, 403, "a device may not push");
    const blob = Buffer.from("edge layer content\n");
    const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] } }));
    const digest = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;
    const files = path.join(dir, "upload");
    fs.mkdirSync(files, { recursive: true });
    for (const [name, content] of [["layer", blob], ["config", config]] as const) {
      fs.writeFileSync(path.join(files, name), content);
      const start = await https(HOSTS.docker, "/v2/edge/app/blobs/uploads/", device.operator, ["-X", "POST"]);
      assert.equal(start.status, 202, start.headers);
      const location = /^location: (.+)$/im.exec(start.headers)?.[1].trim() ?? "";
      assert.ok(location.startsWith("/v2/edge/app/blobs/uploads/"), location);
      const sep = location.includes("?") ? "&" : "?";
      const put = await https(HOSTS.docker, `${location}${sep}digest=${encodeURIComponent(digest(content))}`, device.operator, [
        "-X", "PUT", "-H", "Content-Type: application/octet-stream", "--data-binary", `@${path.join(files, name)}`,
      ]);
      assert.equal(put.status, 201, put.headers);
    }
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.docker.distribution.manifest.v2+json",
      config: { mediaType: "application/vnd.docker.container.image.v1+json", size: config.length, digest: digest(config) },
      layers: [{ mediaType: "application/vnd.docker.image.rootfs.diff.tar.gzip", size: blob.length, digest: digest(blob) }],
    });
    fs.writeFileSync(path.join(files, "manifest"), manifest);
    const putManifest = await https(HOSTS.docker, "/v2/edge/app/manifests/1.0.0", device.operator, [
      "-X", "PUT", "-H", "Content-Type: application/vnd.docker.distribution.manifest.v2+json", "--data-binary", `@${path.join(files, "manifest")}`,
    ]);
    assert.equal(putManifest.status, 201, putManifest.headers);

    const getManifest = await https(HOSTS.docker, "/v2/edge/app/manifests/1.0.0", device.valid, ["-H", "Accept: application/vnd.docker.distribution.manifest.v2+json"]);
    assert.equal(getManifest.status, 200);
    assert.equal(getManifest.body, manifest);
    const getBlob = await https(HOSTS.docker, `/v2/edge/app/blobs/${digest(blob)}`, device.valid, ["--location"]);
    assert.equal(getBlob.status, 200);
    assert.equal(getBlob.body, blob.toString());
    const anonymous = await https(HOSTS.docker, `/v2/edge/app/blobs/${digest(blob)}`);
    assert.equal(anonymous.status, 403);
  });

  it("serves Git repositories (read-only) and packages over HTTPS to a valid certificate", async () => {
    const clone = path.join(dir, "clone");
    execFileSync("git", ["-c", `http.curloptResolve=${HOSTS.git}:${params.httpsPort}:127.0.0.1`, "clone", "--quiet", `https://${HOSTS.git}:${params.httpsPort}/device-1.git`, clone], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, GIT_SSL_CAINFO: path.join(dir, "pki-server", "ca.pem"), GIT_SSL_CERT: device.valid.cert, GIT_SSL_KEY: device.valid.key },
    });
    assert.equal(fs.readFileSync(path.join(clone, "README"), "utf8"), "device repository\n");
    // Read-only: git-http-backend refuses receive-pack without an authenticated user.
    fs.writeFileSync(path.join(clone, "NEW"), "x\n");
    execFileSync("git", ["-C", clone, "add", "NEW"]);
    execFileSync("git", ["-C", clone, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "--quiet", "-m", "device push"]);
    const push = spawnSync("git", ["-C", clone, "-c", `http.curloptResolve=${HOSTS.git}:${params.httpsPort}:127.0.0.1`, "push", "origin", "main"], {
      encoding: "utf8",
      env: { ...process.env, GIT_SSL_CAINFO: path.join(dir, "pki-server", "ca.pem"), GIT_SSL_CERT: device.valid.cert, GIT_SSL_KEY: device.valid.key, GIT_TERMINAL_PROMPT: "0" },
    });
    assert.notEqual(push.status, 0, "a push over HTTPS must fail");
    assert.match(push.stderr, /403/);
    const release = await https(HOSTS.packages, "/Release", device.valid);
    assert.equal(release.status, 200);
    assert.equal(release.body, "Origin: EDP test\n");
  });

  it("redirects plain HTTP to HTTPS except for ACME challenges", async () => {
    const challengeDir = path.join(dir, "acme", ".well-known", "acme-challenge");
    fs.mkdirSync(challengeDir, { recursive: true });
    fs.writeFileSync(path.join(challengeDir, "token-1"), "token-1.thumbprint");
    execFileSync("chmod", ["-R", "a+rX", path.join(dir, "acme")]);
    const challenge = await curl(["--resolve", `${HOSTS.packages}:${params.httpPort}:127.0.0.1`, `http://${HOSTS.packages}:${params.httpPort}/.well-known/acme-challenge/token-1`]);
    assert.equal(challenge.status, 200);
    assert.equal(challenge.body, "token-1.thumbprint");
    const r = await curl(["--resolve", `${HOSTS.packages}:${params.httpPort}:127.0.0.1`, `http://${HOSTS.packages}:${params.httpPort}/dists/x`]);
    assert.equal(r.status, 301);
    assert.match(r.headers, new RegExp(`location: https://${HOSTS.packages.replace(/\./g, "\\.")}:${params.httpsPort}/dists/x`, "i"));
  });

  describe("CRL refresh", () => {
    const script = () => path.join(dir, "edp-crl-refresh");
    const metrics = () => fs.readFileSync(path.join(dir, "textfile", "edp_crl.prom"), "utf8");
    const metric = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(metrics())?.[1]);
    // Asynchronous: the CRL server runs in this process and must keep answering.
    const runRefresh = () =>
      new Promise<{ code: number; stderr: string }>((resolve) => {
        execFile("bash", [script()], (err, _stdout, stderr) => {
          const code = (err as { code?: unknown } | null)?.code;
          resolve({ code: err ? (typeof code === "number" ? code : -1) : 0, stderr });
        });
      });

    before(() => {
      fs.writeFileSync(
        script(),
        renderCrlRefreshScript({
          crlUrl: `http://127.0.0.1:${crlServerPort}/vault/v1/pki-devices/crl/pem`,
          serverCaFile: "/etc/ssl/certs/ca-certificates.crt",
          deviceCaFile: deviceCa.cert,
          crlFile: params.tls.crlFile,
          textfileDir: path.join(dir, "textfile"),
          reloadCommand: `kill -USR1 "$(cat '${params.pidFile}')"`,
          timeoutSeconds: 10,
        }),
      );
    });

    it("keeps the current CRL when the new one is signed by another CA", async () => {
      const before = fs.readFileSync(params.tls.crlFile, "utf8");
      servedCrl = otherCa.crl(path.join(dir, "other-crl.pem"));
      const r = await runRefresh();
      assert.equal(r.code, 1);
      assert.match(r.stderr, /not signed by the device CA|could not check/);
      assert.equal(fs.readFileSync(params.tls.crlFile, "utf8"), before);
      assert.equal(metric(CRL_METRICS.success), 0);
    });

    it("keeps the current CRL when the new one has already expired", async () => {
      const before = fs.readFileSync(params.tls.crlFile, "utf8");
      servedCrl = deviceCa.crl(path.join(dir, "short-crl.pem"), 1);
      await new Promise((r) => setTimeout(r, 2100));
      const r = await runRefresh();
      assert.equal(r.code, 1);
      assert.match(r.stderr, /expired/);
      assert.equal(fs.readFileSync(params.tls.crlFile, "utf8"), before);
    });

    it("installs a new CRL, reloads Apache, and then rejects a newly revoked certificate", async () => {
      const ok = await https(HOSTS.monitoring, "/monitoring/x", device.laterRevoked);
      assert.equal(ok.status, 200, "the certificate works before it is revoked");

      deviceCa.revoke(device.laterRevoked);
      servedCrl = deviceCa.crl(path.join(dir, "new-crl.pem"));
      const r = await runRefresh();
      assert.equal(r.code, 0, r.stderr);
      assert.equal(fs.readFileSync(params.tls.crlFile, "utf8"), servedCrl);
      const nextUpdate = metric(CRL_METRICS.nextUpdate);
      assert.ok(nextUpdate > Date.now() / 1000 + 3600, `nextUpdate metric ${nextUpdate}`);
      assert.equal(metric(CRL_METRICS.success), 1);

      // A graceful restart finishes in the background; give it a moment.
      let after = await https(HOSTS.monitoring, "/monitoring/x", device.laterRevoked);
      for (let i = 0; i < 30 && !rejected(after); i++) {
        await new Promise((res) => setTimeout(res, 200));
        after = await https(HOSTS.monitoring, "/monitoring/x", device.laterRevoked);
      }
      assert.ok(rejected(after), `status ${after.status}`);
      const still = await https(HOSTS.monitoring, "/monitoring/x", device.valid);
      assert.equal(still.status, 200, "an unrevoked certificate still works");
    });

    it("shows why the alert exists: once the CRL Apache holds has expired, even a valid certificate is refused", async () => {
      deviceCa.crl(params.tls.crlFile, 2);
      execFileSync("bash", ["-c", `kill -USR1 "$(cat '${params.pidFile}')"`]);
      await new Promise((res) => setTimeout(res, 3000));
      const r = await https(HOSTS.monitoring, "/monitoring/x", device.valid);
      assert.ok(rejected(r), `status ${r.status}`);
    });
  });
});
