/**
 * Pure decisions about the stage's OSS buckets: which buckets exist, their names' validity, and
 * their lifecycle rules. Exactly one resource (the bucket itself) owns a bucket's lifecycle
 * rules, because OSS replaces the whole rule set on every PutBucketLifecycle.
 */
import type * as alicloud from "@pulumi/alicloud";
import type { StageNames } from "../../config";

type LifecycleRule = alicloud.types.input.oss.BucketLifecycleRule;

/**
 * Alibaba's bucket name rules: 3-63 characters, lower-case letters, digits and hyphens, starting
 * and ending with a letter or digit. Dots are legal for OSS but excluded here: Flux and OSS need
 * virtual-hosted addressing, where a dot breaks the TLS wildcard certificate.
 */
export function bucketNameProblem(name: string): string | undefined {
  if (name.length < 3 || name.length > 63) return `${JSON.stringify(name)} has ${name.length} characters; a bucket name has 3 to 63`;
  if (name.includes(".")) return `${JSON.stringify(name)} contains a dot; virtual-hosted addressing needs names without dots`;
  if (!/^[a-z0-9-]+$/.test(name)) return `${JSON.stringify(name)} may contain only lower-case letters, digits and '-'`;
  if (!/^[a-z0-9]/.test(name) || !/[a-z0-9]$/.test(name)) return `${JSON.stringify(name)} must start and end with a letter or digit`;
  return undefined;
}

export type BucketKind = "manifests" | "backup" | "vaultSnapshots";

export interface BucketPlan {
  kind: BucketKind;
  /** Kebab-case id for resource names. */
  slug: string;
  name: string;
  /** Versioned buckets keep overwritten objects, so a compromised writer cannot destroy history by overwriting it. */
  versioned: boolean;
  /** Deleting the bucket would lose data that cannot be rebuilt from the program. */
  holdsData: boolean;
  /**
   * stage: SSE-KMS with the stage's bucket key, so only identities granted that key can read.
   * oss-managed: SSE-KMS with the key OSS manages for the account, transparent to readers; used
   * for the manifests bucket, which edge clusters read and which holds only sealed secrets, so
   * that no edge identity needs any KMS permission.
   */
  encryptionKey: "stage" | "oss-managed";
  lifecycleRules: LifecycleRule[];
}

/** How long an upload left incomplete (a dump that crashed half-way) keeps its parts. */
export const ABORT_MULTIPART_AFTER_DAYS = 1;

/**
 * Expiry of the PostgreSQL dumps under `<stage>/`. On a versioned bucket the expiry of a current
 * object leaves a previous version behind a delete marker, so previous versions expire after
 * the same retention, and a second rule removes the delete markers left without versions.
 * ExpiredObjectDeleteMarker cannot share an Expiration with Days, hence two rules on one prefix.
 */
export function backupLifecycleRules(opts: { prefix: string; retentionDays: number; versioned: boolean }): LifecycleRule[] {
  const { prefix, retentionDays, versioned } = opts;
  if (!Number.isInteger(retentionDays) || retentionDays < 1) throw new Error(`backup retention must be a whole number of days >= 1, got ${retentionDays}`);
  if (prefix === "" || !prefix.endsWith("/")) throw new Error(`backup expiry prefix ${JSON.stringify(prefix)} must be non-empty and end with '/'`);
  const expire: LifecycleRule = {
    id: `expire-${prefix.replace(/\/$/, "")}-after-${retentionDays}d`,
    enabled: true,
    prefix,
    expirations: [{ days: retentionDays }],
    abortMultipartUploads: [{ days: ABORT_MULTIPART_AFTER_DAYS }],
  };
  if (!versioned) return [expire];
  return [
    { ...expire, noncurrentVersionExpirations: [{ days: retentionDays }] },
    { id: `remove-${prefix.replace(/\/$/, "")}-delete-markers`, enabled: true, prefix, expirations: [{ expiredObjectDeleteMarker: true }] },
  ];
}

/** The stage's three buckets, with names from cfg.names, validated. */
export function bucketPlans(names: Pick<StageNames, "manifestsBucket" | "backupBucket" | "vaultSnapshotBucket">, stage: string, retentionDays: number): BucketPlan[] {
  const plans: BucketPlan[] = [
    { kind: "manifests", slug: "manifests", name: names.manifestsBucket, versioned: false, holdsData: false, encryptionKey: "oss-managed", lifecycleRules: [] },
    {
      kind: "backup",
      slug: "pgbackup",
      name: names.backupBucket,
      versioned: true,
      holdsData: true,
      encryptionKey: "stage",
      lifecycleRules: backupLifecycleRules({ prefix: `${stage}/`, retentionDays, versioned: true }),
    },
    { kind: "vaultSnapshots", slug: "vault-snapshots", name: names.vaultSnapshotBucket, versioned: false, holdsData: true, encryptionKey: "stage", lifecycleRules: [] },
  ];
  const problems = plans.map((p) => bucketNameProblem(p.name)).filter((p): p is string => p !== undefined);
  if (problems.length > 0) throw new Error(`invalid bucket names (edp:bucketPrefix): ${problems.join("; ")}`);
  return plans;
}
