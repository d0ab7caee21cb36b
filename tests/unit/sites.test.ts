/**
 * K3s sites, pure parts: config rules (each bad input named by its key, before any resource),
 * tunnel addresses, WireGuard keys against Debian's `wg`, the registry's transitions, the
 * bastion's files, and the rendered Kubernetes objects against their schemas.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { ConfigError, parseStageConfig } from "../../config";
import { derivedTunnelAddress, kubeletRefusesLabel } from "../../config/sites";
import { isWireGuardKey } from "../../config/validators";
import { renderAuthorizedKeys } from "../../components/sites/access";
import { planSites } from "../../components/sites/plan";
import { siteDevicesConfigMap } from "../../components/sites/reconcile";
import { nextRegistry, parsePreviousRegistry, type RegistryDevice } from "../../components/sites/registry";
import { renderDeviceConfig, renderHubConfig, wireGuardPublicKey } from "../../components/sites/wireguard";
import { validateObject } from "../harness/k8s-schema";
import { stageRawConfig } from "../harness/config";

type Json = Record<string, unknown>;
const KEY_A = "nKmkBZ6gpRVso6eZUWnI1nZbwCcmFXIowwlR+Cku2DM=";

function problemsOf(edit: (sites: Json[], hub: Json, raw: Record<string, string>) => void): ConfigError | undefined {
  const raw = stageRawConfig("testing");
  const sites = JSON.parse(raw.values["edp:sites"]) as Json[];
  const hub = JSON.parse(raw.values["edp:siteHub"]) as Json;
  edit(sites, hub, raw.values);
  raw.values["edp:sites"] = JSON.stringify(sites);
  raw.values["edp:siteHub"] = JSON.stringify(hub);
  try {
    parseStageConfig(raw);
    return undefined;
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
}
const devices = (sites: Json[], i = 0) => sites[i].devices as Json[];

const cases: { what: string; edit: (sites: Json[], hub: Json, raw: Record<string, string>) => void; key: string; says: RegExp }[] = [
  { what: "a K3s version that is not pinned", edit: (s) => (s[0].k3sVersion = "latest"), key: "edp:sites[0].k3sVersion", says: /pinned K3s release/ },
  { what: "a public key that is not WireGuard's base64 of 32 bytes", edit: (s) => (devices(s)[0].publicKey = "bm90LWEta2V5"), key: "edp:sites[0].devices[0].publicKey", says: /WireGuard public key/ },
  { what: "a 44-character key that is not base64 of 32 bytes", edit: (s) => (devices(s)[0].publicKey = `${"A".repeat(42)}B=`), key: "edp:sites[0].devices[0].publicKey", says: /WireGuard public key/ },
  { what: "both a public key and generateKey", edit: (s) => (devices(s)[0].generateKey = true), key: "edp:sites[0].devices[0].generateKey", says: /not both/ },
  { what: "neither a public key nor generateKey", edit: (s) => delete devices(s)[0].publicKey, key: "edp:sites[0].devices[0].publicKey", says: /wg genkey/ },
  { what: "the same public key twice", edit: (s) => (devices(s)[1].publicKey = KEY_A), key: "edp:sites[0].devices[1].publicKey", says: /also the key of edp:sites\[0\]\.devices\[0\]/ },
  { what: "two servers", edit: (s) => (devices(s)[1].role = "server"), key: "edp:sites[0].devices", says: /has 2 servers/ },
  { what: "no server", edit: (s) => (devices(s)[0].role = "agent"), key: "edp:sites[0].devices", says: /has 0 servers/ },
  { what: "a device name used twice", edit: (s) => (devices(s)[2].name = "lab-site-a-w1"), key: "edp:sites[0].devices[2].name", says: /unique across every site/ },
  { what: "a device name that is no DNS label", edit: (s) => (devices(s)[2].name = "Lab_W2"), key: "edp:sites[0].devices[2].name", says: /DNS-1123 label/ },
  { what: "a site named like an edge cluster", edit: (s) => (s[0].name = "lab-line-1"), key: "edp:sites[0].name", says: /also an edge cluster/ },
  { what: "two sites of the same name", edit: (s) => s.push({ ...s[0], devices: [{ name: "other-srv", role: "server", generateKey: true }] }), key: "edp:sites[1].name", says: /site names must be unique/ },
  { what: "a pinned address outside the tunnel range", edit: (s) => (devices(s)[0].tunnelAddress = "10.251.0.9"), key: "edp:sites[0].devices[0].tunnelAddress", says: /not a device address of 10\.250\.0\.0\/22/ },
  { what: "a pinned address that is the hub's", edit: (s) => (devices(s)[0].tunnelAddress = "10.250.0.1"), key: "edp:sites[0].devices[0].tunnelAddress", says: /the hub's/ },
  {
    what: "two devices on one address",
    edit: (s) => (devices(s)[2].tunnelAddress = derivedTunnelAddress("10.250.0.0/22", "lab-site-a", "lab-site-a-srv")),
    key: "edp:sites[0].devices[2].tunnelAddress",
    says: /also the tunnel address of lab-site-a\/lab-site-a-srv/,
  },
  { what: "a tunnel range overlapping the VPC", edit: (_s, h) => (h.tunnelCidr = "10.20.0.0/22"), key: "edp:siteHub.tunnelCidr", says: /overlaps edp:network\.vpcCidr/ },
  { what: "a tunnel range too small", edit: (_s, h) => (h.tunnelCidr = "10.250.0.0/30"), key: "edp:siteHub.tunnelCidr", says: /\/16 to \/29/ },
  { what: "a site pod CIDR overlapping the tunnel", edit: (s) => (s[0].clusterCidr = "10.250.0.0/16"), key: "edp:sites[0].clusterCidr", says: /overlaps edp:siteHub\.tunnelCidr/ },
  { what: "a hub port that is E3's HTTPS", edit: (_s, h) => (h.listenPort = 443), key: "edp:siteHub.listenPort", says: /Apache/ },
  { what: "a hub port that is E3's SSH port", edit: (_s, h) => (h.listenPort = 2222), key: "edp:siteHub.listenPort", says: /edp:e3\.sshPort/ },
  { what: "agents that cannot reach their server", edit: (s) => delete s[0].serverLanAddress, key: "edp:sites[0].serverLanAddress", says: /deviceTraffic: site/ },
  { what: "a label kubelet refuses", edit: (s) => (devices(s)[1].labels = { "node-role.kubernetes.io/worker": "true" }), key: "edp:sites[0].devices[1].labels.node-role.kubernetes.io/worker", says: /kubelet refuses/ },
  { what: "an operator key that is no OpenSSH key", edit: (_s, h) => ((h.operators as Json[])[0].sshPublicKey = "password123"), key: "edp:siteHub.operators[0].sshPublicKey", says: /OpenSSH public key/ },
  { what: "two operators sharing a key", edit: (_s, h) => (h.operators as Json[]).push({ name: "bob", sshPublicKey: (h.operators as Json[])[0].sshPublicKey }), key: "edp:siteHub.operators[1].sshPublicKey", says: /each operator has their own key/ },
  { what: "a deployment on a site that does not exist", edit: (s) => (s[0].name = "lab-site-b"), key: "edp:deployments[2].cluster", says: /not in edp:edgeClusters or edp:sites/ },
];

describe("K3s sites", function () {
  describe("config", function () {
    it("the testing stage's site of three devices is valid", () => assert.equal(problemsOf(() => undefined), undefined));
    for (const c of cases) {
      it(`rejects ${c.what}, naming ${c.key}`, () => {
        const e = problemsOf(c.edit);
        assert.ok(e, "expected a config error");
        const p = e.problems.find((x) => x.key === c.key);
        assert.ok(p, `no problem at ${c.key}; got:\n${e.message}`);
        assert.match(p.message, c.says);
      });
    }
    it("knows kubelet's own label rules", () => {
      for (const [key, refused] of [
        ["edp.daim.de/line", false],
        ["node-role.kubernetes.io/worker", true],
        ["node.kubernetes.io/instance-type", false],
        ["topology.kubernetes.io/zone", false],
        ["example.k8s.io/x", true],
        ["plain", false],
      ] as const) assert.equal(kubeletRefusesLabel(key), refused, key);
    });
  });

  describe("tunnel addresses", function () {
    const hub = { listenPort: 51820, tunnelCidr: "10.250.0.0/22", deviceSourceCidrs: ["0.0.0.0/0"], operators: [] };
    const site = (names: string[]) => ({
      name: "s",
      k3sVersion: "v1.31.4+k3s1",
      clusterCidr: "10.42.0.0/16",
      serviceCidr: "10.43.0.0/16",
      deviceTraffic: "site" as const,
      workerTaint: { key: "k", value: "v", effect: "NoSchedule" as const, enabled: false },
      devices: names.map((n, i) => ({ name: n, role: i === 0 ? ("server" as const) : ("agent" as const), labels: {}, workerTaint: true, generateKey: true, maintenance: false })),
    });
    it("do not move when other devices come or go", () => {
      const before = planSites("testing", [site(["a", "b", "c"])], hub).devices;
      const after = planSites("testing", [site(["a", "new-1", "c", "new-2"])], hub).devices;
      for (const n of ["a", "c"]) assert.equal(after.find((d) => d.name === n)?.address, before.find((d) => d.name === n)?.address, n);
    });
    it("lie in the range, never on the network, hub or broadcast address", () => {
      for (let i = 0; i < 500; i++) {
        const a = derivedTunnelAddress("10.250.0.0/29", "s", `d${i}`);
        assert.ok(["10.250.0.2", "10.250.0.3", "10.250.0.4", "10.250.0.5", "10.250.0.6"].includes(a), a);
      }
    });
  });

  describe("WireGuard", function () {
    it("derives the public key exactly as `wg pubkey` does, for keys wg made and for any 32 bytes", () => {
      const keys = [execFileSync("wg", ["genkey"], { encoding: "utf8" }).trim(), Buffer.alloc(32, 0xff).toString("base64"), Buffer.alloc(32, 0).toString("base64")];
      for (const k of keys) assert.equal(wireGuardPublicKey(k), execFileSync("wg", ["pubkey"], { input: k, encoding: "utf8" }).trim());
    });
    it("accepts only WireGuard's key form", () => {
      for (const [v, ok] of [
        [KEY_A, true],
        ["nKmkBZ6gpRVso6eZUWnI1nZbwCcmFXIowwlR+Cku2DM", false],
        ["nKmkBZ6gpRVso6eZUWnI1nZbwCcmFXIowwlR+Cku2DN=", false],
        [`${KEY_A}\n`, false],
      ] as const)
        assert.equal(isWireGuardKey(v), ok, v);
    });
    it("refuses to render a config with a malformed key", () => {
      assert.throws(() => renderHubConfig({ privateKey: "x", listenPort: 1, address: "10.0.0.1", prefixLength: 24, peers: [], forwarding: false, firewallFile: "/f" }), /private key/);
      assert.throws(
        () => renderDeviceConfig({ id: "s/d", address: "10.0.0.2", hubPublicKey: "nope", hubEndpoint: "203.0.113.1:51820", hubAddress: "10.0.0.1", siteAddresses: [] }),
        /hub's public key/,
      );
    });
  });

  describe("registry", function () {
    const dev = (name: string): RegistryDevice => ({ site: "s", name, uuid: `u-${name}`, role: "agent", tunnelAddress: "10.250.0.9", publicKey: KEY_A, keySource: "device", taint: "none", maintenance: false, labels: {} });
    const t1 = new Date("2026-12-01T10:00:00Z");
    const t2 = new Date("2026-12-02T10:00:00Z");
    const cases = [
      { what: "first deployment: nothing removed", previous: undefined, current: ["a", "b"], now: t1, removed: [] as [string, string][] },
      { what: "a device left config: recorded with the time", previous: nextRegistry("testing", [dev("a"), dev("b")], undefined, t1), current: ["a"], now: t2, removed: [["b", t2.toISOString()]] as [string, string][] },
      {
        what: "a later deployment keeps the first removal time",
        previous: nextRegistry("testing", [dev("a")], nextRegistry("testing", [dev("a"), dev("b")], undefined, t1), t1),
        current: ["a"],
        now: t2,
        removed: [["b", t1.toISOString()]] as [string, string][],
      },
      { what: "a device added again leaves the removed list", previous: nextRegistry("testing", [dev("a")], nextRegistry("testing", [dev("a"), dev("b")], undefined, t1), t1), current: ["a", "b"], now: t2, removed: [] as [string, string][] },
    ];
    for (const c of cases) {
      it(c.what, () => {
        const r = nextRegistry("testing", c.current.map(dev), c.previous, c.now);
        assert.deepEqual(r.devices.map((d) => d.name), c.current);
        assert.deepEqual(r.removed.map((x) => [x.name, x.removedAt]), c.removed);
      });
    }
    it("reads back what it wrote, and ignores what it cannot read", () => {
      const r = nextRegistry("testing", [dev("a")], undefined, t1);
      assert.deepEqual(parsePreviousRegistry(JSON.stringify(r)), r);
      assert.deepEqual(parsePreviousRegistry(r), r);
      for (const bad of [undefined, "", "{", { schemaVersion: 99, devices: [], removed: [] }, { devices: "x" }]) assert.equal(parsePreviousRegistry(bad), undefined);
    });
  });

  describe("edp-access", function () {
    it("gives each operator their own restricted line with a forced command naming them", () => {
      const text = renderAuthorizedKeys([
        { name: "alice", sshPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMUrfX+Wa0XDjz5yfOTYCJShNTn7DUFX+hBmVmZQMhS7 alice@laptop" },
        { name: "bob", sshPublicKey: "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTY= bob" },
      ]);
      assert.deepEqual(text.split("\n").filter((l) => l && !l.startsWith("#")), [
        'restrict,command="/usr/local/sbin/edp-access alice" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMUrfX+Wa0XDjz5yfOTYCJShNTn7DUFX+hBmVmZQMhS7 alice',
        'restrict,command="/usr/local/sbin/edp-access bob" ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTY= bob',
      ]);
      assert.throws(() => renderAuthorizedKeys([{ name: 'x" ; rm', sshPublicKey: "ssh-ed25519 AAAA x" }]), /bad operator name/);
    });
  });

  describe("Kubernetes objects", function () {
    it("the site's device list is a valid ConfigMap", async () => {
      const raw = stageRawConfig("testing");
      const cfg = parseStageConfig(raw);
      const plan = planSites("testing", cfg.sites, cfg.siteHub);
      const cm = siteDevicesConfigMap(plan.sites[0]);
      await validateObject(cm);
    });
  });
});
