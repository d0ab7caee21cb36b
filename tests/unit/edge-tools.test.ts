/**
 * The operator tools, run as real processes: `npm run seal` (checked by opening what it sealed
 * with the private key, as the sealed-secrets controller does) and `npm run fleet -- status`
 * against a local directory standing in for the manifests bucket.
 */
import assert from "node:assert/strict";
import { createDecipheriv, privateDecrypt, constants } from "node:crypto";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import YAML from "yaml";
import { publishedState, type EdgeClusterSpec, desiredStateObjects } from "../../components/edge/manifests";
import { type ClusterStatus, REVISION_CONFIGMAP } from "../../components/edge/status";
import { clusterUuid } from "../../components/edge/uuid";
import { sealedSecretProblems } from "../../config/sealed-secrets";
import { ROOT } from "../harness/stage";

const tsx = (script: string, args: string[], opts: { input?: string; env?: Record<string, string> } = {}) =>
  spawnSync(process.execPath, ["--import", "tsx", path.join(ROOT, script), ...args], {
    cwd: ROOT,
    input: opts.input,
    env: { ...process.env, ...(opts.env ?? {}) },
    encoding: "utf8",
  });

let tmp: string;

/** kubeseal's hybrid format opened with the private key: 2-byte length, RSA-OAEP(SHA-256, label), AES-256-GCM with a zero nonce. */
function unseal(ciphertextB64: string, privateKeyPem: string, label: string): string {
  const buf = Buffer.from(ciphertextB64, "base64");
  const n = buf.readUInt16BE(0);
  const sessionKey = privateDecrypt({ key: privateKeyPem, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha256", oaepLabel: Buffer.from(label) }, buf.subarray(2, 2 + n));
  const body = buf.subarray(2 + n);
  const decipher = createDecipheriv("aes-256-gcm", sessionKey, Buffer.alloc(12));
  decipher.setAuthTag(body.subarray(body.length - 16));
  return Buffer.concat([decipher.update(body.subarray(0, body.length - 16)), decipher.final()]).toString("utf8");
}

describe("edge: npm run seal", function () {
  this.timeout(120_000);
  let keyPem: string;
  let certFile: string;

  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "edp-tools-"));
    const key = path.join(tmp, "key.pem");
    certFile = path.join(tmp, "cert.pem");
    const res = spawnSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-subj", "/CN=sealed-secrets testing lab-line-1", "-days", "1", "-out", certFile], { encoding: "utf8" });
    assert.equal(res.status, 0, res.stderr);
    keyPem = fs.readFileSync(key, "utf8");
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  const SECRET = {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "opcua-credentials", namespace: "edp-edge", labels: { app: "opcua" } },
    type: "Opaque",
    data: { password: Buffer.from("s3cr3t-pässword").toString("base64") },
    stringData: { username: "collector" },
  };

  it("seals every value with the cluster's certificate so that its private key opens it, for that namespace only", () => {
    const res = tsx("scripts/seal.ts", ["--stage", "testing", "--cluster", "lab-line-1", "--cert", certFile], { input: YAML.stringify(SECRET) });
    assert.equal(res.status, 0, res.stderr);
    assert.ok(!res.stdout.includes("s3cr3t") && !res.stderr.includes("s3cr3t") && !res.stdout.includes("collector\n"), "plaintext printed");
    const sealed = YAML.parse(res.stdout) as { kind: string; metadata: { name: string; namespace: string; annotations: Record<string, string> }; spec: { encryptedData: Record<string, string>; template: { metadata: { labels: Record<string, string> }; type: string } } };
    assert.deepEqual(sealedSecretProblems(sealed), [], "the config accepts what seal writes");
    assert.equal(sealed.metadata.annotations["sealedsecrets.bitnami.com/namespace-wide"], "true");
    assert.deepEqual(Object.keys(sealed.spec.encryptedData), ["password", "username"]);
    assert.equal(unseal(sealed.spec.encryptedData.password, keyPem, "edp-edge"), "s3cr3t-pässword");
    assert.equal(unseal(sealed.spec.encryptedData.username, keyPem, "edp-edge"), "collector");
    assert.throws(() => unseal(sealed.spec.encryptedData.password, keyPem, "other-namespace"), "another namespace's label must not open it");
    assert.deepEqual(sealed.spec.template.metadata.labels, { app: "opcua" });
  });

  it("takes the certificate from the stack output through pulumi when --cert is not given", () => {
    const bin = path.join(tmp, "bin");
    fs.mkdirSync(bin, { recursive: true });
    const certs = JSON.stringify({ "lab-line-1": fs.readFileSync(certFile, "utf8") });
    fs.writeFileSync(path.join(bin, "pulumi"), `#!/bin/sh\n[ "$*" = "stack output --stack testing --json edgeSealedSecretsCerts" ] || { echo "unexpected: $*" >&2; exit 2; }\ncat <<'EOF'\n${certs}\nEOF\n`, { mode: 0o755 });
    const res = tsx("scripts/seal.ts", ["--stage", "testing", "--cluster", "lab-line-1"], { input: YAML.stringify(SECRET), env: { PATH: `${bin}:${process.env.PATH ?? ""}` } });
    assert.equal(res.status, 0, res.stderr);
    const sealed = YAML.parse(res.stdout) as { spec: { encryptedData: Record<string, string> } };
    assert.equal(unseal(sealed.spec.encryptedData.username, keyPem, "edp-edge"), "collector");
  });

  it("refuses a cluster the stage does not have, and input that is not a Secret, with exit 64", () => {
    const unknown = tsx("scripts/seal.ts", ["--stage", "testing", "--cluster", "nope", "--cert", certFile], { input: YAML.stringify(SECRET) });
    assert.equal(unknown.status, 64);
    assert.match(unknown.stderr, /nope is not an edge cluster of stage testing \(lab-line-1\)/);
    const notSecret = tsx("scripts/seal.ts", ["--stage", "testing", "--cluster", "lab-line-1", "--cert", certFile], { input: "kind: ConfigMap\napiVersion: v1\n" });
    assert.equal(notSecret.status, 64);
    assert.match(notSecret.stderr, /must be one v1 Secret/);
  });
});

describe("edge: npm run fleet -- status", function () {
  this.timeout(120_000);
  let bucketDir: string;
  let stackFile: string;
  const clusters = ["a-in-sync", "b-drifting", "c-stale", "d-failed", "e-never"];
  const pem = "-----BEGIN CERTIFICATE-----\nTU9DSw==\n-----END CERTIFICATE-----\n";

  before(() => {
    bucketDir = fs.mkdtempSync(path.join(os.tmpdir(), "edp-fleet-"));
    // The testing stage with five script clusters and a 5-minute status interval.
    const doc = YAML.parse(fs.readFileSync(path.join(ROOT, "Pulumi.testing.yaml"), "utf8")) as { config: Record<string, unknown> };
    doc.config["edp:edgeClusters"] = clusters.map((name) => ({ name, bootstrap: "script", hosts: ["h1"] }));
    doc.config["edp:deployments"] = [];
    stackFile = path.join(bucketDir, "Pulumi.testing.yaml");
    fs.writeFileSync(stackFile, YAML.stringify(doc));
    const now = Date.now();
    for (const name of clusters) {
      const spec: EdgeClusterSpec = {
        stage: "testing", name, uuid: clusterUuid("testing", name), prefix: `testing/clusters/${name}/`, bucket: "example-edp-testing-manifests",
        endpoint: "oss-eu-central-1.aliyuncs.com", region: "eu-central-1", syncInterval: "5m", sealedSecretsKeyVersion: 1,
        taintKey: "factoryplus.app.amrc.co.uk/specialised", specialisedHosts: [], statusIntervalMinutes: 5,
      };
      const published = publishedState(spec, desiredStateObjects(spec, "script", [], {}), pem, []);
      const dir = path.join(bucketDir, spec.prefix);
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, "desired-state.yaml"), published.desiredState);
      const cm = YAML.parseAllDocuments(published.desiredState).map((d) => d.toJS() as { kind: string; metadata: { name: string }; data: Record<string, string> }).find((o) => o.kind === "ConfigMap" && o.metadata.name === REVISION_CONFIGMAP);
      assert.ok(cm);
      const status: ClusterStatus = {
        schema: 1, stage: "testing", cluster: name, uuid: spec.uuid, time: new Date(now - 60_000).toISOString(),
        nodes: [{ name: "h1", ready: true, labels: {} }],
        sealedSecretsCertSha256: cm.data.sealedSecretsCertSha256,
        desiredState: { revision: cm.data.revision, sealedSecretsCertSha256: cm.data.sealedSecretsCertSha256 },
        flux: { bucket: { ready: true, message: "stored", revision: "sha256:x" }, kustomization: { ready: true, message: "applied", lastAppliedRevision: "sha256:x" } },
        helmReleases: [{ namespace: "flux-system", name: "sealed-secrets-controller", ready: true, message: "ok" }],
        errors: [],
      };
      if (name === "b-drifting") status.desiredState = { revision: "sha256:old", sealedSecretsCertSha256: cm.data.sealedSecretsCertSha256 };
      if (name === "c-stale") status.time = new Date(now - 16 * 60_000).toISOString();
      if (name === "d-failed") status.helmReleases = [{ namespace: "flux-system", name: "sealed-secrets-controller", ready: false, message: "install retries exhausted" }];
      if (name !== "e-never") fs.writeFileSync(path.join(dir, "status.json"), JSON.stringify(status));
    }
  });
  after(() => fs.rmSync(bucketDir, { recursive: true, force: true }));

  it("prints one line per cluster, progress on stderr, and exits 1 when any cluster is not in sync", () => {
    const res = tsx("scripts/fleet.ts", ["status", "--stage", "testing", "--stack-file", stackFile, "--bucket-dir", bucketDir]);
    assert.equal(res.status, 1, res.stderr);
    const lines = res.stdout.trim().split("\n");
    assert.equal(lines.length, 5, res.stdout);
    const state = (c: string) => lines.find((l) => l.startsWith(c))?.slice(c.length).trim() ?? "";
    assert.match(state("a-in-sync"), /^in sync +revision sha256:/);
    assert.match(state("b-drifting"), /^drifting +applied sha256:old, the centre published sha256:/);
    assert.match(state("c-stale"), /^stale +last report 16m ago/);
    assert.match(state("d-failed"), /^failed +HelmRelease flux-system\/sealed-secrets-controller not Ready: install retries exhausted/);
    assert.match(state("e-never"), /^stale +no status report yet/);
    assert.match(res.stderr, /fleet: 5\/5/);
    assert.match(res.stderr, /1 in sync, 1 drifting, 2 stale, 1 failed/);
  });

  it("--json gives the same verdicts as data, and --stale-after moves the stale line", () => {
    const res = tsx("scripts/fleet.ts", ["status", "--stage", "testing", "--stack-file", stackFile, "--bucket-dir", bucketDir, "--json", "--stale-after", "4"]);
    assert.equal(res.status, 1, res.stderr);
    const verdicts = JSON.parse(res.stdout) as { cluster: string; state: string }[];
    assert.deepEqual(Object.fromEntries(verdicts.map((v) => [v.cluster, v.state])), {
      "a-in-sync": "in sync", "b-drifting": "drifting", "c-stale": "in sync", "d-failed": "failed", "e-never": "stale",
    });
  });

  it("exits 0 when every cluster is in sync, and 64 on bad usage", () => {
    const only = YAML.parse(fs.readFileSync(stackFile, "utf8")) as { config: Record<string, unknown> };
    only.config["edp:edgeClusters"] = [{ name: "a-in-sync", bootstrap: "script", hosts: ["h1"] }];
    const file = path.join(bucketDir, "only.yaml");
    fs.writeFileSync(file, YAML.stringify(only));
    const ok = tsx("scripts/fleet.ts", ["status", "--stage", "testing", "--stack-file", file, "--bucket-dir", bucketDir]);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /^a-in-sync +in sync/);
    const bad = tsx("scripts/fleet.ts", ["status"]);
    assert.equal(bad.status, 64);
    assert.match(bad.stderr, /--stage is required/);
  });
});
