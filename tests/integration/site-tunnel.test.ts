/**
 * The K3s sites' tunnel, for real: the hub and two devices in network namespaces of their own,
 * each a `wireguard-go` over TUN (this machine has no WireGuard kernel module), loaded with the
 * configs the program generates: `wg-quick strip` turns each wg-quick file into what
 * `wg setconf` reads, the Address and PostUp lines are applied as wg-quick would (PostUp with
 * the test's file paths), and the hub's nftables rules are the rendered ones.
 *
 * Shown: a device reaches the hub; a device does not reach another device, not even when it
 * widens its own AllowedIPs (the hub drops it); with `deviceTraffic: site` the hub forwards
 * between the devices of that site; the change is applied with `wg syncconf` as on E3; and an
 * operator reaches a maintenance-open device's port 22 through the edp-access command.
 *
 * Every namespace and process is the test's own and is removed in `after`, also on failure.
 */
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseStageConfig } from "../../config";
import type { StageInput } from "../../config/schema";
import { renderAccessCommand, renderAccessDevices } from "../../components/sites/access";
import { HUB_FIREWALL_FILE, renderHubExtension } from "../../components/sites/hub";
import { planSites, reachableAddresses, type SitesPlan } from "../../components/sites/plan";
import { stageRawConfig } from "../harness/config";
import { DEVICE_KEY_FILE, HUB_INTERFACE, renderDeviceConfig, wireGuardPublicKey } from "../../components/sites/wireguard";

const TAG = `w${process.pid % 100000}`;
const NS = { hub: `${TAG}-hub`, a: `${TAG}-a`, b: `${TAG}-b` };
// wireguard-go's control socket is /var/run/wireguard/<interface>.sock, outside the network
// namespace: the devices' interfaces get names of their own (the files do not name them).
const IF = { a: `${TAG}a`, b: `${TAG}b` };
const UNDERLAY = { hub: "198.51.100.1", a: "198.51.100.2", b: "198.51.100.3" };
const PORT = 51820;
const DIR = fs.mkdtempSync(path.join(os.tmpdir(), "edp-site-tunnel-"));

function sh(cmd: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): string {
  return execFileSync(cmd, args, { input: opts.input, env: opts.env ?? process.env, encoding: "utf8", stdio: ["pipe", "pipe", "pipe"] });
}
const inNs = (ns: string, cmd: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}) => sh("ip", ["netns", "exec", ns, cmd, ...args], opts);
/** One ping, one second: true when answered. */
const ping = (ns: string, address: string) => spawnSync("ip", ["netns", "exec", ns, "ping", "-n", "-c", "1", "-W", "1", address], { encoding: "utf8" }).status === 0;

/** Pings once a second until answered, at most `tries` times (for a tunnel that is still handshaking). */
function pingWithin(ns: string, address: string, tries: number): boolean {
  for (let i = 0; i < tries; i++) if (ping(ns, address)) return true;
  return false;
}

const daemons: ChildProcess[] = [];

async function startWireGuard(ns: string, iface: string): Promise<void> {
  const child = spawn("ip", ["netns", "exec", ns, "wireguard-go", iface], { env: { ...process.env, WG_PROCESS_FOREGROUND: "1", LOG_LEVEL: "error" }, stdio: "ignore" });
  daemons.push(child);
  for (let i = 0; i < 100; i++) {
    if (spawnSync("ip", ["-n", ns, "link", "show", iface]).status === 0) return;
    if (child.exitCode !== null) throw new Error(`wireguard-go ${iface} in ${ns} exited with ${child.exitCode}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`wireguard-go did not create ${iface} in ${ns}`);
}

/** wg-quick's own parser: the WireGuard part of a wg-quick file, as `wg setconf` reads it. */
function strip(conf: string, iface: string): string {
  const file = path.join(DIR, `${iface}.conf`);
  fs.writeFileSync(file, conf, { mode: 0o600 });
  return sh("wg-quick", ["strip", file]);
}

/** What wg-quick does besides `wg setconf`, for the fields the rendered files use. */
function wgQuickFields(conf: string): { addresses: string[]; postUp: string[] } {
  const field = (k: string) => conf.split("\n").filter((l) => l.startsWith(`${k} = `)).flatMap((l) => l.slice(k.length + 3).split(",").map((v) => v.trim()));
  return { addresses: field("Address"), postUp: conf.split("\n").filter((l) => l.startsWith("PostUp = ")).map((l) => l.slice(9)) };
}

/**
 * Loads a wg-quick file into a running interface. up: as `wg-quick up` (setconf, addresses, routes
 * for AllowedIPs, PostUp); restart: the same on an interface that has its addresses (a device's
 * enrolment restarts wg-quick@edp0 when its file changed); sync: `wg syncconf` only, as E3 does
 * for the hub, whose file carries its key.
 */
function load(ns: string, iface: string, conf: string, paths: Record<string, string>, mode: "up" | "restart" | "sync" = "up"): void {
  const stripped = strip(conf, iface);
  const file = path.join(DIR, `${iface}-${ns}.wg`);
  fs.writeFileSync(file, stripped, { mode: 0o600 });
  inNs(ns, "wg", [mode === "sync" ? "syncconf" : "setconf", iface, file]);
  if (mode === "sync") return;
  const f = wgQuickFields(conf);
  if (mode === "up") {
    for (const a of f.addresses) inNs(ns, "ip", ["address", "add", a, "dev", iface]);
    inNs(ns, "ip", ["link", "set", iface, "up"]);
  }
  for (const allowed of stripped.split("\n").filter((l) => l.startsWith("AllowedIPs = ")).flatMap((l) => l.slice(13).split(",").map((v) => v.trim()))) {
    if (!f.addresses.some((a) => a.split("/")[0] === allowed.split("/")[0])) inNs(ns, "ip", ["route", "replace", allowed, "dev", iface]);
  }
  for (const cmd of f.postUp) {
    let c = cmd.replace(/%i/g, iface);
    for (const [from, to] of Object.entries(paths)) c = c.split(from).join(to);
    inNs(ns, "bash", ["-c", c]);
  }
}

function stageInput(deviceTraffic: "hub-only" | "site", keys: { a: string; b: string }): Pick<StageInput, "stage" | "sites" | "siteHub"> {
  const cfg = parseStageConfig({
    stack: "testing",
    project: "edp",
    values: {
      ...fixtureValues(),
      "edp:sites": JSON.stringify([
        {
          name: "tunnel-site",
          k3sVersion: "v1.31.4+k3s1",
          deviceTraffic,
          ...(deviceTraffic === "hub-only" ? { serverLanAddress: "192.168.50.10" } : {}),
          devices: [
            { name: "dev-a", role: "server", publicKey: keys.a, maintenance: true },
            { name: "dev-b", role: "agent", publicKey: keys.b },
          ],
        },
      ]),
      "edp:siteHub": JSON.stringify({ listenPort: PORT, tunnelCidr: "10.250.0.0/24" }),
    },
    secretKeys: stageRawConfig("testing").secretKeys,
  });
  return cfg;
}

/** The testing stage's config as the runtime hands it over (stand-ins for its secrets), without its own sites. */
function fixtureValues(): Record<string, string> {
  const { values } = stageRawConfig("testing");
  delete values["edp:sites"];
  delete values["edp:siteHub"];
  delete values["edp:deployments"];
  return values;
}

describe("K3s sites: WireGuard hub and devices in network namespaces (wireguard-go)", function () {
  this.timeout(60_000);
  const keys = { hub: "", a: "", b: "" };
  let plan: SitesPlan;
  let cfg: Pick<StageInput, "stage" | "sites" | "siteHub">;
  let addr: { hub: string; a: string; b: string };
  const hubPaths = { [HUB_FIREWALL_FILE]: path.join(DIR, "hub.nft") };

  const hubFiles = (p: SitesPlan, c: typeof cfg) =>
    renderHubExtension({ plan: p, hubPrivateKey: keys.hub, listenPort: PORT, publicKeys: { "tunnel-site/dev-a": wireGuardPublicKey(keys.a), "tunnel-site/dev-b": wireGuardPublicKey(keys.b) }, operators: c.siteHub.operators });
  const fileOf = (ext: ReturnType<typeof renderHubExtension>, p: string) => {
    const f = ext.files.find((x) => x.path === p);
    if (!f) throw new Error(`no ${p}`);
    return f.content;
  };
  const deviceConf = (p: SitesPlan, name: "dev-a" | "dev-b") => {
    const d = p.devices.find((x) => x.name === name);
    if (!d) throw new Error(name);
    return renderDeviceConfig({ id: d.id, address: d.address, hubPublicKey: wireGuardPublicKey(keys.hub), hubEndpoint: `${UNDERLAY.hub}:${PORT}`, hubAddress: p.hubAddress, siteAddresses: reachableAddresses(p, d) });
  };

  before(async function () {
    for (const tool of ["wireguard-go", "wg", "wg-quick", "nft", "ping", "nc"]) {
      assert.equal(spawnSync("sh", ["-c", `command -v ${tool}`]).status, 0, `${tool} is not installed (.ci/debian-packages.txt)`);
    }
    // Device A made its own key (wg genkey); B's is 32 random bytes, as the program generates one.
    keys.hub = sh("wg", ["genkey"]).trim();
    keys.a = sh("wg", ["genkey"]).trim();
    keys.b = Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 37 + 11) % 256)).toString("base64");
    cfg = stageInput("hub-only", { a: wireGuardPublicKey(keys.a), b: wireGuardPublicKey(keys.b) });
    plan = planSites("testing", cfg.sites, cfg.siteHub);
    const a = plan.devices.find((d) => d.name === "dev-a");
    const b = plan.devices.find((d) => d.name === "dev-b");
    assert.ok(a && b);
    addr = { hub: plan.hubAddress, a: a.address, b: b.address };

    for (const ns of Object.values(NS)) sh("ip", ["netns", "add", ns]);
    sh("ip", ["-n", NS.hub, "link", "add", "br0", "type", "bridge"]);
    for (const dev of ["a", "b"] as const) {
      sh("ip", ["-n", NS.hub, "link", "add", `to-${dev}`, "type", "veth", "peer", "name", "up0", "netns", NS[dev]]);
      sh("ip", ["-n", NS.hub, "link", "set", `to-${dev}`, "master", "br0", "up"]);
      sh("ip", ["-n", NS[dev], "address", "add", `${UNDERLAY[dev]}/24`, "dev", "up0"]);
      sh("ip", ["-n", NS[dev], "link", "set", "up0", "up"]);
      sh("ip", ["-n", NS[dev], "link", "set", "lo", "up"]);
    }
    sh("ip", ["-n", NS.hub, "address", "add", `${UNDERLAY.hub}/24`, "dev", "br0"]);
    sh("ip", ["-n", NS.hub, "link", "set", "br0", "up"]);
    sh("ip", ["-n", NS.hub, "link", "set", "lo", "up"]);

    await Promise.all([startWireGuard(NS.hub, HUB_INTERFACE), startWireGuard(NS.a, IF.a), startWireGuard(NS.b, IF.b)]);
    const hub = hubFiles(plan, cfg);
    fs.writeFileSync(hubPaths[HUB_FIREWALL_FILE], fileOf(hub, HUB_FIREWALL_FILE));
    load(NS.hub, HUB_INTERFACE, fileOf(hub, `/etc/wireguard/${HUB_INTERFACE}.conf`), hubPaths);
    for (const [dev, key] of [["a", keys.a], ["b", keys.b]] as const) {
      const keyFile = path.join(DIR, `dev-${dev}.key`);
      fs.writeFileSync(keyFile, `${key}\n`, { mode: 0o600 });
      load(NS[dev], IF[dev], deviceConf(plan, `dev-${dev}`), { [DEVICE_KEY_FILE]: keyFile });
    }
  });

  after(function () {
    for (const d of daemons) if (d.exitCode === null) d.kill("SIGTERM");
    for (const ns of Object.values(NS)) spawnSync("ip", ["netns", "delete", ns]);
    fs.rmSync(DIR, { recursive: true, force: true });
  });

  it("wg reads the generated configs: the hub has one peer per device, each limited to its /32", function () {
    const shown = inNs(NS.hub, "wg", ["showconf", HUB_INTERFACE]);
    assert.match(shown, new RegExp(`PublicKey = ${wireGuardPublicKey(keys.a).replace(/[+/]/g, "\\$&")}\\nAllowedIPs = ${addr.a}/32`));
    assert.match(shown, new RegExp(`PublicKey = ${wireGuardPublicKey(keys.b).replace(/[+/]/g, "\\$&")}\\nAllowedIPs = ${addr.b}/32`));
    assert.match(shown, new RegExp(`ListenPort = ${PORT}`));
    const device = inNs(NS.a, "wg", ["showconf", IF.a]);
    assert.match(device, new RegExp(`AllowedIPs = ${addr.hub}/32\\n`), "a hub-only device routes only the hub's address into the tunnel");
    assert.match(device, /PersistentKeepalive = 25/);
    // PostUp loaded the key from the key file: the interface's public key is the device's.
    assert.equal(inNs(NS.a, "wg", ["show", IF.a, "public-key"]).trim(), wireGuardPublicKey(keys.a));
  });

  it("each device reaches the hub over the tunnel", function () {
    assert.ok(ping(NS.a, addr.hub), "dev-a -> hub");
    assert.ok(ping(NS.b, addr.hub), "dev-b -> hub");
    assert.ok(ping(NS.hub, addr.a), "hub -> dev-a");
  });

  it("a device does not reach another device (hub-only)", function () {
    assert.equal(ping(NS.a, addr.b), false, "dev-a -> dev-b must fail");
    assert.equal(ping(NS.b, addr.a), false, "dev-b -> dev-a must fail");
  });

  it("a device that widens its own AllowedIPs still does not reach another: the hub drops it", function () {
    inNs(NS.a, "wg", ["set", IF.a, "peer", wireGuardPublicKey(keys.hub), "allowed-ips", `${addr.hub}/32,${addr.b}/32`]);
    inNs(NS.a, "ip", ["route", "replace", `${addr.b}/32`, "dev", IF.a]);
    inNs(NS.b, "wg", ["set", IF.b, "peer", wireGuardPublicKey(keys.hub), "allowed-ips", `${addr.hub}/32,${addr.a}/32`]);
    inNs(NS.b, "ip", ["route", "replace", `${addr.a}/32`, "dev", IF.b]);
    // Forwarding on, as when another site allows site traffic: the firewall alone must stop it.
    inNs(NS.hub, "sysctl", ["-q", "-w", `net.ipv4.conf.${HUB_INTERFACE}.forwarding=1`]);
    assert.equal(ping(NS.a, addr.b), false, "the hub must drop dev-a -> dev-b");
    const counters = inNs(NS.hub, "nft", ["list", "chain", "inet", "edp_hub", "forward"]);
    assert.match(counters, /iifname "edp-hub" drop/);
  });

  it("with deviceTraffic: site the hub forwards between the site's devices (applied with wg syncconf)", function () {
    const open = stageInput("site", { a: wireGuardPublicKey(keys.a), b: wireGuardPublicKey(keys.b) });
    const openPlan = planSites("testing", open.sites, open.siteHub);
    assert.deepEqual(
      openPlan.devices.map((d) => d.address),
      plan.devices.map((d) => d.address),
      "a device's address does not move when the site's settings change",
    );
    const hub = hubFiles(openPlan, open);
    const hubConf = fileOf(hub, `/etc/wireguard/${HUB_INTERFACE}.conf`);
    assert.match(hubConf, /PostUp = sysctl -q -w net\.ipv4\.conf\.%i\.forwarding=1/);
    fs.writeFileSync(hubPaths[HUB_FIREWALL_FILE], fileOf(hub, HUB_FIREWALL_FILE));
    // As E3's host steps do: reload the firewall, syncconf the peers.
    inNs(NS.hub, "nft", ["-f", hubPaths[HUB_FIREWALL_FILE]]);
    load(NS.hub, HUB_INTERFACE, hubConf, hubPaths, "sync");
    for (const dev of ["a", "b"] as const) load(NS[dev], IF[dev], deviceConf(openPlan, `dev-${dev}`), { [DEVICE_KEY_FILE]: path.join(DIR, `dev-${dev}.key`) }, "restart");
    // The restarted devices listen on new ports: the hub learns them from their next handshake.
    assert.ok(pingWithin(NS.b, addr.hub, 8), "dev-b -> hub after its restart");
    assert.ok(pingWithin(NS.a, addr.b, 8), "dev-a -> dev-b through the hub");
    assert.ok(ping(NS.b, addr.a), "dev-b -> dev-a through the hub");
    assert.ok(ping(NS.a, addr.hub), "dev-a -> hub still");
  });

  it("edp-access connects an operator to port 22 of a maintenance-open device over the tunnel, and logs it", async function () {
    const bin = path.join(DIR, "bin");
    fs.mkdirSync(bin, { recursive: true });
    const logFile = path.join(DIR, "access.log");
    fs.writeFileSync(path.join(bin, "logger"), `#!/bin/sh\nprintf '%s\\n' "$*" >>${logFile}\n`, { mode: 0o755 });
    fs.writeFileSync(path.join(bin, "edp-access"), renderAccessCommand(), { mode: 0o755 });
    const devicesFile = path.join(DIR, "access-devices");
    fs.writeFileSync(devicesFile, renderAccessDevices(plan.devices.filter((d) => d.maintenance)));
    // A stand-in for the device's sshd on port 22: it sends a banner, as sshd does first.
    const listener = spawn("ip", ["netns", "exec", NS.a, "sh", "-c", "printf 'SSH-2.0-device-a\\r\\n' | nc -l -N 22"], { stdio: "ignore" });
    daemons.push(listener);
    await new Promise((r) => setTimeout(r, 300));
    const env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, EDP_ACCESS_DEVICES: devicesFile, SSH_CLIENT: "203.0.113.9 50000 2222" };
    const open = spawnSync("ip", ["netns", "exec", NS.hub, "edp-access", "alice"], { env: { ...env, SSH_ORIGINAL_COMMAND: "dev-a" }, input: "", encoding: "utf8", timeout: 15_000 });
    assert.equal(open.status, 0, open.stderr);
    assert.match(open.stdout, /SSH-2\.0-device-a/);
    const denied = spawnSync("ip", ["netns", "exec", NS.hub, "edp-access", "alice"], { env: { ...env, SSH_ORIGINAL_COMMAND: "dev-b" }, input: "", encoding: "utf8" });
    assert.equal(denied.status, 77, "dev-b is not open for maintenance");
    const log = fs.readFileSync(logFile, "utf8");
    assert.match(log, new RegExp(`open operator=alice from=203\\.0\\.113\\.9 device=dev-a address=${addr.a.replace(/\./g, "\\.")}`));
    assert.match(log, /close operator=alice .*device=dev-a .*status=0/);
    assert.match(log, /denied operator=alice from=203\.0\.113\.9 device=dev-b: not open for maintenance/);
  });
});
