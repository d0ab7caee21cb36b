/**
 * The stage's OSS buckets: private, public access blocked, server-side encrypted with KMS.
 * Each bucket resource owns its lifecycle rules and versioning (no separate lifecycle resource:
 * OSS replaces the whole rule set, so two owners would overwrite each other).
 */
import * as alicloud from "@pulumi/alicloud";
import type * as pulumi from "@pulumi/pulumi";
import { type BucketKind, bucketPlans } from "./buckets";
import type { Scope } from "./scope";

export type Buckets = Record<BucketKind, alicloud.oss.Bucket>;

export function createBuckets(scope: Scope, kmsKeyId: pulumi.Input<string>): Buckets {
  const { name, parent, cfg, tags } = scope;
  const out = {} as Buckets;
  for (const plan of bucketPlans(cfg.names, cfg.stage, cfg.postgres.backup.retentionDays)) {
    const bucket = new alicloud.oss.Bucket(
      `${name}-${plan.slug}`,
      {
        bucket: plan.name,
        storageClass: "Standard",
        serverSideEncryptionRule: plan.encryptionKey === "stage" ? { sseAlgorithm: "KMS", kmsMasterKeyId: kmsKeyId } : { sseAlgorithm: "KMS" },
        versioning: plan.versioned ? { status: "Enabled" } : undefined,
        lifecycleRules: plan.lifecycleRules.length > 0 ? plan.lifecycleRules : undefined,
        // The versioned backup bucket has two Expiration rules on one prefix (see buckets.ts).
        lifecycleRuleAllowSameActionOverlap: plan.lifecycleRules.length > 1 ? true : undefined,
        forceDestroy: false,
        tags: { ...tags, purpose: plan.kind },
      },
      { parent, protect: cfg.protect, retainOnDelete: plan.holdsData },
    );
    new alicloud.oss.BucketAcl(`${name}-${plan.slug}-acl`, { bucket: bucket.bucket, acl: "private" }, { parent });
    new alicloud.oss.BucketPublicAccessBlock(`${name}-${plan.slug}-public-access-block`, { bucket: bucket.bucket, blockPublicAccess: true }, { parent });
    out[plan.kind] = bucket;
  }
  return out;
}
