/**
 * The status writer's collector script, run by a real `sh` with real jq, base64 and sha256sum,
 * against a fake `kubectl` first on PATH that records its arguments and answers from files.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { X509Certificate, generateKeyPairSync } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { CERT_PROXY_PATH, certSha256, type ClusterStatus, STATUS_COLLECTOR_SCRIPT, statusWriterObjects } from "../../components/edge/status";
import { validateObject } from "../harness/k8s-schema";

// Answers by the object asked for; FAKE_FAIL lists words whose reads fail (as RBAC or a missing CRD would).
const FAKE_KUBECTL = `#!/bin/sh
printf '%s\\n' "$*" >>"$FAKE_LOG"
for word in \${FAKE_FAIL:-}; do
  case " $* " in *"$word"*) echo "Error from server (Forbidden): $word is forbidden" >&2; exit 1 ;; esac
done
case " $* " in
  *" get nodes "*) cat "$FAKE_DIR/nodes.json" ;;
  *" get buckets."*) cat "$FAKE_DIR/bucket.json" ;;
  *" get kustomizations."*) cat "$FAKE_DIR/kustomization.json" ;;
  *" get helmreleases."*) cat "$FAKE_DIR/helmreleases.json" ;;
  *" get configmap "*) cat "$FAKE_DIR/revision.json" ;;
  *" get --raw "*) cat "$FAKE_DIR/cert.pem" ;;
  *) echo "unexpected kubectl call: $*" >&2; exit 2 ;;
esac
`;

const ready = (status: "True" | "False", message: string) => ({ conditions: [{ type: "Ready", status, message }] });
const CERT = (() => {
  // A real certificate, so the fingerprint can be checked against Node's X509 parser.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "edp-cert-"));
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  fs.writeFileSync(path.join(dir, "key.pem"), privateKey.export({ type: "pkcs8", format: "pem" }));
  const res = spawnSync("openssl", ["req", "-x509", "-key", path.join(dir, "key.pem"), "-subj", "/CN=sealed-secrets", "-days", "1", "-out", path.join(dir, "cert.pem")], { encoding: "utf8" });
  assert.equal(res.status, 0, res.stderr);
  const pem = fs.readFileSync(path.join(dir, "cert.pem"), "utf8");
  fs.rmSync(dir, { recursive: true, force: true });
  return pem;
})();

let tmp: string;
let bin: string;

function collect(fail = ""): { status: number | null; stderr: string; report?: ClusterStatus; calls: string[] } {
  const work = fs.mkdtempSync(path.join(tmp, "work-"));
  const log = path.join(work, "kubectl.log");
  const res = spawnSync("sh", ["-c", STATUS_COLLECTOR_SCRIPT], {
    env: {
      PATH: `${bin}:/usr/bin:/bin`,
      FAKE_LOG: log,
      FAKE_DIR: tmp,
      FAKE_FAIL: fail,
      EDP_STATUS_OUT: path.join(work, "status.json"),
      EDP_STAGE: "testing",
      EDP_CLUSTER: "lab-line-1",
      EDP_CLUSTER_UUID: "0b5e1f3c-0000-5000-8000-000000000001",
    },
    encoding: "utf8",
  });
  const out = path.join(work, "status.json");
  return {
    status: res.status,
    stderr: res.stderr,
    report: fs.existsSync(out) ? (JSON.parse(fs.readFileSync(out, "utf8")) as ClusterStatus) : undefined,
    calls: fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n") : [],
  };
}

describe("edge: status writer collector", function () {
  this.timeout(60_000);

  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "edp-status-"));
    bin = path.join(tmp, "bin");
    fs.mkdirSync(bin);
    fs.writeFileSync(path.join(bin, "kubectl"), FAKE_KUBECTL, { mode: 0o755 });
    const write = (name: string, v: unknown) => fs.writeFileSync(path.join(tmp, name), typeof v === "string" ? v : JSON.stringify(v));
    write("nodes.json", {
      items: [
        { metadata: { name: "lab-edge-01", labels: { "kubernetes.io/hostname": "lab-edge-01", "factoryplus.app.amrc.co.uk/specialised": "opcua" } }, status: ready("True", "kubelet is posting ready status") },
        { metadata: { name: "lab-edge-02", labels: { "kubernetes.io/hostname": "lab-edge-02" } }, status: ready("False", "NotReady") },
      ],
    });
    write("bucket.json", { metadata: { name: "edp-desired-state" }, status: { ...ready("True", "stored artifact"), artifact: { revision: "sha256:aaaa" } } });
    write("kustomization.json", { metadata: { name: "edp-desired-state" }, status: { ...ready("True", "Applied revision: sha256:aaaa"), lastAppliedRevision: "sha256:aaaa" } });
    write("helmreleases.json", {
      items: [
        { metadata: { namespace: "edp-edge", name: "opcua-press-1" }, status: ready("True", "Helm install succeeded") },
        { metadata: { namespace: "edp-edge", name: "opcua-floating" }, status: ready("False", "install retries exhausted") },
        { metadata: { namespace: "edp-edge", name: "new-one" } },
      ],
    });
    write("revision.json", { data: { revision: "sha256:rev1", sealedSecretsCertSha256: "ff00" } });
    write("cert.pem", CERT);
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it("passes shellcheck as POSIX sh", () => {
    const res = spawnSync("shellcheck", ["--shell=sh", "--severity=style", "-"], { input: STATUS_COLLECTOR_SCRIPT, encoding: "utf8" });
    assert.equal(res.error, undefined, "shellcheck is not installed");
    assert.equal(res.status, 0, res.stdout + res.stderr);
  });

  it("reads nodes, Flux, HelmReleases, the revision and the served certificate, and writes one JSON report", () => {
    const run = collect();
    assert.equal(run.status, 0, run.stderr);
    const r = run.report;
    assert.ok(r);
    assert.equal(r.schema, 1);
    assert.deepEqual([r.stage, r.cluster, r.uuid], ["testing", "lab-line-1", "0b5e1f3c-0000-5000-8000-000000000001"]);
    assert.ok(Math.abs(Date.parse(r.time) - Date.now()) < 60_000, r.time);
    assert.deepEqual(r.nodes, [
      { name: "lab-edge-01", ready: true, labels: { "kubernetes.io/hostname": "lab-edge-01", "factoryplus.app.amrc.co.uk/specialised": "opcua" } },
      { name: "lab-edge-02", ready: false, labels: { "kubernetes.io/hostname": "lab-edge-02" } },
    ]);
    assert.deepEqual(r.flux, {
      bucket: { ready: true, message: "stored artifact", revision: "sha256:aaaa" },
      kustomization: { ready: true, message: "Applied revision: sha256:aaaa", lastAppliedRevision: "sha256:aaaa" },
    });
    assert.deepEqual(r.helmReleases, [
      { namespace: "edp-edge", name: "opcua-press-1", ready: true, message: "Helm install succeeded" },
      { namespace: "edp-edge", name: "opcua-floating", ready: false, message: "install retries exhausted" },
      { namespace: "edp-edge", name: "new-one", ready: false, message: "no Ready condition" },
    ]);
    assert.deepEqual(r.desiredState, { revision: "sha256:rev1", sealedSecretsCertSha256: "ff00" });
    // The collector's sha256 of the DER equals Node's X.509 fingerprint, and the centre's certSha256.
    const expected = new X509Certificate(CERT).fingerprint256.replace(/:/g, "").toLowerCase();
    assert.equal(r.sealedSecretsCertSha256, expected);
    assert.equal(certSha256(CERT), expected);
    assert.deepEqual(r.errors, []);
  });

  it("asks kubectl for exactly what its RBAC allows, and the certificate through kubeseal's proxy path", () => {
    const run = collect();
    assert.deepEqual(run.calls, [
      "get nodes -o json",
      "get buckets.source.toolkit.fluxcd.io -n flux-system edp-desired-state -o json",
      "get kustomizations.kustomize.toolkit.fluxcd.io -n flux-system edp-desired-state -o json",
      "get helmreleases.helm.toolkit.fluxcd.io --all-namespaces -o json",
      "get configmap -n flux-system edp-desired-state-revision -o json",
      `get --raw ${CERT_PROXY_PATH}`,
    ]);
  });

  it("still reports when reads fail, with null fields and the errors that say why", () => {
    const run = collect("kustomizations.kustomize --raw");
    assert.equal(run.status, 0, run.stderr);
    const r = run.report;
    assert.ok(r);
    assert.equal(r.flux.kustomization, null);
    assert.equal(r.sealedSecretsCertSha256, null);
    assert.ok(r.nodes && r.nodes.length === 2, "the readable parts are still there");
    assert.equal(r.errors.length, 2, r.errors.join("\n"));
    assert.match(r.errors[0], /^Flux Kustomization flux-system\/edp-desired-state: Error from server \(Forbidden\)/);
    assert.match(r.errors[1], /^sealed-secrets certificate: /);
  });

  it("ships as a CronJob whose objects are valid, with the script mounted and the upload limited to one key", async () => {
    const objects = statusWriterObjects({
      stage: "testing",
      cluster: "lab-line-1",
      uuid: "u",
      bucket: "example-edp-testing-manifests",
      endpoint: "oss-eu-central-1.aliyuncs.com",
      key: "testing/clusters/lab-line-1/status.json",
      intervalMinutes: 5,
    });
    for (const o of objects) await validateObject(o as unknown as Record<string, unknown>);
    const cron = objects.find((o) => o.kind === "CronJob") as unknown as { spec: { schedule: string; jobTemplate: { spec: { template: { spec: { containers: { args: string[] }[] } } } } } };
    assert.equal(cron.spec.schedule, "*/5 * * * *");
    assert.deepEqual(cron.spec.jobTemplate.spec.template.spec.containers[0].args.slice(0, 3), ["copyto", "/work/status.json", "oss:example-edp-testing-manifests/testing/clusters/lab-line-1/status.json"]);
    const script = objects.find((o) => o.kind === "ConfigMap") as unknown as { data: Record<string, string> };
    assert.equal(script.data["collect.sh"], STATUS_COLLECTOR_SCRIPT);
  });
});
