/**
 * E3 in a box: the configuration script run as root on a real Debian 12 root, as on the VM.
 *
 * A Debian 12 root built by mmdebstrap from Debian's packages (cached under /var/cache/edp-tests,
 * tests/harness/e3-box.ts) gets the packages E3's cloud-init user data lists, the user data's
 * users and files, and an empty loop device as the data disk. The configuration script arrives
 * the way Cloud Assistant delivers it (each part run as root), then again the way SSH delivers
 * it (`bash -s` on stdin). Services run inside the box from their real unit files; checks run
 * from outside the root (host curl and git in the box's network namespace).
 *
 * Stand-ins, all on the box's loopback, none reaching off the machine:
 * - the cluster's ingress and Vault's CRL: an HTTPS server with a platform-CA certificate
 *   (tests/harness/e3-box/ingress.cjs) at edp-service.box.internal:8443 (/etc/hosts stands in
 *   for the PrivateZone record);
 * - Let's Encrypt: Debian's pebble (an ACME test server) with pebble-challtestsrv as its DNS,
 *   which validates HTTP-01 against Apache's port 80 in the box;
 * - systemd: tests/harness/e3-box/systemctl.sh, which runs the real units (see its header for
 *   what it does not do).
 * Skipped, with the reason: the package mirror's rsync from the master repository (an SSH
 * server outside E3) — the test publishes a Release file as the packages user instead.
 */
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { renderApplyScript } from "../../components/e3/render/apply";
import { E3_LAYOUT, type E3Settings, renderE3Files, renderHostSteps } from "../../components/e3/render/bundle";
import { E3_PACKAGES, renderCloudInit } from "../../components/e3/render/cloud-init";
import { CERT_METRICS } from "../../components/e3/render/acme";
import { CRL_METRICS } from "../../components/e3/render/crl-refresh";
import { cloudAssistantParts } from "../../components/e3/render/delivery";
import { TEST_E3_HOSTS as HOSTS } from "../fixtures/e3-hosts";
import { canRunBox, E3Box, ensureRoot } from "../harness/e3-box";
import { type Issued, TestCa } from "./helpers/pki";

const SERVICE_HOST = "edp-service.box.internal";
const INGRESS_PORT = 8443;
const ACME_PORT = 14000;
const DNS_PORT = 8053;
const DISK_ID = "d-box0e3data";

interface Echo {
  method: string;
  url: string;
  headers: Record<string, string>;
}

describe("E3 in a box: the configuration script on a real Debian 12 root", function () {
  // A cold cache builds the root first (minutes, mostly dpkg unpacking).
  this.timeout(1_800_000);

  let box: E3Box;
  let dir: string;
  let settings: E3Settings;
  let script: string;
  const procs: ChildProcess[] = [];
  let platformCa: TestCa;
  let deviceCa: TestCa;
  let otherCa: TestCa;
  const device: Record<"valid" | "revoked" | "expired" | "foreign" | "laterRevoked" | "operator", Issued> = {} as never;
  const timings: Record<string, number> = {};
  let firstRun: { code: number; stdout: string; stderr: string };
  let crlFile: string;

  const metric = (file: string, name: string) => Number(new RegExp(`^${name.replace(/[{}"]/g, (c) => `\\${c}`)} (\\S+)$`, "m").exec(box.readFile(file))?.[1]);

  /** curl from outside the root, in the box's network namespace, to Apache on 443. */
  const https = (host: string, urlPath: string, as?: Issued, extra: string[] = []) => {
    const r = box.outside("curl", [
      "--silent", "--show-error", "--max-time", "30", "--write-out", "\n%{http_code}", "--dump-header", path.join(dir, "headers"),
      "--resolve", `${host}:443:127.0.0.1`, "--cacert", path.join(dir, "trust.pem"),
      ...(as ? ["--cert", as.cert, "--key", as.key] : []),
      ...extra,
      `https://${host}${urlPath}`,
    ]);
    const cut = r.stdout.lastIndexOf("\n");
    return { exitCode: r.code, status: Number(r.stdout.slice(cut + 1)) || 0, body: r.stdout.slice(0, cut), headers: fs.existsSync(path.join(dir, "headers")) ? fs.readFileSync(path.join(dir, "headers"), "utf8") : "", stderr: r.stderr };
  };
  const refused = (r: { exitCode: number; status: number }) => r.exitCode !== 0 || r.status === 403;

  /** Delivers the script as Cloud Assistant does: each part, in order, as root. */
  const deliverByCloudAssistant = () => {
    let last = { code: 0, stdout: "", stderr: "" };
    for (const part of cloudAssistantParts(script)) {
      last = box.exec("bash -s", { input: part });
      if (last.code !== 0) return last;
    }
    return last;
  };
  const deliverBySsh = () => box.exec("bash -s", { input: script });

  /** Every managed path with mode, owner and content hash, and the main PIDs of the services. */
  const snapshot = () => {
    const paths = [...renderE3Files(settings).files.map((f) => f.path), E3_LAYOUT.serverCertFile, E3_LAYOUT.serverKeyFile, E3_LAYOUT.crlFile].join(" ");
    return box.exec(
      `cd / && stat -c '%n %a %U:%G' ${paths} && sha256sum ${paths}
       stat -c '%n %a %U:%G' /etc/edp /etc/notary /etc/docker/registry /home/packages/.ssh ${E3_LAYOUT.registryDir} ${E3_LAYOUT.gitRoot} ${E3_LAYOUT.packagesDir}
       for u in docker-registry notary-server notary-signer prometheus-node-exporter; do echo "$u $(cat /run/edp-box/$u.service.pid)"; done
       echo "apache $(cat /run/apache2/apache2.pid)"`,
    ).stdout;
  };

  before(async function () {
    const why = canRunBox();
    if (why) {
      console.log(`      skipped: ${why}`);
      this.skip();
    }
    const t0 = Date.now();
    const built = ensureRoot([...E3_PACKAGES]);
    timings.rootBuildSeconds = built.seconds;
    timings.rootCached = built.cached ? 1 : 0;

    dir = fs.mkdtempSync(path.join(os.tmpdir(), "edp-e3-box-pki-"));
    fs.chmodSync(dir, 0o755);
    platformCa = new TestCa(path.join(dir, "platform"), "EDP box platform CA");
    deviceCa = new TestCa(path.join(dir, "device"), "EDP box device CA");
    otherCa = new TestCa(path.join(dir, "other"), "Some other CA");
    const acmeCa = new TestCa(path.join(dir, "acme"), "ACME stand-in listener CA");
    const notaryCa = new TestCa(path.join(dir, "notary"), "EDP box notary CA");
    device.valid = deviceCa.issue("device-valid", "client");
    device.revoked = deviceCa.issue("device-revoked", "client");
    device.laterRevoked = deviceCa.issue("device-later-revoked", "client");
    device.expired = deviceCa.issue("device-expired", "client", { validity: { start: "20200101000000Z", end: "20200102000000Z" } });
    device.foreign = otherCa.issue("device-foreign", "client");
    device.operator = deviceCa.issue("operator-anna", "client", { ou: E3_LAYOUT.operatorOu });
    deviceCa.revoke(device.revoked);
    crlFile = path.join(dir, "served-crl.pem");
    deviceCa.crl(crlFile);
    fs.copyFileSync(crlFile, path.join(dir, "first-crl.pem"));
    const bootstrap = platformCa.issue("bootstrap", "server", { dnsNames: Object.values(HOSTS) });
    const ingress = platformCa.issue("ingress", "server", { dnsNames: [SERVICE_HOST] });
    const acmeListener = acmeCa.issue("acme-listener", "server", { dnsNames: ["127.0.0.1", "localhost"] });
    const signer = notaryCa.issue("notary-signer", "server", { dnsNames: ["notary-signer", "127.0.0.1"] });
    const notaryServer = notaryCa.issue("notary-server", "client", { dnsNames: ["notary-server"] });
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "packages", "-f", path.join(dir, "packages-key")]);
    const pw = () => randomBytes(18).toString("base64url");
    const read = (f: string) => fs.readFileSync(f, "utf8");

    settings = {
      stage: "testing",
      hosts: HOSTS,
      serviceUrl: `https://${SERVICE_HOST}:${INGRESS_PORT}`,
      crlUrl: `https://${SERVICE_HOST}:${INGRESS_PORT}/vault/v1/pki-devices/crl/pem`,
      deviceCaPem: read(deviceCa.cert),
      serverCertPem: `${read(bootstrap.cert).trim()}\n${read(platformCa.cert).trim()}\n`,
      serverKeyPem: read(bootstrap.key),
      platformCaPem: read(platformCa.cert),
      acme: { directoryUrl: `https://127.0.0.1:${ACME_PORT}/dir`, email: "ops@example.net" },
      sshPort: 2222,
      nodeExporterPort: 9100,
      crlRefreshMinutes: 15,
      // E3 must trust the ACME server's listener: Let's Encrypt is in the system store, pebble is not.
      customCaBundle: read(acmeCa.cert),
      dataDiskId: DISK_ID,
      packages: { upstream: "packages@127.0.0.1:/srv/master", upstreamPort: 2200, privateKeyOpenssh: read(path.join(dir, "packages-key")), publicKeyOpenssh: read(path.join(dir, "packages-key.pub")) },
      registryHttpSecret: pw(),
      notary: {
        serverDbPassword: pw(),
        signerDbPassword: pw(),
        signerPassphrase: pw(),
        caPem: read(notaryCa.cert),
        signerCertPem: read(signer.cert),
        signerKeyPem: read(signer.key),
        serverCertPem: read(notaryServer.cert),
        serverKeyPem: read(notaryServer.key),
      },
    };
    const { files, managedDirs, dirs } = renderE3Files(settings);
    script = renderApplyScript(files, managedDirs, renderHostSteps(), dirs);

    box = new E3Box(built.dir, DISK_ID.replace(/^d-/, ""));
    await box.start();
    box.writeFile("/usr/local/sbin/systemctl", fs.readFileSync(path.join(__dirname, "../harness/e3-box/systemctl.sh"), "utf8"), 0o755);
    box.writeFile("/etc/hosts", `127.0.0.1 localhost ${SERVICE_HOST}\n`);
    box.writeFile("/etc/resolv.conf", "");
    box.writeFile("/etc/hostname", "e3-testing\n");

    // Stand-ins outside the root, on the box's loopback.
    const ingressLog = path.join(dir, "ingress.log");
    fs.writeFileSync(ingressLog, "");
    const start = (cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env) => {
      const p = box.spawnOutside(cmd, args, env);
      let err = "";
      p.stderr?.on("data", (d) => (err += String(d)));
      p.on("exit", (code) => {
        if (code) console.log(`      ${cmd} exited ${code}: ${err.slice(-500)}`);
      });
      procs.push(p);
      return p;
    };
    start(process.execPath, [path.join(__dirname, "../harness/e3-box/ingress.cjs"), String(INGRESS_PORT), ingress.cert, ingress.key, crlFile, ingressLog]);
    start("pebble-challtestsrv", ["-defaultIPv4", "127.0.0.1", "-defaultIPv6", "", "-dns01", `127.0.0.1:${DNS_PORT}`, "-http01", "", "-https01", "", "-tlsalpn01", "", "-management", "127.0.0.1:8055"]);
    const pebbleConfig = path.join(dir, "pebble.json");
    fs.writeFileSync(
      pebbleConfig,
      JSON.stringify({ pebble: { listenAddress: `127.0.0.1:${ACME_PORT}`, managementListenAddress: "127.0.0.1:15000", certificate: acmeListener.cert, privateKey: acmeListener.key, httpPort: 80, tlsPort: 443, ocspResponderURL: "", externalAccountBindingRequired: false } }),
    );
    start("pebble", ["-config", pebbleConfig, "-dnsserver", `127.0.0.1:${DNS_PORT}`], { ...process.env, PEBBLE_VA_NOSLEEP: "1", PEBBLE_WFE_NONCEREJECT: "0", PEBBLE_AUTHZREUSE: "0" });
    fs.writeFileSync(path.join(dir, "trust.pem"), read(platformCa.cert));

    // What cloud-init does on first boot: packages (in the root), users, files, runcmd. The
    // services Debian starts on installation (sshd, PostgreSQL) are running when the script comes.
    box.applyUserData(renderCloudInit({ hostname: "e3-testing", sshPort: 2222, deploy: { user: E3_LAYOUT.deployUser, publicKey: read(path.join(dir, "packages-key.pub")) } }));
    const boot = box.exec("systemctl start ssh postgresql@15-main");
    assert.equal(boot.code, 0, `booting the box's services: ${boot.stderr}`);
    for (let i = 0; i < 100; i++) {
      if (box.outside("bash", ["-c", `exec 3<>/dev/tcp/127.0.0.1/${INGRESS_PORT} && exec 4<>/dev/tcp/127.0.0.1/${ACME_PORT}`]).code === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    timings.setupSeconds = (Date.now() - t0) / 1000;

    const t1 = Date.now();
    firstRun = deliverByCloudAssistant();
    timings.firstRunSeconds = (Date.now() - t1) / 1000;
    // Devices trust the ACME CA (Let's Encrypt's roots in production); here: pebble's root of this run.
    const root = box.outside("curl", ["--silent", "--fail", "--cacert", acmeCa.cert, "https://127.0.0.1:15000/roots/0"]);
    if (root.code === 0) fs.appendFileSync(path.join(dir, "trust.pem"), root.stdout);
  });

  after(function () {
    for (const p of procs) p.kill("SIGKILL");
    box?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    if (Object.keys(timings).length) console.log(`      timings: ${JSON.stringify(timings)}`);
  });

  it("runs the configuration script, delivered as Cloud Assistant parts, to exit 0", () => {
    assert.equal(firstRun.code, 0, `stdout:\n${firstRun.stdout.slice(-3000)}\nstderr:\n${firstRun.stderr.slice(-3000)}\n${box.exec("tail -n 30 /var/log/edp-box/*.log").stdout}`);
    assert.match(firstRun.stdout, /E3 configuration applied/);
  });

  it("made a file system on the empty data disk, found by its serial, and mounted it", () => {
    const r = box.exec(`findmnt -n -o SOURCE,FSTYPE ${E3_LAYOUT.dataMount} && blkid -s LABEL -o value "$(findmnt -n -o SOURCE ${E3_LAYOUT.dataMount})"`);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /loop\d+ ext4\nedp-data/);
  });

  it("changes nothing when run again, delivered over SSH (bash -s on stdin)", () => {
    const before = snapshot();
    const t = Date.now();
    const second = deliverBySsh();
    timings.secondRunSeconds = (Date.now() - t) / 1000;
    assert.equal(second.code, 0, second.stderr);
    assert.equal(snapshot(), before);
  });

  it("lets each service user read exactly its own files", () => {
    const { files } = renderE3Files(settings);
    const users = ["www-data", "docker-registry", "notary", "postgres", "packages", "prometheus", "edp-deploy"];
    // Files a service user must be able to read (everything else not world-readable: root only).
    const expected: Record<string, string[]> = {
      "/etc/docker/registry/config.yml": ["docker-registry"],
      "/etc/notary/server.json": ["notary"],
      "/etc/notary/signer.json": ["notary"],
      "/etc/notary/signer.key": ["notary"],
      "/etc/notary/server.key": ["notary"],
      "/home/packages/.ssh/id_ed25519": ["packages"],
      "/home/packages/.ssh/id_ed25519.pub": ["packages"],
    };
    const problems: string[] = [];
    // One process per user, which tests every file with that user's identity.
    const paths = files.map((f) => f.path).join(" ");
    const r = box.exec(`for u in ${users.join(" ")}; do setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups bash -c 'for f in ${paths}; do [ -r "$f" ] && echo "$f $0"; done' "$u"; done`);
    const readable = new Map<string, string[]>();
    for (const line of r.stdout.trim().split("\n").filter(Boolean)) {
      const [p, u] = line.split(" ");
      readable.set(p, [...(readable.get(p) ?? []), u]);
    }
    for (const f of files) {
      const got = (readable.get(f.path) ?? []).sort();
      // A world-readable file in a private directory is its owner's only (the directory decides).
      const privateDir = f.path.startsWith("/etc/notary/") ? ["notary"] : f.path.startsWith("/home/packages/.ssh/") ? ["packages"] : undefined;
      const worldReadable = (parseInt(f.mode, 8) & 0o004) !== 0;
      const want = (worldReadable ? (privateDir ?? users) : (expected[f.path] ?? [])).slice().sort();
      if (JSON.stringify(got) !== JSON.stringify(want)) problems.push(`${f.path} (${f.mode} ${f.owner}): readable by [${got.join(", ")}], expected [${want.join(", ")}]`);
    }
    assert.deepEqual(problems, []);
    // And the services run with them: each is up under its own user.
    const ps = box.exec("ps -eo user:20,args | grep -E 'notary-(server|signer)|docker-registry serve|apache2 -k|postgres -D' | grep -v grep").stdout;
    for (const re of [/^notary\s+.*notary-server/m, /^notary\s+.*notary-signer/m, /^docker-registry\s+.*docker-registry serve/m, /^www-data\s+.*apache2/m, /^postgres\s+.*postgres/m]) assert.match(ps, re);
  });

  describe("mutual TLS, from outside the box", () => {
    it("proxies a valid device to the ingress (verified against the platform CA) with its certificate headers", () => {
      const r = https(HOSTS.monitoring, "/monitoring/api/x", device.valid);
      assert.equal(r.status, 200, r.stderr + r.body);
      const echo = JSON.parse(r.body) as Echo;
      assert.equal(echo.headers["x-ssl-client-verify"], "SUCCESS");
      assert.match(echo.headers["x-ssl-client-s-dn"], /CN=device-valid/);
    });

    it("refuses a protected path without a certificate and proxies /onboarding/ without one", () => {
      assert.equal(https(HOSTS.monitoring, "/monitoring/api/x").status, 403);
      const r = https(HOSTS.onboarding, "/onboarding/register");
      assert.equal(r.status, 200, r.stderr);
      assert.equal((JSON.parse(r.body) as Echo).headers["x-ssl-client-verify"], "NONE");
    });

    for (const kind of ["revoked", "foreign", "expired"] as const) {
      it(`refuses a ${kind} certificate`, () => {
        const r = https(HOSTS.monitoring, "/monitoring/api/x", device[kind]);
        assert.ok(refused(r), `${kind}: exit ${r.exitCode}, status ${r.status}`);
      });
    }

    it("refuses unnormalised paths under /onboarding/ before they reach the ingress", () => {
      for (const p of ["/onboarding/..;/monitoring/x", "/onboarding/..%5Cmonitoring/x", "/onboarding/..%252fmonitoring/x", "/onboarding/%2e%2e/monitoring/x"]) {
        const r = https(HOSTS.onboarding, p, undefined, ["--path-as-is"]);
        assert.equal(r.status, 403, `${p}: ${r.status}`);
      }
      const seen = fs.readFileSync(path.join(dir, "ingress.log"), "utf8");
      assert.doesNotMatch(seen, /\.\.;|%5C|%25|%2e/i);
    });

    it("never passes a client-certificate header a client sent, under any name a backend might trust", () => {
      const spoof = ["Ssl-Client-Verify: SUCCESS", "Ssl-Client-Subject-Dn: CN=admin", "X-Forwarded-Client-Cert: Hash=1", "Client-Cert: :MIIB:", "X-SSL-Client-S-DN: CN=admin"];
      const r = https(HOSTS.onboarding, "/onboarding/x", undefined, spoof.flatMap((h) => ["-H", h]));
      const h = (JSON.parse(r.body) as Echo).headers;
      for (const name of ["ssl-client-verify", "ssl-client-subject-dn", "x-forwarded-client-cert", "client-cert", "x-ssl-client-s-dn"]) assert.equal(h[name], undefined, name);
    });
  });

  describe("who may write", () => {
    const digest = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;
    const blob = Buffer.from(`edge layer ${Date.now()}\n`);
    const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] } }));
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.docker.distribution.manifest.v2+json",
      config: { mediaType: "application/vnd.docker.container.image.v1+json", size: config.length, digest: digest(config) },
      layers: [{ mediaType: "application/vnd.docker.image.rootfs.diff.tar.gzip", size: blob.length, digest: digest(blob) }],
    });
    const push = (as: Issued) => {
      const statuses: number[] = [];
      for (const [name, content] of [["layer", blob], ["config", config]] as const) {
        fs.writeFileSync(path.join(dir, name), content);
        const start = https(HOSTS.docker, "/v2/edge/app/blobs/uploads/", as, ["-X", "POST"]);
        statuses.push(start.status);
        if (start.status !== 202) return statuses;
        const location = /^location: (.+)$/im.exec(start.headers)?.[1].trim() ?? "";
        const put = https(HOSTS.docker, `${location}${location.includes("?") ? "&" : "?"}digest=${encodeURIComponent(digest(content))}`, as, ["-X", "PUT", "-H", "Content-Type: application/octet-stream", "--data-binary", `@${path.join(dir, name)}`]);
        statuses.push(put.status);
      }
      fs.writeFileSync(path.join(dir, "manifest"), manifest);
      statuses.push(https(HOSTS.docker, "/v2/edge/app/manifests/1.0.0", as, ["-X", "PUT", "-H", "Content-Type: application/vnd.docker.distribution.manifest.v2+json", "--data-binary", `@${path.join(dir, "manifest")}`]).status);
      return statuses;
    };

    it("refuses a device's push to the registry", () => {
      assert.deepEqual(push(device.valid), [403]);
    });

    it("takes an operator's push, and a device pulls the image", () => {
      assert.deepEqual(push(device.operator), [202, 201, 202, 201, 201]);
      const m = https(HOSTS.docker, "/v2/edge/app/manifests/1.0.0", device.valid, ["-H", "Accept: application/vnd.docker.distribution.manifest.v2+json"]);
      assert.equal(m.status, 200);
      assert.equal(m.body, manifest);
      const b = https(HOSTS.docker, `/v2/edge/app/blobs/${digest(blob)}`, device.valid, ["--location"]);
      assert.equal(b.status, 200);
      assert.equal(b.body, blob.toString());
    });

    it("lets devices read Notary and refuses their writes to it; an operator's write reaches notary-server", () => {
      let health = https(HOSTS.docker, "/_notary_server/health", device.valid);
      for (let i = 0; i < 30 && health.status !== 200; i++) {
        execFileSync("sleep", ["1"]);
        health = https(HOSTS.docker, "/_notary_server/health", device.valid);
      }
      assert.equal(health.status, 200, `notary-server health: ${health.status} ${health.body}`);
      const read = https(HOSTS.docker, "/v2/edge/app/_trust/tuf/root.json", device.valid);
      assert.equal(read.status, 404, "notary-server itself answers: no trust data yet");
      const body = ["-X", "POST", "-H", "Content-Type: multipart/form-data; boundary=x", "--data-binary", "--x--"];
      // Over HTTP/1.1: over HTTP/2, mod_http2 may reset the stream of a refused upload before it
      // has read the body, which curl reports as error 92 instead of the 403 (seen under load).
      const write = https(HOSTS.docker, "/v2/edge/app/_trust/tuf/", device.valid, ["--http1.1", ...body]);
      assert.equal(write.status, 403, `device write: curl exit ${write.exitCode}, ${write.stderr}`);
      const op = https(HOSTS.docker, "/v2/edge/app/_trust/tuf/", device.operator, body);
      assert.ok(op.status >= 400 && op.status !== 403, `operator: ${op.status} ${op.body}`);
      assert.doesNotMatch(op.body, /Forbidden/);
    });

    it("serves Git: an operator pushes, a device clones and cannot push", () => {
      const git = (as: Issued, args: string[], cwd?: string) =>
        box.outside("git", ["-c", "http.curloptResolve=" + `${HOSTS.git}:443:127.0.0.1`, ...(cwd ? ["-C", cwd] : []), ...args], {
          env: { ...process.env, GIT_SSL_CAINFO: path.join(dir, "trust.pem"), GIT_SSL_CERT: as.cert, GIT_SSL_KEY: as.key, GIT_TERMINAL_PROMPT: "0" },
        });
      // A maintainer creates the repository on the host (as the web user, which serves it).
      const init = box.exec(`setpriv --reuid=www-data --regid=www-data --init-groups git init --quiet --bare -b main ${E3_LAYOUT.gitRoot}/device-1.git`);
      assert.equal(init.code, 0, init.stderr);
      const work = path.join(dir, "work");
      execFileSync("git", ["init", "--quiet", "-b", "main", work]);
      fs.writeFileSync(path.join(work, "README"), "device repository\n");
      execFileSync("git", ["-C", work, "add", "README"]);
      execFileSync("git", ["-C", work, "-c", "user.name=op", "-c", "user.email=op@example.net", "commit", "--quiet", "-m", "first"]);
      const url = `https://${HOSTS.git}/device-1.git`;
      const opPush = git(device.operator, ["push", url, "main"], work);
      assert.equal(opPush.code, 0, opPush.stderr);

      const clone = path.join(dir, "clone");
      const c = git(device.valid, ["clone", "--quiet", url, clone]);
      assert.equal(c.code, 0, c.stderr);
      assert.equal(fs.readFileSync(path.join(clone, "README"), "utf8"), "device repository\n");
      fs.writeFileSync(path.join(clone, "NEW"), "x\n");
      execFileSync("git", ["-C", clone, "add", "NEW"]);
      execFileSync("git", ["-C", clone, "-c", "user.name=d", "-c", "user.email=d@example.net", "commit", "--quiet", "-m", "device push"]);
      const devPush = git(device.valid, ["push", "origin", "main"], clone);
      assert.notEqual(devPush.code, 0);
      assert.match(devPush.stderr, /403/);
    });

    it("serves the package repository to a device (the mirror's content published as the packages user)", () => {
      // The rsync from the master repository is not run: it is an SSH server outside E3.
      const publish = box.exec(`setpriv --reuid=packages --regid=packages --init-groups sh -c 'mkdir -p ${E3_LAYOUT.packagesDir}/dists/bookworm && echo "Origin: EDP box" > ${E3_LAYOUT.packagesDir}/dists/bookworm/Release'`);
      assert.equal(publish.code, 0, publish.stderr);
      const r = https(HOSTS.packages, "/dists/bookworm/Release", device.valid);
      assert.equal(r.status, 200);
      assert.equal(r.body, "Origin: EDP box\n");
      assert.equal(https(HOSTS.packages, "/dists/bookworm/Release").status, 403);
    });
  });

  describe("server certificate from ACME", () => {
    it("replaced the bootstrap certificate with one from the ACME server, for every name, and reports its expiry", () => {
      const served = box.outside("bash", ["-c", `openssl s_client -connect 127.0.0.1:443 -servername ${HOSTS.docker} </dev/null 2>/dev/null | openssl x509 -noout -issuer -ext subjectAltName`]);
      assert.match(served.stdout, /issuer=.*Pebble/i, served.stdout + served.stderr);
      for (const h of Object.values(HOSTS)) assert.ok(served.stdout.includes(`DNS:${h}`), `${h} in ${served.stdout}`);
      assert.ok(metric(`${E3_LAYOUT.textfileDir}/edp_cert.prom`, CERT_METRICS.notAfter) > Date.now() / 1000 + 7 * 86400);
      assert.equal(metric(`${E3_LAYOUT.textfileDir}/edp_cert.prom`, CERT_METRICS.acme), 1);
    });
  });

  describe("CRL refresh", () => {
    const refresh = (args = "") => box.exec(`${E3_LAYOUT.crlRefreshScript} ${args}`);
    const refusedFor = (reason: string) => metric(`${E3_LAYOUT.textfileDir}/edp_crl.prom`, `${CRL_METRICS.refused}{reason="${reason}"}`);

    it("installs a newer CRL without dropping a request in flight, and refuses the newly revoked device", async () => {
      assert.equal(https(HOSTS.monitoring, "/monitoring/x", device.laterRevoked).status, 200);
      deviceCa.revoke(device.laterRevoked);
      deviceCa.crl(crlFile);
      const slowFile = path.join(dir, "slow-out");
      const slow = box.spawnOutside("curl", ["--silent", "--max-time", "30", "--output", slowFile, "--write-out", "%{http_code}", "--resolve", `${HOSTS.monitoring}:443:127.0.0.1`, "--cacert", path.join(dir, "trust.pem"), "--cert", device.valid.cert, "--key", device.valid.key, `https://${HOSTS.monitoring}/onboarding/slow`]);
      let slowStatus = "";
      slow.stdout?.on("data", (d) => (slowStatus += String(d)));
      const slowDone = new Promise((r) => slow.on("close", r));
      await new Promise((r) => setTimeout(r, 800));
      const r = await box.execAsync(E3_LAYOUT.crlRefreshScript);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /installed CRL number/);
      await slowDone;
      assert.equal(slowStatus, "200", "the request in flight during the reload completed");
      assert.equal(box.readFile(E3_LAYOUT.crlFile), fs.readFileSync(crlFile, "utf8"));
      let after = https(HOSTS.monitoring, "/monitoring/x", device.laterRevoked);
      for (let i = 0; i < 30 && !refused(after); i++) {
        await new Promise((res) => setTimeout(res, 200));
        after = https(HOSTS.monitoring, "/monitoring/x", device.laterRevoked);
      }
      assert.ok(refused(after), `status ${after.status}`);
      assert.equal(https(HOSTS.monitoring, "/monitoring/x", device.valid).status, 200);
    });

    it("refuses a CRL whose lastUpdate is ahead of the host's clock, keeps the current one and says why", () => {
      const current = box.readFile(E3_LAYOUT.crlFile);
      const future = new Date(Date.now() + 3600_000).toISOString().replace(/[-:T]/g, "").slice(0, 14) + "Z";
      deviceCa.crl(crlFile, undefined, future);
      const r = refresh();
      assert.equal(r.code, 1);
      assert.match(r.stderr, /refused \(not_yet_valid\)/);
      assert.equal(box.readFile(E3_LAYOUT.crlFile), current);
      assert.equal(refusedFor("not_yet_valid"), 1);
      assert.equal(https(HOSTS.monitoring, "/monitoring/x", device.valid).status, 200, "devices are still admitted");
    });

    it("refuses an older CRL (lower number), which would re-admit a revoked device", () => {
      const current = box.readFile(E3_LAYOUT.crlFile);
      // The CRL from before device-later-revoked was revoked: number 01 (the first one made).
      fs.copyFileSync(path.join(dir, "first-crl.pem"), crlFile);
      const r = refresh();
      assert.equal(r.code, 1);
      assert.match(r.stderr, /refused \(older\)/);
      assert.equal(box.readFile(E3_LAYOUT.crlFile), current);
      assert.equal(refusedFor("older"), 1);
      assert.equal(refusedFor("not_yet_valid"), 0);
    });

    it("keeps the valid CRL when Vault is down: the timer's run fails (alerts), the configuration run does not", () => {
      fs.writeFileSync(`${crlFile}.down`, "");
      try {
        const timer = refresh();
        assert.equal(timer.code, 1);
        assert.equal(refusedFor("download"), 1);
        const config = refresh("--keep-valid");
        assert.equal(config.code, 0, config.stderr);
        assert.match(config.stderr, /the CRL in force is valid until/);
      } finally {
        fs.rmSync(`${crlFile}.down`);
      }
    });
  });
});
