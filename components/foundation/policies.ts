/**
 * Least-privilege RAM policy documents of the foundation's identities, and of one edge cluster.
 * Pure functions of names and ARNs: the component turns them into ram.Policy resources, and the
 * tests parse them.
 */
import { kmsKeyArn, ossArn, policyDocument, type RamAction, type RamPolicyDocument, type RamStatement } from "../shared/ram-policy";

export { kmsKeyArn };

/**
 * Objects a writer puts and reads back (restore drills, snapshot restores). Multipart actions are
 * included because ossutil and the SDKs upload large dumps in parts; no DeleteObject: expiry is
 * the lifecycle rule's job, so a compromised writer cannot erase history.
 */
export const WRITER_OBJECT_ACTIONS: RamAction[] = ["oss:PutObject", "oss:GetObject", "oss:AbortMultipartUpload", "oss:ListParts"];

/** What Vault's alicloudkms seal calls (Encrypt/Decrypt of the root key, DescribeKey at start-up). */
export const VAULT_UNSEAL_ACTIONS: RamAction[] = ["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey"];

/**
 * The data buckets are encrypted with the stage's bucket key; OSS then asks KMS on behalf of the
 * requester, so their writers need GenerateDataKey and Decrypt on that key (and only that key).
 */
export const SSE_WRITE_ACTIONS: RamAction[] = ["kms:GenerateDataKey", "kms:Decrypt"];

/** ListObjects on a bucket, only for listings under a prefix (oss:Prefix is the request's prefix parameter). */
export function listUnderPrefix(bucket: string, prefix: string): RamStatement {
  return { Effect: "Allow", Action: ["oss:ListObjects"], Resource: [ossArn(bucket)], Condition: { StringLike: { "oss:Prefix": [`${prefix}*`] } } };
}

function requirePrefix(prefix: string, what: string): void {
  if (prefix === "" || !prefix.endsWith("/") || prefix.startsWith("/") || prefix.includes("*")) {
    throw new Error(`${what}: object prefix ${JSON.stringify(prefix)} must be non-empty, end with '/', and contain no '*'`);
  }
}

export interface PrefixAccess {
  /** Bucket name. */
  bucket: string;
  /** Object key prefix ending in '/', e.g. testing/ */
  prefix: string;
  /** ARN of the KMS key the bucket is encrypted with. */
  kmsKeyArn: string;
}

/** The PostgreSQL backup CronJob: writes and reads <bucket>/<stage>/ only. */
export function backupWriterPolicy({ bucket, prefix, kmsKeyArn }: PrefixAccess): RamPolicyDocument {
  requirePrefix(prefix, "backup writer");
  return policyDocument(
    { Effect: "Allow", Action: WRITER_OBJECT_ACTIONS, Resource: [ossArn(bucket, prefix)] },
    listUnderPrefix(bucket, prefix),
    { Effect: "Allow", Action: SSE_WRITE_ACTIONS, Resource: [kmsKeyArn] },
  );
}

/**
 * Restore and restore-drill Jobs: read <bucket>/<stage>/ only. Reading an SSE-KMS object makes OSS
 * decrypt its data key on the reader's behalf, hence kms:Decrypt on the bucket key (no
 * GenerateDataKey: a reader never writes). A restore run by mistake against the wrong database
 * can then never overwrite or add a backup.
 */
export function backupReaderPolicy({ bucket, prefix, kmsKeyArn }: PrefixAccess): RamPolicyDocument {
  requirePrefix(prefix, "backup reader");
  return policyDocument(
    { Effect: "Allow", Action: ["oss:GetObject"], Resource: [ossArn(bucket, prefix)] },
    listUnderPrefix(bucket, prefix),
    { Effect: "Allow", Action: ["kms:Decrypt"], Resource: [kmsKeyArn] },
  );
}

/** Vault's raft snapshot job: writes and reads its own bucket only. */
export function vaultSnapshotWriterPolicy({ bucket, kmsKeyArn }: Omit<PrefixAccess, "prefix">): RamPolicyDocument {
  return policyDocument(
    { Effect: "Allow", Action: WRITER_OBJECT_ACTIONS, Resource: [ossArn(bucket, "")] },
    { Effect: "Allow", Action: ["oss:ListObjects"], Resource: [ossArn(bucket)] },
    { Effect: "Allow", Action: SSE_WRITE_ACTIONS, Resource: [kmsKeyArn] },
  );
}

/** Vault auto-unseal: encrypt, decrypt and describe on the unseal key only. */
export function vaultUnsealPolicy(unsealKeyArn: string): RamPolicyDocument {
  return policyDocument({ Effect: "Allow", Action: VAULT_UNSEAL_ACTIONS, Resource: [unsealKeyArn] });
}

/**
 * Read-only access of one edge cluster to its own desired state: GetObject under its prefix of
 * the manifests bucket, ListObjects only for listings under that prefix (Flux's Bucket source
 * must list with `spec.prefix` set to the same prefix). No KMS permission: the manifests bucket
 * is encrypted with the OSS-managed key (buckets.ts). The edge-cluster component creates one
 * RAM user per cluster with this document:
 * `edgeClusterReadPolicy({ bucket: cfg.names.manifestsBucket, prefix: cfg.names.edgeClusterPrefix(name) })`.
 */
export function edgeClusterReadPolicy({ bucket, prefix }: Omit<PrefixAccess, "kmsKeyArn">): RamPolicyDocument {
  requirePrefix(prefix, "edge cluster");
  return policyDocument({ Effect: "Allow", Action: ["oss:GetObject"], Resource: [ossArn(bucket, prefix)] }, listUnderPrefix(bucket, prefix));
}

/** Serialises a policy document the way RAM stores it. */
export const renderPolicy = (doc: RamPolicyDocument): string => JSON.stringify(doc);
