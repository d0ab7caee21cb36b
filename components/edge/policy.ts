/** Naming of an edge cluster's RAM identity; its policy is the foundation's edgeClusterReadPolicy. */
import { createHash } from "node:crypto";

const RAM_NAME_MAX = 64;

/**
 * RAM user names have at most 64 characters; long ones keep a readable head and a hash of the
 * whole. `edge` is the cluster's reader, `edgestatus` its status writer: different infixes, so no
 * cluster name can make one cluster's writer name another's reader.
 */
export function edgeRamUserName(namePrefix: string, cluster: string, role: "edge" | "edgestatus" = "edge"): string {
  const full = `${namePrefix}-${role}-${cluster}`;
  if (full.length <= RAM_NAME_MAX) return full;
  const hash = createHash("sha256").update(full).digest("hex").slice(0, 8);
  return `${full.slice(0, RAM_NAME_MAX - hash.length - 1).replace(/-+$/, "")}-${hash}`;
}
