/**
 * The K3s sites' scripts, run for real by bash: shellcheck on each; the enrolment script against
 * a temp root with recording fakes of the device's system (k3s, kubectl, systemctl, apt-get,
 * dpkg-query, curl, hostname) first on PATH, and Debian's real `wg` for the keys; the server's
 * reconciler against a fake kubectl that holds nodes, DaemonSets and taints.
 */
import assert from "node:assert/strict";
import { statusCredentialsSecret } from "../../components/edge/status";
import { FLUX_VERSION } from "../../components/versions";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { renderBootstrapScript } from "../../components/edge/bootstrap-script";
import { bucketCredentialsSecret, type EdgeClusterSpec, identityConfigMap, sealedSecretsKeySecret, syncObjects } from "../../components/edge/manifests";
import { clusterUuid } from "../../components/edge/uuid";
import { renderAccessCommand } from "../../components/sites/access";
import { DEVICE_MARKER, ENROL_EXIT, type EnrolmentInput, K3S_CONFIG, renderEnrolmentScript } from "../../components/sites/enrol-script";
import { renderHubHostSteps } from "../../components/sites/hub";
import { calicoGlobalPolicies, fluxHelmChart, K3S_MANIFESTS_DIR } from "../../components/sites/k3s-manifests";
import { type PlannedDevice, planSites, type SitesPlan } from "../../components/sites/plan";
import { renderReconcileScript, renderReconcileUnits, siteDevicesConfigMap } from "../../components/sites/reconcile";
import { toMultiDocYaml } from "../../components/edge/manifests";
import { DEVICE_CONFIG_FILE, DEVICE_KEY_FILE, renderDeviceConfig, wireGuardPublicKey } from "../../components/sites/wireguard";
import type { StageInput } from "../../config/schema";

const TOKEN = "k3s-join-token-fake-0123456789";
const SITE = "line-7";

/** One recording fake, installed under every name: it logs `name args…` and answers from $FAKE_STATE. */
const FAKE = String.raw`#!/usr/bin/env bash
set -u
name="$(basename "$0")"
printf '%s %s\n' "$name" "$*" >>"$FAKE_STATE/calls"
args=" $* "
case "$name" in
  hostname) echo "$FAKE_HOSTNAME" ;;
  dpkg-query) [ -f "$FAKE_STATE/wireguard-installed" ] && printf 'install ok installed' ;;
  apt-get) case "$args" in *" install "*) touch "$FAKE_STATE/wireguard-installed" ;; esac ;;
  curl)
    out=""; url=""
    while [ "$#" -gt 0 ]; do case "$1" in -o) out="$2"; shift 2 ;; -*) shift ;; *) url="$1"; shift ;; esac; done
    case "$url" in
      *install.sh) printf '#!/bin/sh\nprintf "installer %%s %%s\\n" "$INSTALL_K3S_VERSION" "$INSTALL_K3S_EXEC" >>"$FAKE_STATE/calls"\necho "$INSTALL_K3S_VERSION" >"$FAKE_STATE/k3s-version"\nmkdir -p "$EDP_ENROL_ROOT/etc/rancher/k3s"\necho "apiVersion: v1" >"$EDP_ENROL_ROOT/etc/rancher/k3s/k3s.yaml"\n' >"$out" ;;
      *calico.yaml) printf 'kind: DaemonSet\n            # - name: CALICO_IPV4POOL_CIDR\n            #   value: "192.168.0.0/16"\n' >"$out" ;;
      *) exit 22 ;;
    esac
    ;;
  # As the real binary: two lines, in two writes (the pause makes a reader that stops after the first certain to have stopped).
  k3s) [ -f "$FAKE_STATE/k3s-version" ] || exit 1; printf 'k3s version %s (fake)\n' "$(cat "$FAKE_STATE/k3s-version")"; sleep 0.2; printf 'go version go1.22\n' ;;
  systemctl)
    unit="$(printf '%s' "$*" | awk '{print $NF}')"
    case "$args" in
      *" is-active "*) [ -f "$FAKE_STATE/active-$unit" ] ;;
      *" start "* | *" restart "* | *"--now"*) touch "$FAKE_STATE/active-$unit" ;;
    esac
    ;;
  kubectl)
    case "$args" in
      *" apply "*) cat >/dev/null; echo applied ;;
      *" get crd "*) printf 'v1beta2 v1 v2' ;;
      *" get configmap edp-site-devices "*)
        key="$(printf '%s' "$args" | sed -n 's/.*{\.data\.\([A-Za-z]*\)}.*/\1/p')"
        [ -f "$FAKE_STATE/cm-$key" ] && cat "$FAKE_STATE/cm-$key"
        ;;
      *" get nodes "*) [ -f "$FAKE_STATE/nodes" ] && tr '\n' ' ' <"$FAKE_STATE/nodes" ;;
      *" get daemonsets "*) [ -f "$FAKE_STATE/daemonsets" ] && cat "$FAKE_STATE/daemonsets" ;;
      *" get node "*) n="$(printf '%s' "$args" | awk '{print $3}')"; [ -f "$FAKE_STATE/taint-$n" ] && cat "$FAKE_STATE/taint-$n" ;;
      *" taint node "*)
        n="$(printf '%s' "$args" | awk '{print $3}')"; t="$(printf '%s' "$args" | awk '{print $4}')"
        case "$t" in *-) rm -f "$FAKE_STATE/taint-$n" ;; *) printf '%s:%s ' "$(printf '%s' "$t" | cut -d= -f1)" "$(printf '%s' "$t" | sed 's/.*://')" >"$FAKE_STATE/taint-$n" ;; esac
        ;;
    esac
    ;;
esac
exit 0
`;
const FAKE_NAMES = ["hostname", "dpkg-query", "apt-get", "curl", "k3s", "systemctl", "kubectl"];

interface Env {
  root: string;
  state: string;
  bin: string;
}

function makeEnv(): Env {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "edp-site-scripts-"));
  const env = { root: path.join(dir, "root"), state: path.join(dir, "state"), bin: path.join(dir, "bin") };
  for (const d of Object.values(env)) fs.mkdirSync(d, { recursive: true });
  fs.writeFileSync(path.join(env.bin, "fake"), FAKE, { mode: 0o755 });
  for (const n of FAKE_NAMES) fs.symlinkSync(path.join(env.bin, "fake"), path.join(env.bin, n));
  return env;
}

function run(script: string, env: Env, extra: Record<string, string> = {}) {
  return spawnSync("bash", ["-s"], {
    input: script,
    encoding: "utf8",
    env: { ...process.env, PATH: `${env.bin}:${process.env.PATH}`, EDP_ENROL_ROOT: env.root, EDP_ENROL_WAIT_TRIES: "3", FAKE_STATE: env.state, FAKE_HOSTNAME: "unset", ...extra },
  });
}
const calls = (env: Env) => (fs.existsSync(path.join(env.state, "calls")) ? fs.readFileSync(path.join(env.state, "calls"), "utf8") : "");

function listFiles(dir: string): Record<string, number> {
  const out: Record<string, number> = {};
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[path.relative(dir, p)] = fs.statSync(p).mtimeMs;
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return out;
}

const wg = (args: string[], input?: string) => execFileSync("wg", args, { input, encoding: "utf8" }).trim();

function sites(keys: Record<string, string>): Pick<StageInput, "sites" | "siteHub"> {
  return {
    sites: [
      {
        name: SITE,
        k3sVersion: "v1.31.4+k3s1",
        clusterCidr: "10.42.0.0/16",
        serviceCidr: "10.43.0.0/16",
        deviceTraffic: "hub-only",
        serverLanAddress: "192.168.7.10",
        workerTaint: { key: "edp.daim.de/worker", value: "true", effect: "NoSchedule", enabled: true },
        devices: [
          { name: "l7-srv", role: "server", labels: {}, workerTaint: true, publicKey: keys.srv, generateKey: false, maintenance: true },
          { name: "l7-w1", role: "agent", labels: { "edp.daim.de/line": "7" }, workerTaint: true, publicKey: keys.w1, generateKey: false, maintenance: false },
          { name: "l7-w2", role: "agent", labels: {}, workerTaint: false, generateKey: true, maintenance: false },
        ],
      },
    ],
    siteHub: { listenPort: 51820, tunnelCidr: "10.250.0.0/22", deviceSourceCidrs: ["0.0.0.0/0"], operators: [] },
  };
}

const spec: EdgeClusterSpec = {
  stage: "testing",
  name: SITE,
  uuid: clusterUuid("testing", SITE),
  prefix: `testing/clusters/${SITE}/`,
  bucket: "example-edp-testing-manifests",
  endpoint: "oss-eu-central-1.aliyuncs.com",
  region: "eu-central-1",
  syncInterval: "5m",
  sealedSecretsKeyVersion: 1,
  taintKey: "factoryplus.app.amrc.co.uk/specialised",
  specialisedHosts: [],
  statusIntervalMinutes: 5,
};
const siteBootstrap = renderBootstrapScript({
  stage: "testing",
  cluster: SITE,
  uuid: spec.uuid,
  identity: identityConfigMap(spec),
  sealedSecretsKey: sealedSecretsKeySecret(1, { certificate: "-----BEGIN CERTIFICATE-----\nZmFrZQ==\n-----END CERTIFICATE-----\n", privateKey: "-----BEGIN RSA PRIVATE KEY-----\nZmFrZQ==\n-----END RSA PRIVATE KEY-----\n" }),
  bucketCredentials: bucketCredentialsSecret({ accessKeyId: "LTAI5tFakeId", accessKeySecret: "fake-secret" }),
  statusCredentials: statusCredentialsSecret({ accessKeyId: "LTAI5tFakeStatus", accessKeySecret: "fake-status-secret" }),
  fluxVersion: FLUX_VERSION,
  taintKey: spec.taintKey,
  specialisedHosts: [],
  sync: syncObjects(spec),
});

describe("K3s site scripts, run for real", function () {
  this.timeout(120_000);
  const devKeys = { srv: wg(["genkey"]), w1: wg(["genkey"]), other: wg(["genkey"]) };
  const generatedKey = wg(["genkey"]);
  const hubKey = wg(["genkey"]);
  const cfg = sites({ srv: wg(["pubkey"], devKeys.srv), w1: wg(["pubkey"], devKeys.w1) });
  const plan: SitesPlan = planSites("testing", cfg.sites, cfg.siteHub);
  const device = (name: string) => plan.devices.find((d) => d.name === name) as PlannedDevice;

  function script(name: string): string {
    const d = device(name);
    const site = plan.sites[0];
    const input: EnrolmentInput = {
      stage: "testing",
      site,
      joinsOverTunnel: false,
      device: d,
      token: TOKEN,
      publicKey: d.publicKey ?? wireGuardPublicKey(generatedKey),
      generatedPrivateKey: d.keySource === "generated" ? generatedKey : undefined,
      wireGuardConfig: renderDeviceConfig({ id: d.id, address: d.address, hubPublicKey: wireGuardPublicKey(hubKey), hubEndpoint: "203.0.113.5:51820", hubAddress: plan.hubAddress, siteAddresses: [] }),
      ...(d.role === "server"
        ? {
            serverManifests: { "edp-global-policies.yaml": toMultiDocYaml(calicoGlobalPolicies()), "edp-flux.yaml": toMultiDocYaml([fluxHelmChart()]) },
            siteBootstrapScript: siteBootstrap,
            reconcile: { script: renderReconcileScript(SITE), ...renderReconcileUnits() },
          }
        : {}),
    };
    return renderEnrolmentScript(input);
  }

  /** A device's own key file, as the operator made it with wg genkey. */
  const withKey = (env: Env, key: string) => {
    fs.mkdirSync(path.join(env.root, path.dirname(DEVICE_KEY_FILE)), { recursive: true });
    fs.writeFileSync(path.join(env.root, DEVICE_KEY_FILE), `${key}\n`, { mode: 0o600 });
  };

  it("shellcheck passes every script: enrolment (server, agent, generated key), reconciler, edp-access, hub host steps", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "edp-site-shellcheck-"));
    const files = {
      "enrol-server.sh": script("l7-srv"),
      "enrol-agent.sh": script("l7-w1"),
      "enrol-generated.sh": script("l7-w2"),
      "reconcile.sh": renderReconcileScript(SITE),
      "edp-access.sh": renderAccessCommand(),
      "hub-steps.sh": `#!/bin/bash\ndeclare -A changed=([wireguard]=1 [access]=1)\n${renderHubHostSteps()}`,
    };
    for (const [f, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, f), text);
    const r = spawnSync("shellcheck", ["--severity=style", ...Object.keys(files).map((f) => path.join(dir, f))], { encoding: "utf8" });
    fs.rmSync(dir, { recursive: true, force: true });
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });

  it("enrols the server: WireGuard from Debian, the tunnel, K3s server with Calico, the global policies, Flux, the site's sync and the reconciler", () => {
    const env = makeEnv();
    withKey(env, devKeys.srv);
    const r = run(script("l7-srv"), env, { FAKE_HOSTNAME: "l7-srv" });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const log = calls(env);
    assert.match(log, /^apt-get install -y -qq --no-install-recommends wireguard-tools$/m);
    assert.match(log, /^curl .*https:\/\/raw\.githubusercontent\.com\/k3s-io\/k3s\/v1\.31\.4%2Bk3s1\/install\.sh -o /m);
    assert.match(log, /^installer v1\.31\.4\+k3s1 server$/m);
    assert.match(log, /^systemctl enable wg-quick@edp0$/m);
    assert.match(log, /^systemctl restart wg-quick@edp0$/m);
    assert.match(log, /^systemctl enable --now edp-site-reconcile\.timer$/m);
    assert.match(log, /^kubectl --context line-7 apply --server-side/m, "the site's desired-state sync ran against the site's context");
    const conf = fs.readFileSync(path.join(env.root, K3S_CONFIG), "utf8");
    assert.match(conf, /^node-name: l7-srv$/m);
    assert.match(conf, new RegExp(`^token: ${TOKEN}$`, "m"));
    assert.match(conf, /^flannel-backend: none$/m);
    assert.match(conf, /^cluster-cidr: 10\.42\.0\.0\/16$/m);
    assert.match(conf, /edp\.daim\.de\/site=line-7/);
    assert.equal((fs.statSync(path.join(env.root, K3S_CONFIG)).mode & 0o777).toString(8), "600");
    const calico = fs.readFileSync(path.join(env.root, K3S_MANIFESTS_DIR, "calico.yaml"), "utf8");
    assert.match(calico, /^# edp calico v3\./);
    assert.match(calico, /- name: CALICO_IPV4POOL_CIDR\n\s+value: "10\.42\.0\.0\/16"/);
    assert.match(fs.readFileSync(path.join(env.root, K3S_MANIFESTS_DIR, "edp-global-policies.yaml"), "utf8"), /name: default-deny/);
    assert.match(fs.readFileSync(path.join(env.root, DEVICE_CONFIG_FILE), "utf8"), /Endpoint = 203\.0\.113\.5:51820/);
    assert.match(fs.readFileSync(path.join(env.root, DEVICE_MARKER), "utf8"), new RegExp(`EDP_DEVICE_UUID=${device("l7-srv").uuid}`));
  });

  it("re-running it changes nothing: no install, no download, no restart, no file rewritten", () => {
    const env = makeEnv();
    withKey(env, devKeys.srv);
    assert.equal(run(script("l7-srv"), env, { FAKE_HOSTNAME: "l7-srv" }).status, 0);
    const before = listFiles(env.root);
    fs.writeFileSync(path.join(env.state, "calls"), "");
    const again = run(script("l7-srv"), env, { FAKE_HOSTNAME: "l7-srv" });
    assert.equal(again.status, 0, again.stdout + again.stderr);
    const log = calls(env);
    assert.doesNotMatch(log, /^apt-get/m);
    assert.doesNotMatch(log, /^curl/m);
    assert.doesNotMatch(log, /^installer/m);
    assert.doesNotMatch(log, /^systemctl (restart|daemon-reload)/m);
    assert.deepEqual(listFiles(env.root), before);
  });

  it("enrols an agent with a centrally generated key: writes the key (0600), joins the server's LAN address, runs no site steps", () => {
    const env = makeEnv();
    const r = run(script("l7-w2"), env, { FAKE_HOSTNAME: "l7-w2" });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const key = path.join(env.root, DEVICE_KEY_FILE);
    assert.equal(fs.readFileSync(key, "utf8").trim(), generatedKey);
    assert.equal((fs.statSync(key).mode & 0o777).toString(8), "600");
    assert.match(fs.readFileSync(path.join(env.root, K3S_CONFIG), "utf8"), /^server: https:\/\/192\.168\.7\.10:6443$/m);
    const log = calls(env);
    assert.match(log, /^installer v1\.31\.4\+k3s1 agent$/m);
    assert.doesNotMatch(log, /^kubectl/m, "an agent has no kubectl rights: the taint is the server's job");
    assert.equal(fs.existsSync(path.join(env.root, K3S_MANIFESTS_DIR)), false);
  });

  const refusals: { what: string; device: string; setup: (env: Env) => void; hostname: string; message: RegExp }[] = [
    { what: "a host not named after the device, on a first run", device: "l7-w1", setup: (e) => withKey(e, devKeys.w1), hostname: "l7-srv", message: /this host is 'l7-srv', not 'l7-w1'/ },
    {
      what: "a host enrolled as another device",
      device: "l7-w1",
      setup: (e) => {
        withKey(e, devKeys.w1);
        fs.mkdirSync(path.join(e.root, "etc/edp"), { recursive: true });
        fs.writeFileSync(path.join(e.root, DEVICE_MARKER), `EDP_DEVICE=l7-srv\nEDP_DEVICE_UUID=${device("l7-srv").uuid}\n`);
      },
      hostname: "l7-w1",
      message: /enrolled as l7-srv/,
    },
    { what: "a host whose WireGuard key is not the one config names", device: "l7-w1", setup: (e) => withKey(e, devKeys.other), hostname: "l7-w1", message: /is not the key config names/ },
    { what: "a host without the key it made (config names its own key)", device: "l7-w1", setup: () => undefined, hostname: "l7-w1", message: /edp0\.key does not exist/ },
  ];
  for (const c of refusals) {
    it(`refuses ${c.what} (exit ${ENROL_EXIT.wrongDevice}), before it installs K3s or writes the tunnel`, () => {
      const env = makeEnv();
      c.setup(env);
      const before = listFiles(env.root);
      const r = run(script(c.device), env, { FAKE_HOSTNAME: c.hostname });
      assert.equal(r.status, ENROL_EXIT.wrongDevice, r.stdout + r.stderr);
      assert.match(r.stderr, c.message);
      assert.deepEqual(listFiles(env.root), before, "nothing written");
      assert.doesNotMatch(calls(env), /^(curl|installer|systemctl|k3s)/m);
    });
  }

  describe("the server's reconciler", function () {
    const list = siteDevicesConfigMap(plan.sites[0]).data as Record<string, string>;
    const setup = (daemonsets: string, nodes: string[]) => {
      const env = makeEnv();
      for (const [k, v] of Object.entries(list)) fs.writeFileSync(path.join(env.state, `cm-${k}`), v);
      fs.writeFileSync(path.join(env.state, "daemonsets"), daemonsets);
      fs.writeFileSync(path.join(env.state, "nodes"), nodes.join("\n"));
      return env;
    };
    const reconcile = (env: Env) => run(renderReconcileScript(SITE), env);

    it("withholds the worker taint while a DaemonSet does not tolerate it", () => {
      const env = setup("kube-system/calico-node\t|Exists||NoSchedule,\nedge/collector\tCriticalAddonsOnly|Exists||,\n", ["l7-srv", "l7-w1", "l7-w2"]);
      const r = reconcile(env);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /not tainting l7-w1 yet: these DaemonSets do not tolerate edp\.daim\.de\/worker=true:NoSchedule: edge\/collector/);
      assert.doesNotMatch(calls(env), /taint node/);
      assert.match(calls(env), /^kubectl label node l7-w1 edp\.daim\.de\/line=7 --overwrite$/m);
    });

    it("taints the workers that take it once every DaemonSet tolerates it, and only those", () => {
      const env = setup("kube-system/calico-node\t|Exists||NoSchedule,\nedge/collector\tedp.daim.de/worker|Equal|true|NoSchedule,\n", ["l7-srv", "l7-w1", "l7-w2"]);
      assert.equal(reconcile(env).status, 0);
      const log = calls(env);
      assert.match(log, /^kubectl taint node l7-w1 edp\.daim\.de\/worker=true:NoSchedule --overwrite$/m);
      assert.doesNotMatch(log, /taint node l7-(srv|w2)/);
      fs.writeFileSync(path.join(env.state, "calls"), "");
      assert.equal(reconcile(env).status, 0);
      assert.doesNotMatch(calls(env), /taint node/, "a second run changes nothing");
    });

    it("revokes a node of the site that config no longer lists: node and K3s node password", () => {
      const env = setup("", ["l7-srv", "l7-w1", "l7-w2", "l7-old"]);
      const r = reconcile(env);
      assert.equal(r.status, 0, r.stderr);
      const log = calls(env);
      assert.match(log, /^kubectl delete node l7-old --wait=false$/m);
      assert.match(log, /^kubectl -n kube-system delete secret l7-old\.node-password\.k3s --ignore-not-found$/m);
      assert.match(r.stdout, /revoked l7-old at \d{4}-\d\d-\d\dT/);
      assert.doesNotMatch(log, /delete node l7-(srv|w1|w2)/);
    });

    it("refuses a device list of another site", () => {
      const env = setup("", ["l7-srv"]);
      fs.writeFileSync(path.join(env.state, "cm-site"), "other-site");
      assert.equal(reconcile(env).status, 3);
      assert.doesNotMatch(calls(env), /(taint|delete|label) node/);
    });
  });
});
