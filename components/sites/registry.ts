/**
 * The device registry (the role of seed 004's Doni): every enrolled device with its site, role,
 * tunnel address, public key and taint state, and every device removed from config with the time
 * the removal was first deployed. Pure: the previous registry comes in, the next goes out.
 */
import type { PlannedDevice, PlannedSite } from "./plan";

export const REGISTRY_SCHEMA_VERSION = 1;

export interface RegistryDevice {
  site: string;
  name: string;
  uuid: string;
  role: "server" | "agent";
  tunnelAddress: string;
  publicKey: string;
  keySource: "device" | "generated";
  /** applied: the taint is wanted (the site enabled it and the device takes it); declared: the site has not enabled it yet; none: not a tainted worker. */
  taint: "applied" | "declared" | "none";
  maintenance: boolean;
  labels: Record<string, string>;
}

export interface RemovedDevice {
  site: string;
  name: string;
  uuid: string;
  tunnelAddress: string;
  publicKey: string;
  /** ISO time of the first deployment without the device. */
  removedAt: string;
}

export interface DeviceRegistry {
  schemaVersion: number;
  stage: string;
  devices: RegistryDevice[];
  removed: RemovedDevice[];
}

export function taintState(site: Pick<PlannedSite, "taint">, d: Pick<PlannedDevice, "tainted">): RegistryDevice["taint"] {
  if (!d.tainted) return "none";
  return site.taint.enabled ? "applied" : "declared";
}

/** Reads a registry as stored before; anything unreadable counts as no registry. */
export function parsePreviousRegistry(value: unknown): DeviceRegistry | undefined {
  const v = typeof value === "string" ? safeJson(value) : value;
  if (!v || typeof v !== "object") return undefined;
  const r = v as Partial<DeviceRegistry>;
  if (r.schemaVersion !== REGISTRY_SCHEMA_VERSION || !Array.isArray(r.devices) || !Array.isArray(r.removed)) return undefined;
  return r as DeviceRegistry;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * The next registry: current devices sorted by site and name; removals carried over from the
 * previous registry, plus every device it listed that config no longer has, stamped `now`. A
 * device added again leaves the removed list (its earlier removal stays in Pulumi's history).
 */
export function nextRegistry(stage: string, devices: RegistryDevice[], previous: DeviceRegistry | undefined, now: Date): DeviceRegistry {
  const current = [...devices].sort((a, b) => `${a.site}/${a.name}`.localeCompare(`${b.site}/${b.name}`));
  const present = new Set(current.map((d) => d.uuid));
  const removed = new Map<string, RemovedDevice>();
  for (const r of previous?.removed ?? []) if (!present.has(r.uuid)) removed.set(r.uuid, r);
  for (const d of previous?.devices ?? []) {
    if (present.has(d.uuid) || removed.has(d.uuid)) continue;
    removed.set(d.uuid, { site: d.site, name: d.name, uuid: d.uuid, tunnelAddress: d.tunnelAddress, publicKey: d.publicKey, removedAt: now.toISOString() });
  }
  return {
    schemaVersion: REGISTRY_SCHEMA_VERSION,
    stage,
    devices: current,
    removed: [...removed.values()].sort((a, b) => a.removedAt.localeCompare(b.removedAt) || a.name.localeCompare(b.name)),
  };
}
