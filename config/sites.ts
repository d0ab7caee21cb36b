/**
 * Facts about K3s sites that both the config checks and the sites component need: the tunnel
 * addresses of the hub and of every device. Pure, no Pulumi.
 *
 * A device's address is derived from its site and name, not from its position in the list, so
 * adding or removing another device never moves it (a moved address would break its tunnel
 * until it is enrolled again). Two devices that land on the same address are a config error
 * naming both; pinning one with `tunnelAddress` resolves it.
 */
import { createHash } from "node:crypto";
import type { StageInput } from "./schema";
import { type Ipv4Cidr, ipv4ToString, parseIpv4, parseIpv4Cidr } from "./validators";

export type SiteInput = StageInput["sites"][number];
export type SiteDeviceInput = SiteInput["devices"][number];

/** The hub's address: the first host address of the tunnel range. */
export function hubTunnelAddress(tunnelCidr: string): string {
  const range = parseIpv4Cidr(tunnelCidr) as Ipv4Cidr;
  return ipv4ToString(range.first + 1);
}

/** Host addresses a device may take: not the network, the hub or the broadcast address. */
export function deviceAddressRange(tunnelCidr: string): { first: number; last: number } {
  const range = parseIpv4Cidr(tunnelCidr) as Ipv4Cidr;
  return { first: range.first + 2, last: range.last - 1 };
}

/** The address the program derives for a device (before any pin): a hash of site and name into the range. */
export function derivedTunnelAddress(tunnelCidr: string, site: string, device: string): string {
  const { first, last } = deviceAddressRange(tunnelCidr);
  const slots = last - first + 1;
  const h = createHash("sha256").update(`${site}/${device}`).digest().readUInt32BE(0);
  return ipv4ToString(first + (h % slots));
}

/** Why a pinned address cannot be used, or undefined. */
export function pinnedAddressProblem(tunnelCidr: string, address: string): string | undefined {
  const n = parseIpv4(address);
  if (n === undefined) return `${JSON.stringify(address)} is not an IPv4 address`;
  const { first, last } = deviceAddressRange(tunnelCidr);
  if (n < first || n > last) return `${address} is not a device address of ${tunnelCidr} (${ipv4ToString(first)} to ${ipv4ToString(last)}; the first host address is the hub's)`;
  return undefined;
}

/** A device's address: its pin, or the derived one. */
export const tunnelAddressOf = (tunnelCidr: string, site: string, d: Pick<SiteDeviceInput, "name" | "tunnelAddress">) =>
  d.tunnelAddress ?? derivedTunnelAddress(tunnelCidr, site, d.name);

/** Kubelet sets only these labels in the kubernetes.io and k8s.io namespaces on its own node (NodeRestriction). */
const KUBELET_ALLOWED_LABEL_PREFIXES = ["kubelet.kubernetes.io/", "node.kubernetes.io/"];
const KUBELET_ALLOWED_LABELS = [
  "kubernetes.io/hostname",
  "kubernetes.io/arch",
  "kubernetes.io/os",
  "beta.kubernetes.io/instance-type",
  "node.kubernetes.io/instance-type",
  "failure-domain.beta.kubernetes.io/region",
  "failure-domain.beta.kubernetes.io/zone",
  "topology.kubernetes.io/region",
  "topology.kubernetes.io/zone",
];

/** Whether kubelet refuses to register its node with this label (k8s.io/kubernetes, kubelet's node label rules). */
export function kubeletRefusesLabel(key: string): boolean {
  const slash = key.indexOf("/");
  if (slash < 0) return false;
  const prefix = key.slice(0, slash);
  const restricted = prefix === "kubernetes.io" || prefix.endsWith(".kubernetes.io") || prefix === "k8s.io" || prefix.endsWith(".k8s.io");
  if (!restricted) return false;
  return !KUBELET_ALLOWED_LABELS.includes(key) && !KUBELET_ALLOWED_LABEL_PREFIXES.some((p) => key.startsWith(p));
}
