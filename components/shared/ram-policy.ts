/**
 * RAM policy documents as typed objects (never string templates), and the ARNs this program
 * scopes them to. Policies are checked in tests by parsing these documents.
 */
export type RamAction = `${string}:${string}`;

export interface RamStatement {
  Effect: "Allow" | "Deny";
  Action: RamAction[];
  Resource: string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

export interface RamPolicyDocument {
  Version: "1";
  Statement: RamStatement[];
}

export function policyDocument(...statements: RamStatement[]): RamPolicyDocument {
  for (const s of statements) {
    if (s.Action.some((a) => a.includes("*"))) throw new Error(`RAM policy action with a wildcard: ${s.Action.join(", ")}`);
    if (s.Resource.some((r) => r === "*")) throw new Error("RAM policy on every resource ('*')");
  }
  return { Version: "1", Statement: statements };
}

/** ARN of an OSS bucket, or of objects under a prefix in it. */
export const ossArn = (bucket: string, objectPrefix?: string) =>
  objectPrefix === undefined ? `acs:oss:*:*:${bucket}` : `acs:oss:*:*:${bucket}/${objectPrefix}*`;

/** ARN of a KMS key in a region and account. */
export const kmsKeyArn = (region: string, accountId: string, keyId: string) => `acs:kms:${region}:${accountId}:key/${keyId}`;
