/**
 * The stage's OSS buckets: private, public access blocked, server-side encrypted with KMS.
 * Each bucket resource owns its lifecycle rules and versioning (no separate lifecycle resource:
 * OSS replaces the whole rule set, so two owners would overwrite each other).
 */
import * as alicloud from "@pulumi/alicloud";
import * as pulumi from "@pulumi/pulumi";
import { adoptOptions } from "../shared/adopt";
import { type BucketKind, bucketPlans } from "./buckets";
import type { Scope } from "./scope";

/** Each bucket's name, as an output of its resource when this stack manages it. */
export type Buckets = Record<BucketKind, pulumi.Output<string>>;

export function createBuckets(scope: Scope, kmsKeyId: pulumi.Input<string>): Buckets {
  const { name, parent, cfg, tags } = scope;
  const out = {} as Buckets;
  for (const plan of bucketPlans(cfg.names, cfg.stage, cfg.postgres.backup.retentionDays)) {
    const existing = cfg.existing.buckets?.[plan.kind];
    if (existing?.mode === "reference") {
      // Used by name only: another owner (or several stages) keeps its settings and lifecycle rules.
      out[plan.kind] = pulumi.output(existing.name);
      continue;
    }
    // The provider's Import section: a bucket, its ACL and its public access block are imported by the bucket's name.
    const importId = existing?.name;
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
      { parent, protect: cfg.protect, retainOnDelete: plan.holdsData, ...adoptOptions("alicloud:oss/bucket:Bucket", importId) },
    );
    new alicloud.oss.BucketAcl(`${name}-${plan.slug}-acl`, { bucket: bucket.bucket, acl: "private" }, { parent, ...adoptOptions("alicloud:oss/bucketAcl:BucketAcl", importId) });
    new alicloud.oss.BucketPublicAccessBlock(
      `${name}-${plan.slug}-public-access-block`,
      { bucket: bucket.bucket, blockPublicAccess: true },
      { parent, ...adoptOptions("alicloud:oss/bucketPublicAccessBlock:BucketPublicAccessBlock", importId) },
    );
    out[plan.kind] = bucket.bucket;
  }
  return out;
}
