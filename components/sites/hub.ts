/**
 * The WireGuard hub and the edp-access bastion as files and host steps of the E3 host: E3 already
 * holds the stage's public address, the edp-access name (manual §4.2) and the SSH maintenance
 * port (manual §4.3), and it delivers its files without replacing the VM. The E3 component adds
 * these to its own bundle (E3Args.hub); nothing here knows how they are delivered.
 */
import type { E3File } from "../e3/render/apply";
import { ACCESS_AUTHORIZED_KEYS, ACCESS_COMMAND, ACCESS_DEVICES, ACCESS_SSHD_DROPIN, ACCESS_USER, type Operator, renderAccessCommand, renderAccessDevices, renderAccessSshdConfig, renderAuthorizedKeys } from "./access";
import type { SitesPlan } from "./plan";
import { HUB_INTERFACE, renderHubConfig, renderHubFirewall } from "./wireguard";

export const HUB_CONFIG_FILE = `/etc/wireguard/${HUB_INTERFACE}.conf`;
export const HUB_FIREWALL_FILE = "/etc/edp/hub.nft";
/** Debian packages the hub and the bastion need on E3 (installed by the host steps if missing). */
export const HUB_PACKAGES = ["wireguard-tools", "nftables", "netcat-openbsd"];
/** E3's port the devices use over the tunnel too (Apache, mutual TLS). */
const E3_DEVICE_PORT = 443;

/** What the E3 component adds to its bundle for the sites. */
export interface E3HubExtension {
  files: E3File[];
  /** Bash run after E3's own host steps; `changed[tag]` tells what changed. */
  hostSteps: string;
}

export interface HubFilesInput {
  plan: SitesPlan;
  hubPrivateKey: string;
  listenPort: number;
  /** Public key per device id (`<site>/<name>`). */
  publicKeys: Record<string, string>;
  operators: Operator[];
}

export function renderHubExtension(input: HubFilesInput): E3HubExtension {
  const { plan } = input;
  const peers = plan.devices.map((d) => {
    const publicKey = input.publicKeys[d.id];
    if (!publicKey) throw new Error(`no public key for ${d.id}`);
    return { id: d.id, publicKey, address: d.address };
  });
  const siteGroups = plan.sites.filter((s) => s.deviceTraffic === "site").map((s) => ({ site: s.name, addresses: s.devices.map((d) => d.address) }));
  const file = (path: string, content: string, tag: string, mode = "0644"): E3File => ({ path, content, tag, mode, owner: "root:root" });
  const files = [
    file(HUB_CONFIG_FILE, renderHubConfig({ privateKey: input.hubPrivateKey, listenPort: input.listenPort, address: plan.hubAddress, prefixLength: plan.prefixLength, peers, forwarding: siteGroups.length > 0, firewallFile: HUB_FIREWALL_FILE }), "wireguard", "0600"),
    file(HUB_FIREWALL_FILE, renderHubFirewall({ siteGroups, hubTcpPorts: [E3_DEVICE_PORT] }), "wireguard"),
    file(ACCESS_AUTHORIZED_KEYS, renderAuthorizedKeys(input.operators), "access"),
    file(ACCESS_DEVICES, renderAccessDevices(plan.devices.filter((d) => d.maintenance)), "access"),
    file(ACCESS_COMMAND, renderAccessCommand(), "access", "0755"),
    file(ACCESS_SSHD_DROPIN, renderAccessSshdConfig(), "access"),
  ];
  return { files, hostSteps: renderHubHostSteps() };
}

/**
 * Brings the hub's changes into effect. `wg syncconf` changes peers without dropping the
 * sessions of the others (a removed device's peer goes at once); the firewall file replaces its
 * table in one transaction.
 */
export function renderHubHostSteps(): string {
  return `
# --- K3s sites: WireGuard hub and edp-access (components/sites/hub.ts) ---
missing=()
for p in ${HUB_PACKAGES.join(" ")}; do dpkg-query -W -f='\${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p"); done
if [ "\${#missing[@]}" -gt 0 ]; then DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "\${missing[@]}" >/dev/null; fi
nft -f ${HUB_FIREWALL_FILE}
if ! systemctl is-active --quiet wg-quick@${HUB_INTERFACE}; then
  systemctl enable --now wg-quick@${HUB_INTERFACE} >/dev/null 2>&1
elif [ "\${changed[wireguard]}" = 1 ]; then
  wg syncconf ${HUB_INTERFACE} <(wg-quick strip ${HUB_INTERFACE})
fi
id -u ${ACCESS_USER} >/dev/null 2>&1 || useradd --system --create-home --shell /bin/bash --comment "EDP maintenance access (manual 5.2)" ${ACCESS_USER}
if [ "\${changed[access]}" = 1 ]; then sshd -t && systemctl reload ssh; fi
`;
}
