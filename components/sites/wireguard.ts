/**
 * WireGuard keys and configuration files of the site hub (on E3) and of each device. Pure
 * functions; the files are wg-quick files, and their WireGuard part (`wg-quick strip`) is what
 * `wg setconf` reads, which is how the tests load them into wireguard-go.
 */
import { createPrivateKey, createPublicKey } from "node:crypto";
import { isWireGuardKey } from "../../config/validators";

/** The hub's interface on E3 and the device's interface. */
export const HUB_INTERFACE = "edp-hub";
export const DEVICE_INTERFACE = "edp0";
/** Where the device's private key lives; with a key the device made, it never leaves this file. */
export const DEVICE_KEY_FILE = `/etc/wireguard/${DEVICE_INTERFACE}.key`;
export const DEVICE_CONFIG_FILE = `/etc/wireguard/${DEVICE_INTERFACE}.conf`;
/** Devices behind NAT keep their mapping open; 25 s is what wg(8) suggests. */
export const KEEPALIVE_SECONDS = 25;

// PKCS#8 DER prefix of an X25519 private key (RFC 8410): the raw 32 bytes follow it.
const X25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b656e04220420", "hex");

/** The public key of a WireGuard private key, as `wg pubkey` prints it. */
export function wireGuardPublicKey(privateKeyBase64: string): string {
  if (!isWireGuardKey(privateKeyBase64)) throw new Error("not a WireGuard private key (base64 of 32 bytes)");
  const der = Buffer.concat([X25519_PKCS8_PREFIX, Buffer.from(privateKeyBase64, "base64")]);
  const spki = createPublicKey(createPrivateKey({ key: der, format: "der", type: "pkcs8" })).export({ format: "der", type: "spki" });
  return spki.subarray(spki.length - 32).toString("base64");
}

export interface HubPeer {
  /** `<site>/<device>`: a comment in the file, so `wg show` output can be traced back. */
  id: string;
  publicKey: string;
  address: string;
}

export interface HubConfigInput {
  privateKey: string;
  listenPort: number;
  /** The hub's tunnel address and the prefix length of the tunnel range. */
  address: string;
  prefixLength: number;
  peers: HubPeer[];
  /** Whether any site lets the hub forward between its devices (enables forwarding on the interface only). */
  forwarding: boolean;
  /** nftables file of the hub's rules, loaded whenever the interface comes up (boot included). */
  firewallFile: string;
}

const assertKey = (what: string, key: string) => {
  if (!isWireGuardKey(key)) throw new Error(`${what} is not a WireGuard key`);
};

/** /etc/wireguard/edp-hub.conf on E3: one interface, a peer per enrolled device, each limited to its own /32. */
export function renderHubConfig(input: HubConfigInput): string {
  assertKey("the hub's private key", input.privateKey);
  const lines = [
    "# Rendered by the EDP Pulumi program (components/sites/wireguard.ts); the hub of the K3s sites.",
    "[Interface]",
    `Address = ${input.address}/${input.prefixLength}`,
    `ListenPort = ${input.listenPort}`,
    `PrivateKey = ${input.privateKey}`,
    `PostUp = nft -f ${input.firewallFile}`,
    // Forwarding only on this interface, and the nftables rules decide which pairs may talk.
    ...(input.forwarding ? [`PostUp = sysctl -q -w net.ipv4.conf.%i.forwarding=1`] : []),
  ];
  for (const p of [...input.peers].sort((a, b) => a.id.localeCompare(b.id))) {
    assertKey(`the public key of ${p.id}`, p.publicKey);
    lines.push("", `# ${p.id}`, "[Peer]", `PublicKey = ${p.publicKey}`, `AllowedIPs = ${p.address}/32`);
  }
  return `${lines.join("\n")}\n`;
}

export interface DeviceConfigInput {
  id: string;
  address: string;
  hubPublicKey: string;
  /** host:port of the hub (E3's public address and the listen port). */
  hubEndpoint: string;
  hubAddress: string;
  /** Tunnel addresses of the other devices this one may reach through the hub (site traffic), else none. */
  siteAddresses: string[];
}

/**
 * /etc/wireguard/edp0.conf on a device. It holds no private key: PostUp loads it from the key
 * file, which the device made itself or the enrolment script wrote.
 */
export function renderDeviceConfig(input: DeviceConfigInput): string {
  assertKey("the hub's public key", input.hubPublicKey);
  const allowed = [input.hubAddress, ...[...input.siteAddresses].sort()].map((a) => `${a}/32`);
  return `# Rendered by the EDP Pulumi program (components/sites/wireguard.ts); device ${input.id}.
[Interface]
Address = ${input.address}/32
PostUp = wg set %i private-key ${DEVICE_KEY_FILE}

[Peer]
# hub (E3)
PublicKey = ${input.hubPublicKey}
Endpoint = ${input.hubEndpoint}
AllowedIPs = ${allowed.join(", ")}
PersistentKeepalive = ${KEEPALIVE_SECONDS}
`;
}

export interface HubFirewallInput {
  /** Per site that allows site traffic, the tunnel addresses of its devices. */
  siteGroups: { site: string; addresses: string[] }[];
  /** TCP ports of E3 that devices may reach over the tunnel. */
  hubTcpPorts: number[];
}

/**
 * nftables rules of the hub: devices reach the hub (ping and E3's device port) and nothing else;
 * the hub forwards only between devices of a site that allows it, and never into the VPC.
 */
export function renderHubFirewall(input: HubFirewallInput): string {
  const sets = input.siteGroups
    .filter((g) => g.addresses.length > 0)
    .map((g, i) => ({ name: `site_${i}`, site: g.site, addresses: [...g.addresses].sort() }));
  const setDecl = sets.map((s) => `  # site ${s.site}\n  set ${s.name} {\n    type ipv4_addr\n    elements = { ${s.addresses.join(", ")} }\n  }\n`).join("");
  const forwardAllows = sets.map((s) => `    iifname "${HUB_INTERFACE}" oifname "${HUB_INTERFACE}" ip saddr @${s.name} ip daddr @${s.name} accept\n`).join("");
  const ports = input.hubTcpPorts.length > 0 ? `    iifname "${HUB_INTERFACE}" tcp dport { ${input.hubTcpPorts.join(", ")} } accept\n` : "";
  return `# Rendered by the EDP Pulumi program (components/sites/wireguard.ts): hub and spoke.
table inet edp_hub
delete table inet edp_hub
table inet edp_hub {
${setDecl}  chain input {
    type filter hook input priority filter; policy accept;
    iifname "${HUB_INTERFACE}" ct state established,related accept
    iifname "${HUB_INTERFACE}" icmp type echo-request accept
${ports}    iifname "${HUB_INTERFACE}" drop
  }
  chain forward {
    type filter hook forward priority filter; policy accept;
${forwardAllows}    iifname "${HUB_INTERFACE}" drop
    oifname "${HUB_INTERFACE}" drop
  }
}
`;
}
