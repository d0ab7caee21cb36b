/**
 * The RAM identity of one edge cluster: read its own desired-state prefix, nothing else.
 * (components/foundation is getting a shared builder for prefix-scoped readers; until it is
 * merged this one is the edge's own.)
 */
import { createHash } from "node:crypto";
import { ossArn, policyDocument, type RamPolicyDocument } from "../shared/ram-policy";

/**
 * GetObject on the prefix's objects; ListObjects on the bucket (OSS authorises listing on the
 * bucket ARN) only when the request's prefix lies under the cluster's prefix.
 */
export function edgeReaderPolicy(bucket: string, prefix: string): RamPolicyDocument {
  if (!prefix.endsWith("/")) throw new Error(`edge prefix ${JSON.stringify(prefix)} must end with '/', or it would also match its siblings`);
  return policyDocument(
    { Effect: "Allow", Action: ["oss:GetObject"], Resource: [ossArn(bucket, prefix)] },
    { Effect: "Allow", Action: ["oss:ListObjects"], Resource: [ossArn(bucket)], Condition: { StringLike: { "oss:Prefix": [`${prefix}*`] } } },
  );
}

const RAM_NAME_MAX = 64;

/** RAM user names have at most 64 characters; long ones keep a readable head and a hash of the whole. */
export function edgeRamUserName(namePrefix: string, cluster: string): string {
  const full = `${namePrefix}-edge-${cluster}`;
  if (full.length <= RAM_NAME_MAX) return full;
  const hash = createHash("sha256").update(full).digest("hex").slice(0, 8);
  return `${full.slice(0, RAM_NAME_MAX - hash.length - 1).replace(/-+$/, "")}-${hash}`;
}
