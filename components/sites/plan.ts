/**
 * The sites of a stage resolved into what the component wires: every device with its tunnel
 * address, its identity, the hub's peers and firewall groups. Pure: keys arrive later as outputs.
 */
import type { StageInput } from "../../config/schema";
import { hubTunnelAddress, tunnelAddressOf } from "../../config/sites";
import { uuidV5 } from "../edge/uuid";

export type SiteConfig = StageInput["sites"][number];
export type SiteHubConfig = StageInput["siteHub"];

/** Namespace of device uuids (uuid v5), like the edge clusters' (components/edge/uuid.ts). */
export const DEVICE_UUID_NAMESPACE = uuidV5("urn:edp:site-device", "6ba7b811-9dad-11d1-80b4-00c04fd430c8");
export const deviceUuid = (stage: string, site: string, device: string) => uuidV5(`${stage}/${site}/${device}`, DEVICE_UUID_NAMESPACE);

/** Label that marks a node as an enrolled device of a site; the reconciler revokes only such nodes. */
export const SITE_LABEL = "edp.daim.de/site";
export const DEVICE_LABEL = "edp.daim.de/device";
/** The K3s API port agents join on. */
export const K3S_API_PORT = 6443;

export interface PlannedDevice {
  site: string;
  name: string;
  /** `<site>/<name>` */
  id: string;
  uuid: string;
  role: "server" | "agent";
  address: string;
  labels: Record<string, string>;
  /** The worker taint applies to this device (an agent with workerTaint, in a site that enabled it). */
  tainted: boolean;
  keySource: "device" | "generated";
  /** The device's own public key (keySource device). */
  publicKey?: string;
  maintenance: boolean;
}

export interface PlannedSite {
  name: string;
  k3sVersion: string;
  clusterCidr: string;
  serviceCidr: string;
  deviceTraffic: SiteConfig["deviceTraffic"];
  taint: SiteConfig["workerTaint"];
  server: PlannedDevice;
  devices: PlannedDevice[];
  /** https://host:6443 the agents join. */
  serverUrl: string;
}

export interface SitesPlan {
  hubAddress: string;
  prefixLength: number;
  sites: PlannedSite[];
  devices: PlannedDevice[];
}

export function planSites(stage: string, sites: SiteConfig[], hub: SiteHubConfig): SitesPlan {
  const hubAddress = hubTunnelAddress(hub.tunnelCidr);
  const prefixLength = Number(hub.tunnelCidr.split("/")[1]);
  const planned = sites.map((s): PlannedSite => {
    const devices = s.devices.map(
      (d): PlannedDevice => ({
        site: s.name,
        name: d.name,
        id: `${s.name}/${d.name}`,
        uuid: deviceUuid(stage, s.name, d.name),
        role: d.role,
        address: tunnelAddressOf(hub.tunnelCidr, s.name, d),
        labels: { ...d.labels, [SITE_LABEL]: s.name, [DEVICE_LABEL]: d.name },
        tainted: d.role === "agent" && d.workerTaint,
        keySource: d.publicKey !== undefined ? "device" : "generated",
        publicKey: d.publicKey,
        maintenance: d.maintenance,
      }),
    );
    const server = devices.find((d) => d.role === "server");
    if (!server) throw new Error(`site ${s.name} has no server (config checks reject this)`);
    const serverHost = s.serverLanAddress ?? server.address;
    return {
      name: s.name,
      k3sVersion: s.k3sVersion,
      clusterCidr: s.clusterCidr,
      serviceCidr: s.serviceCidr,
      deviceTraffic: s.deviceTraffic,
      taint: s.workerTaint,
      server,
      devices,
      serverUrl: `https://${serverHost}:${K3S_API_PORT}`,
    };
  });
  return { hubAddress, prefixLength, sites: planned, devices: planned.flatMap((s) => s.devices) };
}

/** The tunnel addresses a device may reach besides the hub: the other devices of its site, if the site allows it. */
export function reachableAddresses(plan: SitesPlan, device: PlannedDevice): string[] {
  const site = plan.sites.find((s) => s.name === device.site);
  if (!site || site.deviceTraffic !== "site") return [];
  return site.devices.filter((d) => d.name !== device.name).map((d) => d.address);
}
