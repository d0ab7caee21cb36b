/**
 * `npm run fleet -- status`: every edge cluster's status object (components/edge/status.ts)
 * compared with what the centre published for it. Pure classification plus two stores: OSS
 * (the official SDK, ali-oss) and a local directory laid out like the bucket.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import OSS from "ali-oss";
import YAML from "yaml";
import type { ClusterStatus } from "../../components/edge/status";
import { REVISION_CONFIGMAP } from "../../components/edge/status";

export type FleetState = "in sync" | "drifting" | "stale" | "failed";

export interface ClusterVerdict {
  cluster: string;
  state: FleetState;
  /** Why, in one line. */
  reason: string;
  /** Time of the last report, if any. */
  reportedAt: string | null;
  revision: string | null;
}

/** What the centre published for a cluster, read back from its desired-state object. */
export interface Expected {
  revision: string;
  sealedSecretsCertSha256: string;
  helmReleases: string[];
}

export function expectedFrom(desiredStateYaml: string): Expected {
  const docs = YAML.parseAllDocuments(desiredStateYaml).map((d) => d.toJS() as { kind?: string; metadata?: { name?: string; namespace?: string }; data?: Record<string, string> } | null);
  const rev = docs.find((d) => d?.kind === "ConfigMap" && d.metadata?.name === REVISION_CONFIGMAP);
  if (!rev?.data?.revision) throw new Error(`the desired state has no ConfigMap ${REVISION_CONFIGMAP} (written by an older program version?)`);
  return {
    revision: rev.data.revision,
    sealedSecretsCertSha256: rev.data.sealedSecretsCertSha256 ?? "",
    helmReleases: docs
      .filter((d) => d?.kind === "HelmRelease")
      .map((d) => `${d?.metadata?.namespace ?? ""}/${d?.metadata?.name ?? ""}`)
      .sort(),
  };
}

const minutesAgo = (t: number, now: number) => `${Math.round((now - t) / 60_000)}m ago`;

/**
 * stale: no report, or none for `staleAfterMs`; failed: the cluster says something is broken
 * (a read error, Flux or a HelmRelease not Ready, a node not Ready); drifting: it runs something
 * else than the centre published (revision, certificate, HelmReleases); otherwise in sync.
 */
export function classify(cluster: string, status: ClusterStatus | undefined, expected: Expected | undefined, now: number, staleAfterMs: number): ClusterVerdict {
  const verdict = (state: FleetState, reason: string): ClusterVerdict => ({
    cluster,
    state,
    reason,
    reportedAt: status?.time ?? null,
    revision: status?.desiredState?.revision ?? null,
  });
  if (!status) return verdict("stale", "no status report yet");
  const t = Date.parse(status.time);
  if (Number.isNaN(t)) return verdict("failed", `status report has no valid time (${JSON.stringify(status.time)})`);
  if (now - t > staleAfterMs) return verdict("stale", `last report ${minutesAgo(t, now)}`);
  if (status.errors.length > 0) return verdict("failed", status.errors[0]);
  const k = status.flux.kustomization;
  if (!k?.ready) return verdict("failed", `Kustomization edp-desired-state not Ready: ${k?.message ?? "not reported"}`);
  const b = status.flux.bucket;
  if (!b?.ready) return verdict("failed", `Bucket edp-desired-state not Ready: ${b?.message ?? "not reported"}`);
  const badRelease = (status.helmReleases ?? []).find((r) => !r.ready);
  if (badRelease) return verdict("failed", `HelmRelease ${badRelease.namespace}/${badRelease.name} not Ready: ${badRelease.message}`);
  const badNode = (status.nodes ?? []).find((n) => !n.ready);
  if (badNode) return verdict("failed", `node ${badNode.name} not Ready`);
  if (!expected) return verdict("drifting", "the centre has no desired state for it (removed from the stage file?)");
  if (status.desiredState?.revision !== expected.revision) {
    return verdict("drifting", `applied ${status.desiredState?.revision ?? "nothing"}, the centre published ${expected.revision}`);
  }
  if (status.sealedSecretsCertSha256 !== expected.sealedSecretsCertSha256) {
    return verdict("drifting", `sealed-secrets controller serves certificate ${status.sealedSecretsCertSha256 ?? "none"}, expected ${expected.sealedSecretsCertSha256} (restart it, or re-run the bootstrap)`);
  }
  const reported = new Set((status.helmReleases ?? []).map((r) => `${r.namespace}/${r.name}`));
  const missing = expected.helmReleases.filter((r) => !reported.has(r));
  if (missing.length > 0) return verdict("drifting", `HelmRelease ${missing.join(", ")} not on the cluster`);
  return verdict("in sync", `revision ${expected.revision.slice(0, 19)}, reported ${minutesAgo(t, now)}`);
}

/** Read access to the manifests bucket: an object's text, or undefined when there is none. */
export interface BucketReader {
  get(key: string): Promise<string | undefined>;
}

/** A directory standing in for the bucket: <dir>/<object key>. */
export class DirectoryBucket implements BucketReader {
  constructor(private readonly dir: string) {}
  async get(key: string): Promise<string | undefined> {
    try {
      return await fs.promises.readFile(path.join(this.dir, key), "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw e;
    }
  }
}

/** The manifests bucket through ali-oss, with the operator's credentials (ALICLOUD_ACCESS_KEY / ALICLOUD_SECRET_KEY, as for pulumi up). */
export class OssBucket implements BucketReader {
  private readonly client: OSS;
  constructor(opts: { bucket: string; region: string; accessKeyId: string; accessKeySecret: string; securityToken?: string }) {
    this.client = new OSS({ bucket: opts.bucket, region: `oss-${opts.region}`, accessKeyId: opts.accessKeyId, accessKeySecret: opts.accessKeySecret, stsToken: opts.securityToken, secure: true });
  }
  async get(key: string): Promise<string | undefined> {
    try {
      const res = await this.client.get(key);
      return Buffer.from(res.content as Buffer).toString("utf8");
    } catch (e) {
      if ((e as { code?: string }).code === "NoSuchKey") return undefined;
      throw e;
    }
  }
}

export interface FleetCluster {
  name: string;
  desiredStateKey: string;
  statusKey: string;
}

/** Reads every cluster (a few at a time) and classifies it; `progress` is called after each. */
export async function fleetStatus(
  clusters: FleetCluster[],
  bucket: BucketReader,
  opts: { now: number; staleAfterMs: number; concurrency?: number; progress?: (done: number, total: number) => void },
): Promise<ClusterVerdict[]> {
  const out: ClusterVerdict[] = new Array(clusters.length);
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < clusters.length) {
      const i = next++;
      const c = clusters[i];
      const [statusText, desired] = await Promise.all([bucket.get(c.statusKey), bucket.get(c.desiredStateKey)]);
      let status: ClusterStatus | undefined;
      let verdict: ClusterVerdict | undefined;
      if (statusText !== undefined) {
        try {
          status = JSON.parse(statusText) as ClusterStatus;
        } catch {
          verdict = { cluster: c.name, state: "failed", reason: `${c.statusKey} is not JSON`, reportedAt: null, revision: null };
        }
      }
      let expected: Expected | undefined;
      if (!verdict && desired !== undefined) {
        try {
          expected = expectedFrom(desired);
        } catch (e) {
          verdict = { cluster: c.name, state: "drifting", reason: (e as Error).message, reportedAt: status?.time ?? null, revision: null };
        }
      }
      out[i] = verdict ?? classify(c.name, status, expected, opts.now, opts.staleAfterMs);
      opts.progress?.(++done, clusters.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.concurrency ?? 16, clusters.length) }, worker));
  return out;
}
