/**
 * `npm run fleet -- status --stage <stage> [--json] [--stale-after <intervals>] [--bucket-dir <dir>] [--stack-file <file>]`
 *
 * One line per edge cluster of the stage: in sync, drifting, stale or failed (see
 * scripts/lib/fleet.ts), read from each cluster's status object in the manifests bucket with the
 * operator's Alibaba credentials (ALICLOUD_ACCESS_KEY, ALICLOUD_SECRET_KEY, optionally
 * ALICLOUD_SECURITY_TOKEN). Progress goes to stderr. Exit 0 when every cluster is in sync, 1 when
 * any is not, 64 on bad usage or config, 69 when the bucket cannot be read.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { STATUS_FILE } from "../components/edge/status";
import { PROJECT_ROOT } from "../config/sealed-secrets";
import { readStackConfig } from "./lib/mock-runtime";
import { DESIRED_STATE_FILE } from "../components/edge/manifests";
import { ConfigError } from "../config";
import { type BucketReader, DirectoryBucket, fleetStatus, OssBucket } from "./lib/fleet";
import { parseFlags, readStageFile, UsageError } from "./lib/stage-file";

/** Edge clusters of the stage's shard stacks, by name. */
function shardClusters(stage: string, projectDir: string): string[] {
  const dir = path.join(projectDir, "fleet");
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.startsWith(`Pulumi.${stage}-`) && f.endsWith(".yaml"))
    .sort()
    .flatMap((f) => {
      const raw = readStackConfig(path.join(dir, f))["edp-fleet:edgeClusters"];
      return raw ? (JSON.parse(raw) as { name: string }[]).map((c) => c.name) : [];
    });
}

const USAGE = "usage: npm run fleet -- status --stage <stage> [--json] [--stale-after <intervals, default 3>] [--bucket-dir <dir>] [--stack-file <file>]";

async function main(argv: string[]): Promise<number> {
  const { flags, words } = parseFlags(argv, ["json", "help"]);
  if (flags.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (words.length !== 1 || words[0] !== "status") throw new UsageError(USAGE);
  if (typeof flags.stage !== "string") throw new UsageError(`--stage is required\n${USAGE}`);
  const staleAfter = flags["stale-after"] === undefined ? 3 : Number(flags["stale-after"]);
  if (!Number.isInteger(staleAfter) || staleAfter < 1) throw new UsageError("--stale-after must be a whole number of status intervals, at least 1");

  const stackFile = typeof flags["stack-file"] === "string" ? path.resolve(flags["stack-file"]) : path.join(PROJECT_ROOT, `Pulumi.${flags.stage}.yaml`);
  const cfg = readStageFile(flags.stage, stackFile);
  let bucket: BucketReader;
  if (typeof flags["bucket-dir"] === "string") bucket = new DirectoryBucket(flags["bucket-dir"]);
  else {
    const { ALICLOUD_ACCESS_KEY: accessKeyId, ALICLOUD_SECRET_KEY: accessKeySecret, ALICLOUD_SECURITY_TOKEN: securityToken } = process.env;
    if (!accessKeyId || !accessKeySecret) throw new UsageError("set ALICLOUD_ACCESS_KEY and ALICLOUD_SECRET_KEY (a RAM user that may read the manifests bucket), or pass --bucket-dir");
    bucket = new OssBucket({ bucket: cfg.names.manifestsBucket, region: cfg.region, accessKeyId, accessKeySecret, securityToken });
  }
  // The stage's own clusters and those of its edge-fleet shards (fleet/Pulumi.<stage>-<shard>.yaml
  // next to the stack file): same bucket, same prefixes.
  const names = [...cfg.edgeClusters.map((c) => c.name), ...shardClusters(cfg.stage, path.dirname(stackFile))];
  const clusters = names.map((name) => {
    const prefix = cfg.names.edgeClusterPrefix(name);
    return { name, desiredStateKey: `${prefix}${DESIRED_STATE_FILE}`, statusKey: `${prefix}${STATUS_FILE}` };
  });
  const total = clusters.length;
  const every = Math.max(1, Math.ceil(total / 20));
  process.stderr.write(`fleet: reading ${total} status object(s) of stage ${cfg.stage} from ${typeof flags["bucket-dir"] === "string" ? flags["bucket-dir"] : cfg.names.manifestsBucket}\n`);
  let verdicts;
  try {
    verdicts = await fleetStatus(clusters, bucket, {
      now: Date.now(),
      staleAfterMs: staleAfter * cfg.edgeStatusIntervalMinutes * 60_000,
      progress: (done, n) => {
        if (done % every === 0 || done === n) process.stderr.write(`fleet: ${done}/${n}\n`);
      },
    });
  } catch (e) {
    process.stderr.write(`fleet: cannot read the bucket: ${(e as Error).message}\n`);
    return 69;
  }
  if (flags.json) process.stdout.write(`${JSON.stringify(verdicts, null, 2)}\n`);
  else {
    const width = Math.max(...verdicts.map((v) => v.cluster.length), 7);
    for (const v of verdicts) process.stdout.write(`${v.cluster.padEnd(width)}  ${v.state.padEnd(8)}  ${v.reason}\n`);
  }
  const counts = verdicts.reduce<Record<string, number>>((acc, v) => ({ ...acc, [v.state]: (acc[v.state] ?? 0) + 1 }), {});
  process.stderr.write(`fleet: ${["in sync", "drifting", "stale", "failed"].map((s) => `${counts[s] ?? 0} ${s}`).join(", ")}\n`);
  return verdicts.every((v) => v.state === "in sync") ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (e instanceof UsageError || e instanceof ConfigError) {
      process.stderr.write(`fleet: ${e.message}\n`);
      process.exitCode = 64;
      return;
    }
    throw e;
  },
);
