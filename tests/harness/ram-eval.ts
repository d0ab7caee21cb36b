/**
 * A small evaluator of RAM policy documents for the requests this project's identities make:
 * explicit Deny wins, otherwise some Allow must match the action, the resource (RAM's `*` and
 * `?` wildcards) and every condition (StringEquals / StringLike on request keys such as
 * oss:Prefix). Enough to check that a policy grants an access pattern and nothing next to it.
 */
import type { RamPolicyDocument, RamStatement } from "../../components/shared/ram-policy";

export interface RamRequest {
  action: string;
  resource: string;
  /** Request condition keys, e.g. { "oss:Prefix": "testing/clusters/a/" }. */
  context?: Record<string, string>;
}

const glob = (pattern: string) => new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`);

function conditionHolds(condition: RamStatement["Condition"], context: Record<string, string>): boolean {
  for (const [operator, keys] of Object.entries(condition ?? {})) {
    for (const [key, expected] of Object.entries(keys)) {
      const actual = context[key];
      if (actual === undefined) return false;
      const values = Array.isArray(expected) ? expected : [expected];
      if (operator === "StringEquals" && !values.includes(actual)) return false;
      else if (operator === "StringLike" && !values.some((v) => glob(v).test(actual))) return false;
      else if (operator !== "StringEquals" && operator !== "StringLike") throw new Error(`condition operator ${operator} is not modelled`);
    }
  }
  return true;
}

const matches = (s: RamStatement, r: RamRequest) =>
  s.Action.some((a) => glob(a).test(r.action)) && s.Resource.some((p) => glob(p).test(r.resource)) && conditionHolds(s.Condition, r.context ?? {});

export function isAllowed(doc: RamPolicyDocument, r: RamRequest): boolean {
  if (doc.Statement.some((s) => s.Effect === "Deny" && matches(s, r))) return false;
  return doc.Statement.some((s) => s.Effect === "Allow" && matches(s, r));
}

/**
 * What source-controller's Bucket reconciler (internal/controller/bucket_controller.go,
 * fetchEtagIndex and fetchIndexFiles, with internal/bucket/minio) sends to OSS for a Bucket with
 * provider generic, region set and spec.prefix = `prefix`, as RAM sees each request.
 */
export function fluxBucketAccessPattern(bucket: string, prefix: string): [string, RamRequest][] {
  const arn = (key?: string) => (key === undefined ? `acs:oss:*:*:${bucket}` : `acs:oss:*:*:${bucket}/${key}`);
  return [
    ["BucketExists: HEAD on the bucket", { action: "oss:GetBucketInfo", resource: arn() }],
    ["FGetObject(.sourceignore): StatObject (HEAD) of the root key", { action: "oss:GetObject", resource: arn(".sourceignore") }],
    ["FGetObject(.sourceignore): GET of the root key", { action: "oss:GetObject", resource: arn(".sourceignore") }],
    ["VisitObjects: ListObjects, recursive, prefix = spec.prefix", { action: "oss:ListObjects", resource: arn(), context: { "oss:Prefix": prefix } }],
    ["FGetObject(desired-state.yaml): HEAD + GET", { action: "oss:GetObject", resource: arn(`${prefix}desired-state.yaml`) }],
    ["FGetObject(sealed-secrets.yaml): HEAD + GET (the second Bucket)", { action: "oss:GetObject", resource: arn(`${prefix}sealed-secrets.yaml`) }],
  ];
}
