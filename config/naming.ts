/** The one place where names derived from the stage are made. */
import type { StageInput } from "./schema";

export interface StageNames {
  /** Prefix for cloud resource names: edp-<stage>. */
  prefix: string;
  /** OSS bucket holding each edge cluster's desired state under <stage>/clusters/<name>/. */
  manifestsBucket: string;
  /** OSS bucket for PostgreSQL dumps under <stage>/<db>/. */
  backupBucket: string;
  /** OSS bucket for Vault raft snapshots. */
  vaultSnapshotBucket: string;
  /** Public name of a platform endpoint: <name>.api.<stage>.<publicZone>. */
  publicHost(name: string): string;
  /** VPC-internal name: <name>.api.<stage>.<internalZone>. */
  internalHost(name: string): string;
  /** Object key prefix of an edge cluster's desired state. */
  edgeClusterPrefix(cluster: string): string;
}

export function stageNames(cfg: Pick<StageInput, "stage" | "bucketPrefix" | "dns"> & { existing?: Pick<StageInput["existing"], "buckets"> }): StageNames {
  const { stage, bucketPrefix, dns } = cfg;
  // An adopted bucket keeps its name (edp:existing.buckets); the others are named from the prefix.
  const given = cfg.existing?.buckets ?? {};
  return {
    prefix: `edp-${stage}`,
    manifestsBucket: given.manifests?.name ?? `${bucketPrefix}-${stage}-manifests`,
    backupBucket: given.backup?.name ?? `${bucketPrefix}-${stage}-pgbackup`,
    vaultSnapshotBucket: given.vaultSnapshots?.name ?? `${bucketPrefix}-${stage}-vault-snapshots`,
    publicHost: (name) => `${name}.api.${stage}.${dns.publicZone}`,
    internalHost: (name) => `${name}.api.${stage}.${dns.internalZone}`,
    edgeClusterPrefix: (cluster) => `${stage}/clusters/${cluster}/`,
  };
}
