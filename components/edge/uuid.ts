/**
 * Name-based UUIDs (RFC 9562 version 5). `{{uuid}}` must not change between runs, or every
 * `pulumi up` would rewrite every deployment's values and restart it; a UUIDv5 of the
 * deployment's stage, cluster and name is the same on every run and on every machine.
 */
import { createHash } from "node:crypto";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** RFC 9562's namespace for URLs. */
export const URL_NAMESPACE = "6ba7b811-9dad-11d1-80b4-00c04fd430c8";

export function uuidV5(name: string, namespace: string): string {
  if (!UUID.test(namespace)) throw new Error(`uuidV5: namespace ${JSON.stringify(namespace)} is not a UUID`);
  const bytes = createHash("sha1").update(Buffer.from(namespace.replace(/-/g, ""), "hex")).update(name, "utf8").digest().subarray(0, 16);
  bytes[6] = (bytes[6] & 0x0f) | 0x50;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The namespace of every edge UUID of this project; fixed forever, or all UUIDs change. */
export const EDGE_UUID_NAMESPACE = uuidV5("urn:edp:edge", URL_NAMESPACE);

/** UUID of an edge cluster in a stage; also its identity marker on the cluster. */
export const clusterUuid = (stage: string, cluster: string) => uuidV5(`${stage}/${cluster}`, EDGE_UUID_NAMESPACE);

/** UUID of a deployment (seed 002's `{{uuid}}`): stage, cluster and deployment name. */
export const deploymentUuid = (stage: string, cluster: string, deployment: string) =>
  uuidV5(`${stage}/${cluster}/${deployment}`, EDGE_UUID_NAMESPACE);
