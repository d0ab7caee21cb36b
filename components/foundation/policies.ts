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
 * The object source-controller reads at the bucket root before it lists anything: its Bucket
 * reconciler (fetchEtagIndex) fetches `.sourceignore` from the root of the bucket, whatever
 * `spec.prefix` says, and fails on any error but "no such key".
 */
export const SOURCEIGNORE_KEY = ".sourceignore";

/**
 * Read-only access of one edge cluster to its own desired state, exactly what Flux's Bucket
 * reconciler (source-controller, provider generic, the minio client) asks of OSS, in order:
 *  1. BucketExists: `HEAD /` on the bucket → oss:GetBucketInfo on the bucket (metadata only);
 *  2. FGetObject(".sourceignore"): StatObject (`HEAD`) then `GET` of that one root key →
 *     oss:GetObject on `<bucket>/.sourceignore`. Without it OSS answers 403 instead of 404
 *     NoSuchKey, and the reconciler stops there;
 *  3. VisitObjects: ListObjects with `prefix=spec.prefix`, recursive (no delimiter) →
 *     oss:ListObjects with oss:Prefix equal to the cluster's prefix;
 *  4. FGetObject per listed key: HEAD + GET → oss:GetObject under the prefix.
 * No GetBucketLocation: the Bucket sets `region`, so the client never asks. No KMS permission:
 * the manifests bucket is encrypted with the OSS-managed key (buckets.ts). The edge-cluster
 * component creates one RAM user per cluster with this document.
 */
export function edgeClusterReadPolicy({ bucket, prefix }: Omit<PrefixAccess, "kmsKeyArn">): RamPolicyDocument {
  requirePrefix(prefix, "edge cluster");
  return policyDocument(
    { Effect: "Allow", Action: ["oss:GetBucketInfo"], Resource: [ossArn(bucket)] },
    { Effect: "Allow", Action: ["oss:GetObject"], Resource: [`${ossArn(bucket)}/${SOURCEIGNORE_KEY}`, ossArn(bucket, prefix)] },
    { Effect: "Allow", Action: ["oss:ListObjects"], Resource: [ossArn(bucket)], Condition: { StringEquals: { "oss:Prefix": [prefix] } } },
  );
}

/**
 * The status writer of one edge cluster (components/edge status job): PutObject of exactly one
 * key in the cluster's prefix. Nothing else: it cannot read, list, or touch the desired state.
 */
export function edgeClusterStatusWriterPolicy({ bucket, key }: { bucket: string; key: string }): RamPolicyDocument {
  if (key === "" || key.startsWith("/") || key.endsWith("/") || key.includes("*")) {
    throw new Error(`edge status writer: object key ${JSON.stringify(key)} must be one object (no leading or trailing '/', no '*')`);
  }
  return policyDocument({ Effect: "Allow", Action: ["oss:PutObject"], Resource: [`${ossArn(bucket)}/${key}`] });
}

/**
 * The central fleet-status exporter (components/edge/fleet-exporter.ts): GetObject of the status
 * object of every cluster of one stage (`<clustersPrefix>`, any cluster, `/status.json`), nothing else. One
 * wildcard rather than a key per cluster, so the document stays under RAM's 6,144 characters
 * however large the fleet; it cannot read desired states, SealedSecrets, list, or write.
 */
export function edgeFleetStatusReaderPolicy({ bucket, clustersPrefix, statusFile }: { bucket: string; clustersPrefix: string; statusFile: string }): RamPolicyDocument {
  requirePrefix(clustersPrefix, "edge fleet status");
  if (statusFile === "" || statusFile.includes("/") || statusFile.includes("*")) throw new Error(`edge fleet status: ${JSON.stringify(statusFile)} must be one file name`);
  return policyDocument({ Effect: "Allow", Action: ["oss:GetObject"], Resource: [`${ossArn(bucket)}/${clustersPrefix}*/${statusFile}`] });
}

/** Serialises a policy document the way RAM stores it. */
export const renderPolicy = (doc: RamPolicyDocument): string => JSON.stringify(doc);
