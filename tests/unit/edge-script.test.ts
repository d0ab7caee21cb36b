/**
 * The bootstrap script, run for real by bash with a fake `kubectl` first on PATH that records
 * each call's arguments (and stdin, for applies) and answers reads from environment variables.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import YAML from "yaml";
import { renderBootstrapScript } from "../../components/edge/bootstrap-script";
import {
  bucketCredentialsSecret,
  type EdgeClusterSpec,
  identityConfigMap,
  sealedSecretsKeyName,
  sealedSecretsKeySecret,
  syncObjects,
} from "../../components/edge/manifests";
import { statusCredentialsSecret } from "../../components/edge/status";
import { clusterUuid } from "../../components/edge/uuid";
import { FLUX_VERSION } from "../../components/versions";
import { validateObject } from "../harness/k8s-schema";

const FAKE_KUBECTL = `#!/usr/bin/env bash
set -u
dir="$FAKE_KUBECTL_LOG"
n="$(find "$dir" -name '*.args' | wc -l)"
n="$(printf '%03d' "$n")"
printf '%s\\n' "$@" >"$dir/$n.args"
args=" $* "
case "$args" in
  *" apply "*" -f - "*)
    cat >"$dir/$n.stdin"
    if [ -n "\${FAKE_FAIL_APPLY_MATCH:-}" ] && grep -q -- "$FAKE_FAIL_APPLY_MATCH" "$dir/$n.stdin"; then
      echo "error: fake apply failure" >&2
      exit 1
    fi
    echo "serverside-applied"
    ;;
  *" apply "*)
    # Applying Flux's install manifests makes its CRDs served.
    touch "$dir/flux-installed"
    echo "serverside-applied"
    ;;
  *" config current-context "*)
    if [ -z "\${FAKE_CONTEXT:-}" ]; then echo "error: current-context is not set" >&2; exit 1; fi
    echo "$FAKE_CONTEXT"
    ;;
  *" get configmap "*)
    case "$args" in
      *"{.data.uuid}"*) printf '%s' "\${FAKE_MARKER_UUID:-}" ;;
      *"{.data.stage}"*) printf '%s' "\${FAKE_MARKER_STAGE:-}" ;;
      *"{.data.cluster}"*) printf '%s' "\${FAKE_MARKER_CLUSTER:-}" ;;
    esac
    ;;
  *" get crd "*) if [ "\${FAKE_FLUX:-yes}" = yes ] || [ -e "$dir/flux-installed" ]; then printf 'v1beta2 v1 v2'; fi ;;
  *" get node "*)
    for n in \${FAKE_NODES:-}; do
      case "$args" in *" get node $n "*) printf 'node/%s' "$n" ;; esac
    done
    ;;
  *" get secret "*) if [ "\${FAKE_KEY_EXISTS:-no}" = yes ]; then printf 'secret/x'; fi ;;
  *" get deployment "*) if [ "\${FAKE_CONTROLLER_EXISTS:-no}" = yes ]; then printf 'deployment.apps/sealed-secrets-controller'; fi ;;
esac
exit 0
`;

/** The operator's flux CLI: records its arguments; installing makes the CRDs served. */
const FAKE_FLUX = `#!/usr/bin/env bash
dir="$FAKE_KUBECTL_LOG"
n="$(find "$dir" -name '*.args' | wc -l)"
printf '%s\\n' flux "$@" >"$dir/$(printf '%03d' "$n").args"
if [ "\${FAKE_FLUX_FAILS:-no}" = yes ]; then echo "✗ install failed" >&2; exit 1; fi
touch "$dir/flux-installed"
`;

const spec: EdgeClusterSpec = {
  stage: "testing",
  name: "lab-line-1",
  uuid: clusterUuid("testing", "lab-line-1"),
  prefix: "testing/clusters/lab-line-1/",
  bucket: "example-edp-testing-manifests",
  endpoint: "oss-eu-central-1.aliyuncs.com",
  region: "eu-central-1",
  syncInterval: "5m",
  sealedSecretsKeyVersion: 2,
  taintKey: "factoryplus.app.amrc.co.uk/specialised",
  specialisedHosts: [
    { host: "lab-edge-01", value: "opcua" },
    { host: "lab-edge-02", value: "vision" },
  ],
  statusIntervalMinutes: 5,
};
const STATUS_SECRET = "fake-status-secret-qq7";
const ACCESS_KEY_SECRET = "fake-secret-value-zz9";
const PRIVATE_KEY = "-----BEGIN RSA PRIVATE KEY-----\nZmFrZQ==\n-----END RSA PRIVATE KEY-----\n";

const script = renderBootstrapScript({
  stage: spec.stage,
  cluster: spec.name,
  uuid: spec.uuid,
  identity: identityConfigMap(spec),
  sealedSecretsKey: sealedSecretsKeySecret(spec.sealedSecretsKeyVersion, { certificate: "-----BEGIN CERTIFICATE-----\nZmFrZQ==\n-----END CERTIFICATE-----\n", privateKey: PRIVATE_KEY }),
  bucketCredentials: bucketCredentialsSecret({ accessKeyId: "LTAI5tFakeId", accessKeySecret: ACCESS_KEY_SECRET }),
  statusCredentials: statusCredentialsSecret({ accessKeyId: "LTAI5tFakeStatus", accessKeySecret: STATUS_SECRET }),
  sync: syncObjects(spec),
  fluxVersion: FLUX_VERSION,
  taintKey: spec.taintKey,
  specialisedHosts: spec.specialisedHosts,
});

interface Call {
  args: string[];
  stdin?: string;
}
interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  calls: Call[];
  /** Kinds/names applied from stdin, in order. */
  applied: string[];
}

let tmp: string;
let binDir: string;
let fluxBinDir: string;

/** Runs the script as an operator would: piped into `bash -s --` with arguments. */
function runScript(env: Record<string, string>, args: string[] = [], bin = binDir): Run {
  const logDir = fs.mkdtempSync(path.join(tmp, "log-"));
  const res = spawnSync("bash", ["-s", "--", ...args], {
    input: script,
    env: { PATH: `${bin}:/usr/bin:/bin`, HOME: tmp, FAKE_KUBECTL_LOG: logDir, FAKE_NODES: "lab-edge-01 lab-edge-02", ...env },
    encoding: "utf8",
  });
  const calls = fs
    .readdirSync(logDir)
    .filter((f) => f.endsWith(".args"))
    .sort()
    .map((f) => {
      const stdinFile = path.join(logDir, f.replace(/\.args$/, ".stdin"));
      return {
        args: fs.readFileSync(path.join(logDir, f), "utf8").replace(/\n$/, "").split("\n"),
        stdin: fs.existsSync(stdinFile) ? fs.readFileSync(stdinFile, "utf8") : undefined,
      };
    });
  const applied = calls.flatMap((c) =>
    c.stdin === undefined
      ? []
      : YAML.parseAllDocuments(c.stdin)
          .map((d) => d.toJS() as { kind: string; metadata: { name: string } } | null)
          .filter((o) => o !== null)
          .map((o) => `${o.kind}/${o.metadata.name}`),
  );
  return { status: res.status, stdout: res.stdout, stderr: res.stderr, calls, applied };
}

const EXPECTED_ORDER = [
  "ConfigMap/edp-cluster-identity",
  `Secret/${sealedSecretsKeyName(2)}`,
  "Secret/edp-desired-state-credentials",
  "Secret/edp-status-credentials",
  "Bucket/edp-desired-state",
  "Kustomization/edp-desired-state",
];

describe("edge: bootstrap script", function () {
  this.timeout(60_000);

  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "edp-edge-script-"));
    binDir = path.join(tmp, "bin");
    fs.mkdirSync(binDir);
    fs.writeFileSync(path.join(binDir, "kubectl"), FAKE_KUBECTL, { mode: 0o755 });
    fluxBinDir = path.join(tmp, "bin-with-flux");
    fs.mkdirSync(fluxBinDir);
    fs.writeFileSync(path.join(fluxBinDir, "kubectl"), FAKE_KUBECTL, { mode: 0o755 });
    fs.writeFileSync(path.join(fluxBinDir, "flux"), FAKE_FLUX, { mode: 0o755 });
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it("passes bash -n", () => {
    const res = spawnSync("bash", ["-n"], { input: script, encoding: "utf8" });
    assert.equal(res.status, 0, res.stderr);
  });

  it("passes shellcheck", () => {
    const res = spawnSync("shellcheck", ["--shell=bash", "--severity=style", "-"], { input: script, encoding: "utf8" });
    assert.equal(res.error, undefined, "shellcheck is not installed (Debian package shellcheck, .ci/debian-packages.txt)");
    assert.equal(res.status, 0, res.stdout + res.stderr);
  });

  it("bootstraps a new cluster whose context names it: checks identity, then applies marker, key, credentials, sync in that order", async () => {
    const run = runScript({ FAKE_CONTEXT: "lab-line-1" });
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(run.applied, EXPECTED_ORDER);
    const firstApply = run.calls.findIndex((c) => c.args.includes("apply"));
    const identityRead = run.calls.findIndex((c) => c.args.includes("configmap"));
    const contextRead = run.calls.findIndex((c) => c.args.join(" ") === "config current-context");
    const fluxCheck = run.calls.findIndex((c) => c.args.includes("crd"));
    assert.ok(identityRead >= 0 && identityRead < contextRead && contextRead < firstApply, "identity is checked before anything is applied");
    assert.ok(fluxCheck > firstApply && fluxCheck < run.calls.findIndex((c) => c.stdin?.includes("sealed-secrets-key")), "Flux is checked after the claim, before the key");
    for (const c of run.calls.filter((x) => x.args.includes("apply"))) {
      assert.deepEqual(c.args.slice(0, 5), ["apply", "--server-side", "--field-manager=edp-bootstrap", "--force-conflicts", "-f"]);
    }
    for (const c of run.calls) {
      if (c.stdin === undefined) continue;
      for (const doc of YAML.parseAllDocuments(c.stdin)) {
        const obj = doc.toJS() as Record<string, unknown> | null;
        if (obj) await validateObject(obj);
      }
    }
  });

  it("never prints a credential or the private key", () => {
    const run = runScript({ FAKE_CONTEXT: "lab-line-1" });
    const printed = run.stdout + run.stderr;
    assert.ok(!printed.includes(ACCESS_KEY_SECRET) && !printed.includes(Buffer.from(ACCESS_KEY_SECRET).toString("base64")));
    assert.ok(!printed.includes(STATUS_SECRET) && !printed.includes(Buffer.from(STATUS_SECRET).toString("base64")));
    assert.ok(!printed.includes("PRIVATE KEY") && !printed.includes(Buffer.from(PRIVATE_KEY).toString("base64")));
  });

  it("re-runs on a cluster that carries its own marker, whatever the context is called, and applies the same objects again", () => {
    const run = runScript({ FAKE_CONTEXT: "default", FAKE_MARKER_UUID: spec.uuid, FAKE_KEY_EXISTS: "yes", FAKE_CONTROLLER_EXISTS: "yes" });
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(run.applied, EXPECTED_ORDER);
    assert.ok(!run.calls.some((c) => c.args.includes("rollout")), "an unchanged key does not restart the controller");
  });

  it("restarts a running sealed-secrets controller when it brings a new key", () => {
    const run = runScript({ FAKE_MARKER_UUID: spec.uuid, FAKE_KEY_EXISTS: "no", FAKE_CONTROLLER_EXISTS: "yes" });
    assert.equal(run.status, 0, run.stderr);
    const restart = run.calls.findIndex((c) => c.args.includes("rollout"));
    const key = run.calls.findIndex((c) => c.stdin?.includes(sealedSecretsKeyName(2)));
    assert.ok(restart > key, "restart after the key is applied");
    assert.deepEqual(run.calls[restart].args, ["rollout", "restart", "-n", "kube-system", "deployment/sealed-secrets-controller"]);
  });

  it("refuses a cluster marked as another cluster, applying nothing", () => {
    const run = runScript({ FAKE_CONTEXT: "lab-line-1", FAKE_MARKER_UUID: clusterUuid("testing", "lab-line-2"), FAKE_MARKER_STAGE: "testing", FAKE_MARKER_CLUSTER: "lab-line-2" });
    assert.equal(run.status, 3);
    assert.match(run.stderr, /refusing: this cluster is marked as 'lab-line-2' of stage 'testing'/);
    assert.deepEqual(run.applied, []);
    assert.ok(!run.calls.some((c) => c.args.includes("apply")));
  });

  it("refuses the same cluster name of another stage", () => {
    const run = runScript({ FAKE_MARKER_UUID: clusterUuid("production", "lab-line-1"), FAKE_MARKER_STAGE: "production", FAKE_MARKER_CLUSTER: "lab-line-1" });
    assert.equal(run.status, 3);
    assert.match(run.stderr, /of stage 'production'/);
    assert.deepEqual(run.applied, []);
  });

  it("refuses an unmarked cluster whose context is named otherwise, and accepts it with --context naming the cluster", () => {
    const refused = runScript({ FAKE_CONTEXT: "default" });
    assert.equal(refused.status, 3);
    assert.match(refused.stderr, /no EDP identity marker and the kubectl context is 'default'/);
    assert.deepEqual(refused.applied, []);
    const accepted = runScript({ FAKE_CONTEXT: "default" }, ["--context", "lab-line-1"]);
    assert.equal(accepted.status, 0, accepted.stderr);
    assert.ok(accepted.calls.every((c) => c.args.includes("--context") && c.args[c.args.indexOf("--context") + 1] === "lab-line-1"), "every kubectl call targets the given context");
  });

  it("stops with a non-zero exit at a failed apply and applies nothing after it", () => {
    const run = runScript({ FAKE_CONTEXT: "lab-line-1", FAKE_FAIL_APPLY_MATCH: "edp-desired-state-credentials" });
    assert.equal(run.status, 1);
    assert.match(run.stderr, /applying desired-state credentials .* failed/);
    const stdinApplies = run.calls.filter((c) => c.stdin !== undefined);
    assert.ok(stdinApplies.at(-1)?.stdin?.includes("edp-desired-state-credentials"), "the failed apply is the last one");
    assert.ok(!run.applied.includes("Bucket/edp-desired-state"));
  });

  it("without Flux and without the flux CLI: says what it needs (CLI or --flux-manifests), after claiming the cluster but before any credential", () => {
    const run = runScript({ FAKE_CONTEXT: "lab-line-1", FAKE_FLUX: "no" });
    assert.equal(run.status, 4);
    assert.match(run.stderr, /Flux is not installed \(not served: buckets\.source\.toolkit\.fluxcd\.io\/v1/);
    assert.match(run.stderr, /flux CLI is not on PATH/);
    assert.match(run.stderr, new RegExp(`flux install --version=${FLUX_VERSION} --components=source-controller,kustomize-controller,helm-controller --export > flux\\.yaml`));
    assert.match(run.stderr, /--flux-manifests flux\.yaml/);
    assert.deepEqual(run.applied, ["ConfigMap/edp-cluster-identity"]);
  });

  it("installs the pinned Flux with the operator's flux CLI when the Flux APIs are absent, then continues", () => {
    const run = runScript({ FAKE_CONTEXT: "default", FAKE_FLUX: "no" }, ["--context", "lab-line-1", "--flux-registry", "registry.example-edp.net/fluxcd"], fluxBinDir);
    assert.equal(run.status, 0, run.stderr);
    const install = run.calls.findIndex((c) => c.args[0] === "flux");
    assert.ok(install >= 0, "flux was not run");
    assert.deepEqual(run.calls[install].args, [
      "flux",
      "install",
      `--version=${FLUX_VERSION}`,
      "--components=source-controller,kustomize-controller,helm-controller",
      "--context=lab-line-1",
      "--registry=registry.example-edp.net/fluxcd",
    ]);
    assert.equal(FLUX_VERSION, "v2.7.2", "the flux2 chart 2.17.0's appVersion");
    const marker = run.calls.findIndex((c) => c.stdin?.includes("edp-cluster-identity"));
    const firstWait = run.calls.findIndex((c) => c.args.includes("wait"));
    const key = run.calls.findIndex((c) => c.stdin?.includes(sealedSecretsKeyName(2)));
    assert.ok(marker < install && install < firstWait && firstWait < key, `order: marker ${marker}, flux ${install}, wait ${firstWait}, key ${key}`);
    assert.deepEqual(run.applied, EXPECTED_ORDER);
  }).timeout(60_000);

  it("does not run flux when Flux is already installed", () => {
    const run = runScript({ FAKE_CONTEXT: "lab-line-1" }, [], fluxBinDir);
    assert.equal(run.status, 0, run.stderr);
    assert.ok(!run.calls.some((c) => c.args[0] === "flux"));
  });

  it("stops with exit 4 and what to do when flux install fails", () => {
    const run = runScript({ FAKE_CONTEXT: "lab-line-1", FAKE_FLUX: "no", FAKE_FLUX_FAILS: "yes" }, [], fluxBinDir);
    assert.equal(run.status, 4);
    assert.match(run.stderr, /flux install --version=v2\.7\.2 failed.*--flux-registry.*--flux-manifests/);
    assert.deepEqual(run.applied, ["ConfigMap/edp-cluster-identity"]);
  });

  it("air-gapped: applies --flux-manifests when Flux is absent, waits for the CRDs, needs no flux CLI", () => {
    const fluxFile = path.join(tmp, "flux-install.yaml");
    fs.writeFileSync(fluxFile, "# flux install --export output\n");
    const run = runScript({ FAKE_CONTEXT: "lab-line-1", FAKE_FLUX: "no" }, ["--flux-manifests", fluxFile]);
    assert.equal(run.status, 0, run.stderr);
    const fileApply = run.calls.findIndex((c) => c.args.includes(fluxFile));
    const marker = run.calls.findIndex((c) => c.stdin?.includes("edp-cluster-identity"));
    const firstWait = run.calls.findIndex((c) => c.args[0] === "wait");
    const key = run.calls.findIndex((c) => c.stdin?.includes(sealedSecretsKeyName(2)));
    assert.ok(marker < fileApply && fileApply < firstWait && firstWait < key, `order: marker ${marker}, flux ${fileApply}, wait ${firstWait}, key ${key}`);
  });

  it("leaves an installed Flux alone even with --flux-manifests", () => {
    const fluxFile = path.join(tmp, "flux-install.yaml");
    fs.writeFileSync(fluxFile, "# flux install --export output\n");
    const run = runScript({ FAKE_CONTEXT: "lab-line-1" }, ["--flux-manifests", fluxFile]);
    assert.equal(run.status, 0, run.stderr);
    assert.ok(!run.calls.some((c) => c.args.includes(fluxFile)));
  });

  it("labels and taints the specialised hosts, after the sync objects", () => {
    const run = runScript({ FAKE_CONTEXT: "lab-line-1" });
    assert.equal(run.status, 0, run.stderr);
    const placement = run.calls.filter((c) => c.args[0] === "label" || c.args[0] === "taint").map((c) => c.args.join(" "));
    assert.deepEqual(placement, [
      "label node lab-edge-01 --overwrite factoryplus.app.amrc.co.uk/specialised=opcua",
      "taint node lab-edge-01 --overwrite factoryplus.app.amrc.co.uk/specialised=opcua:NoSchedule",
      "label node lab-edge-02 --overwrite factoryplus.app.amrc.co.uk/specialised=vision",
      "taint node lab-edge-02 --overwrite factoryplus.app.amrc.co.uk/specialised=vision:NoSchedule",
    ]);
    const sync = run.calls.findIndex((c) => c.stdin?.includes("kind: Kustomization"));
    assert.ok(run.calls.findIndex((c) => c.args[0] === "taint") > sync);
  });

  it("bootstraps everything but reports, with exit 5, a specialised host that has not joined yet", () => {
    const run = runScript({ FAKE_CONTEXT: "lab-line-1", FAKE_NODES: "lab-edge-02" });
    assert.equal(run.status, 5);
    assert.match(run.stderr, /specialised hosts lab-edge-01 are not in the cluster yet: re-run/);
    assert.deepEqual(run.applied, EXPECTED_ORDER);
    assert.deepEqual(run.calls.filter((c) => c.args[0] === "taint").map((c) => c.args[2]), ["lab-edge-02"]);
  });

  it("rejects unknown arguments with usage and exit 64, before touching the cluster", () => {
    const run = runScript({ FAKE_CONTEXT: "lab-line-1" }, ["--yes"]);
    assert.equal(run.status, 64);
    assert.match(run.stderr, /unknown argument: --yes/);
    assert.equal(run.calls.length, 0);
  });
});
