/**
 * K3s sites in the whole program, per stage under Pulumi's mocks: the testing stage's site of
 * three devices synthesizes the hub on E3, an enrolment script per device and the registry; and
 * rules that hold in every stage (secrets stay secret, the hub's port is opened only with sites).
 */
import assert from "node:assert/strict";
import YAML from "yaml";
import { STAGES } from "../../config";
import { beforeStage, ROOT, runStage, type StageRun } from "../harness/stage";
import { e3FilesOf, e3ScriptOf } from "../harness/e3-script";
import { readStackConfig } from "../../scripts/lib/mock-runtime";
import * as path from "node:path";

/** The files E3's apply script writes, however the stage delivers it. */
const e3Files = (run: StageRun): Record<string, string> => Object.fromEntries(e3FilesOf(e3ScriptOf(run)));

const sitesIn = (stage: string) => {
  const raw = readStackConfig(path.join(ROOT, `Pulumi.${stage}.yaml`))["edp:sites"];
  return raw ? (JSON.parse(raw) as { name: string; devices: { name: string; role: string }[] }[]) : [];
};

interface Registry {
  devices: { site: string; name: string; role: string; tunnelAddress: string; publicKey: string; taint: string; maintenance: boolean }[];
  removed: { name: string; removedAt: string }[];
}

describe("K3s sites in the whole program", function () {
  this.timeout(300_000);

  describe("testing: one site of three devices", function () {
    const run = beforeStage("testing", () => runStage("testing"));

    it("has an enrolment script per device, secret, each for its own device and role", () => {
      const scripts = run.output("siteEnrolmentScripts");
      assert.equal(scripts.secret, true);
      const byId = scripts.value as Record<string, string>;
      assert.deepEqual(Object.keys(byId).sort(), ["lab-site-a/lab-site-a-srv", "lab-site-a/lab-site-a-w1", "lab-site-a/lab-site-a-w2"]);
      assert.match(byId["lab-site-a/lab-site-a-srv"], /^readonly DEVICE='lab-site-a-srv'$/m);
      assert.match(byId["lab-site-a/lab-site-a-srv"], /INSTALL_K3S_EXEC=server/);
      // The server runs the site's desired-state sync (the edge bootstrap of cluster lab-site-a).
      assert.match(byId["lab-site-a/lab-site-a-srv"], /# Bootstrap of edge cluster lab-site-a \(stage testing/);
      assert.match(byId["lab-site-a/lab-site-a-w1"], /INSTALL_K3S_EXEC=agent/);
      assert.match(byId["lab-site-a/lab-site-a-w1"], /server: https:\/\/192\.168\.50\.10:6443/);
      assert.doesNotMatch(byId["lab-site-a/lab-site-a-w1"], /Bootstrap of edge cluster/);
      // Only the device with a generated key carries a private key.
      assert.match(byId["lab-site-a/lab-site-a-w2"], /put '\/etc\/wireguard\/edp0\.key' 0600/);
      assert.doesNotMatch(byId["lab-site-a/lab-site-a-w1"], /put '\/etc\/wireguard\/edp0\.key'/);
      assert.equal(Object.keys(run.output("siteEnrolmentCommands").value as object).length, 3);
    });

    it("puts the hub on E3: one peer per device, its firewall, and edp-access for the maintenance-open devices", () => {
      const files = e3Files(run);
      const hub = files["/etc/wireguard/edp-hub.conf"];
      assert.ok(hub, "E3 writes the hub's config");
      const registry = run.output("siteRegistry").value as Registry;
      assert.equal((hub.match(/^\[Peer\]$/gm) ?? []).length, 3);
      for (const d of registry.devices) assert.match(hub, new RegExp(`PublicKey = ${d.publicKey.replace(/[+/]/g, "\\$&")}\nAllowedIPs = ${d.tunnelAddress}/32`));
      assert.match(hub, /^ListenPort = 51820$/m);
      assert.match(files["/etc/edp/hub.nft"], /iifname "edp-hub" drop/);
      assert.doesNotMatch(hub, /forwarding=1/, "hub-only: the hub does not forward");
      assert.deepEqual(files["/etc/edp/access/devices"].split("\n").filter((l) => l && !l.startsWith("#")).map((l) => l.split(" ")[0]), ["lab-site-a-srv", "lab-site-a-w1"]);
      assert.match(files["/etc/edp/access/authorized_keys"], /^restrict,command="\/usr\/local\/sbin\/edp-access alice" ssh-ed25519 \S+ alice$/m);
      // The hub's private key is a generated secret; E3's apply carries it only inside its secret
      // delivery (Cloud Assistant command contents, or SSH's stdin).
      const parts = run.ofType("alicloud:ecs/command:Command").filter((c) => c.name.startsWith("e3-apply-"));
      assert.ok(parts.length > 0);
      for (const c of parts) assert.ok(c.secretPaths.includes("commandContent"), c.name);
      const key = run.get("random:index/randomBytes:RandomBytes", "sites-hub-key");
      assert.equal(key.inputs.length, 32);
    });

    it("opens the hub's UDP port on E3's security group and nothing else there", () => {
      // (KubeEdge's quic port is a UDP rule too, on the cluster nodes' group: not E3's.)
      const all = run.ofType("alicloud:ecs/securityGroupRule:SecurityGroupRule");
      const e3Rule = all.find((r) => r.name.startsWith("e3-in-"));
      assert.ok(e3Rule);
      const rules = all.filter((r) => r.inputs.ipProtocol === "udp" && r.inputs.securityGroupId === e3Rule.inputs.securityGroupId);
      assert.deepEqual(rules.map((r) => [r.name, r.inputs.portRange, r.inputs.cidrIp]), [["sites-hub-in-0", "51820/51820", "0.0.0.0/0"]]);
      assert.ok(all.filter((r) => r.name.startsWith("sites-hub-")).every((r) => r.inputs.securityGroupId === e3Rule.inputs.securityGroupId), "a hub rule is on another group");
    });

    it("lists every device in the registry (output and OSS object) with site, role, address, key and taint state", () => {
      const out = run.output("siteRegistry");
      assert.equal(out.secret, false);
      const registry = out.value as Registry;
      assert.deepEqual(
        registry.devices.map((d) => [d.name, d.role, d.taint, d.maintenance]),
        [
          ["lab-site-a-srv", "server", "none", true],
          ["lab-site-a-w1", "agent", "declared", true],
          ["lab-site-a-w2", "agent", "declared", false],
        ],
      );
      assert.equal(new Set(registry.devices.map((d) => d.tunnelAddress)).size, 3);
      for (const d of registry.devices) assert.match(d.tunnelAddress, /^10\.250\.[0-3]\.\d+$/);
      const object = run.get("alicloud:oss/bucketObject:BucketObject", "sites-registry");
      assert.equal(object.inputs.key, "testing/sites/registry.json");
      assert.deepEqual(JSON.parse(String(object.inputs.content)), registry);
      for (const s of run.result.secretSources) assert.ok(!String(object.inputs.content).includes(s.value), `the registry holds the secret ${s.source}`);
    });

    it("gives the site a desired state like an edge cluster: its deployments and its device list", () => {
      const object = run.get("alicloud:oss/bucketObject:BucketObject", "edge-lab-site-a-desired-state");
      const docs = YAML.parseAllDocuments(String(object.inputs.content)).map((d) => d.toJSON() as { kind: string; metadata: { name: string }; data?: Record<string, string> });
      assert.ok(docs.some((d) => d.kind === "HelmRelease" && d.metadata.name === "opcua-site-press"));
      const list = docs.find((d) => d.kind === "ConfigMap" && d.metadata.name === "edp-site-devices");
      assert.ok(list?.data);
      assert.equal(list.data.devices, "lab-site-a-srv server 0\nlab-site-a-w1 agent 1\nlab-site-a-w2 agent 1\n");
    });
  });

  describe("removing a device", function () {
    let run: StageRun;
    before(async () => {
      const base = readStackConfig(path.join(ROOT, "Pulumi.testing.yaml"));
      const sites = JSON.parse(base["edp:sites"]) as { devices: { name: string }[] }[];
      sites[0].devices = sites[0].devices.filter((d) => d.name !== "lab-site-a-w2");
      const previous = (await runStage("testing")).output("siteRegistry").value;
      run = await runStage("testing", { config: { "edp:sites": sites }, stackReferences: { "organization/edp/testing": { siteRegistry: previous } } });
      assert.equal(run.error, undefined, run.error);
    });

    it("removes its hub peer, drops it from the site's device list (the server revokes its node) and records when", () => {
      const hub = e3Files(run)["/etc/wireguard/edp-hub.conf"];
      assert.equal((hub.match(/^\[Peer\]$/gm) ?? []).length, 2);
      assert.doesNotMatch(hub, /lab-site-a-w2/);
      const object = run.get("alicloud:oss/bucketObject:BucketObject", "edge-lab-site-a-desired-state");
      assert.doesNotMatch(String(object.inputs.content), /lab-site-a-w2/);
      const registry = run.output("siteRegistry").value as Registry;
      assert.deepEqual(registry.devices.map((d) => d.name), ["lab-site-a-srv", "lab-site-a-w1"]);
      assert.deepEqual(registry.removed.map((r) => r.name), ["lab-site-a-w2"]);
      assert.ok(Math.abs(Date.parse(registry.removed[0].removedAt) - Date.now()) < 10 * 60_000, "stamped with the deployment's time");
      assert.equal(Object.keys(run.output("siteEnrolmentScripts").value as object).length, 2);
      assert.equal(run.ofType("random:index/randomBytes:RandomBytes").some((r) => r.name.includes("lab-site-a-w2")), false, "its generated key is deleted");
    });
  });

  for (const stage of STAGES) {
    it(`${stage}: the hub exists and its port is open only when the stage has sites; enrolment scripts are secret`, async () => {
      const run = await runStage(stage);
      assert.equal(run.error, undefined, run.error);
      const sites = sitesIn(stage);
      const udp = run.ofType("alicloud:ecs/securityGroupRule:SecurityGroupRule").filter((r) => r.inputs.ipProtocol === "udp");
      const hub = e3Files(run)["/etc/wireguard/edp-hub.conf"];
      if (sites.length === 0) {
        assert.equal(udp.length, 0, "no UDP port without sites");
        assert.equal(hub, undefined, "no hub without sites");
        assert.equal(run.ofType("random:index/randomBytes:RandomBytes").length, 0);
      } else {
        assert.ok(udp.length > 0);
        assert.equal((hub.match(/^\[Peer\]$/gm) ?? []).length, sites.reduce((n, s) => n + s.devices.length, 0));
      }
      assert.equal(run.output("siteEnrolmentScripts").secret, true);
      const registry = run.output("siteRegistry").value as Registry;
      assert.equal(registry.devices.length, sites.reduce((n, s) => n + s.devices.length, 0));
      // Every generated WireGuard key and K3s token is a secret of the run; none reaches a non-secret output.
      for (const [name, o] of Object.entries(run.result.outputs)) {
        if (o.secret) continue;
        const text = JSON.stringify(o.value);
        for (const s of run.result.secretSources.filter((x) => x.source.startsWith("sites-"))) assert.ok(!text.includes(s.value), `output ${name} holds ${s.source}`);
      }
    });
  }
});
