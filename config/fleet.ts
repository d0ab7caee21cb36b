/**
 * Config of an edge-fleet shard stack (project `edp-fleet`, folder fleet/): a share of one
 * stage's edge clusters, deployed on its own so that an edge change never previews the central
 * platform and shards update in parallel. The cluster, template and deployment entries are the
 * same as in a stage's stack file and are validated by the same schema and cross-key rules;
 * problems name `edp-fleet:<key>`.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { crossChecks } from "./checks";
import { ConfigError, type ConfigProblem, describeIssue, keyPath, parseValue } from "./load";
import { type StageNames, stageNames } from "./naming";
import { type StageInput, stageSchema } from "./schema";
import { CONFIG_NAMESPACE } from "./stages";

/** Pulumi config namespace of the shard project (`edp-fleet:<key>` in fleet/Pulumi.<stack>.yaml). */
export const FLEET_NAMESPACE = "edp-fleet";

const fleetSchema = z.strictObject({
  stage: stageSchema.shape.stage,
  region: stageSchema.shape.region,
  /** The stage's central stack, `<org>/edp/<stage>`: the shard reads the manifests bucket from its outputs. */
  centralStack: z.string().regex(/^[A-Za-z0-9_.-]+\/edp\/[a-z]+$/, "must be the stage's central stack as <org>/edp/<stage>"),
  edgeClusters: stageSchema.shape.edgeClusters,
  chartTemplates: stageSchema.shape.chartTemplates,
  deployments: stageSchema.shape.deployments,
});

export type FleetInput = z.infer<typeof fleetSchema>;

export interface FleetConfig extends FleetInput {
  /** The shard's own stack name (`<stage>-<shard>`). */
  stack: string;
  names: Pick<StageNames, "prefix" | "edgeClusterPrefix">;
  secrets: { edgeKubeconfigs: Record<string, pulumi.Output<string>> };
}

const toFleetKey = (key: string) => (key.startsWith(`${CONFIG_NAMESPACE}:`) ? `${FLEET_NAMESPACE}:${key.slice(CONFIG_NAMESPACE.length + 1)}` : key);

/** Validates a shard's raw config (full keys to strings); throws a ConfigError naming every problem. */
export function parseFleetConfig(raw: { values: Record<string, string>; stack: string }): FleetConfig {
  const problems: ConfigProblem[] = [];
  const input: Record<string, unknown> = {};
  let kubeconfigs: Record<string, string> = {};
  for (const [fullKey, value] of Object.entries(raw.values)) {
    if (fullKey === "alicloud:region") {
      input.region = value;
      continue;
    }
    const [ns, ...rest] = fullKey.split(":");
    if (ns !== FLEET_NAMESPACE) continue;
    const name = rest.join(":");
    if (name === "edgeKubeconfigs") {
      const parsed = parseValue(value);
      if (!parsed || typeof parsed !== "object" || Array.isArray(parsed) || !Object.values(parsed).every((v) => typeof v === "string")) {
        problems.push({ key: `${FLEET_NAMESPACE}:edgeKubeconfigs`, message: "must be an object of kubeconfigs keyed by cluster name (set each with `pulumi config set --secret --path`)" });
      } else kubeconfigs = parsed as Record<string, string>;
      continue;
    }
    input[name] = parseValue(value);
  }
  const result = fleetSchema.safeParse(input, { reportInput: true });
  if (!result.success) {
    for (const issue of result.error.issues) {
      problems.push({ key: toFleetKey(keyPath(issue.path)), message: describeIssue(issue) });
    }
    throw new ConfigError(problems);
  }
  const cfg = result.data;
  if (!raw.stack.startsWith(`${cfg.stage}-`)) {
    problems.push({ key: `${FLEET_NAMESPACE}:stage`, message: `is ${cfg.stage}, but the shard's stack ${raw.stack} is not named <stage>-<shard>` });
  }
  if (!cfg.centralStack.endsWith(`/edp/${cfg.stage}`)) {
    problems.push({ key: `${FLEET_NAMESPACE}:centralStack`, message: `is ${cfg.centralStack}, which is not the central stack of stage ${cfg.stage}` });
  }
  if (cfg.edgeClusters.length === 0) problems.push({ key: `${FLEET_NAMESPACE}:edgeClusters`, message: "is empty: a shard holds at least one edge cluster" });
  // The stage's own rules for clusters, templates and deployments (references, duplicates, hosts, kubeconfigs).
  const edgeOnly: Partial<StageInput> = { stage: cfg.stage, region: cfg.region, edgeClusters: cfg.edgeClusters, chartTemplates: cfg.chartTemplates, deployments: cfg.deployments };
  problems.push(
    ...crossChecks(edgeOnly, { stack: cfg.stage, secrets: { edgeKubeconfigs: kubeconfigs } }).map((p) => ({ ...p, key: toFleetKey(p.key) })),
  );
  if (problems.length > 0) throw new ConfigError(problems);
  const names = stageNames({ stage: cfg.stage, bucketPrefix: "unused", dns: { publicZone: "unused.invalid", internalZone: "unused.invalid" } });
  return {
    ...cfg,
    stack: raw.stack,
    names: { prefix: names.prefix, edgeClusterPrefix: names.edgeClusterPrefix },
    secrets: { edgeKubeconfigs: Object.fromEntries(Object.entries(kubeconfigs).map(([k, v]) => [k, pulumi.secret(v)])) },
  };
}

/** Reads the shard's config from the Pulumi runtime; a RunError (no stack trace) when invalid. */
export function loadFleetConfig(): FleetConfig {
  try {
    return parseFleetConfig({ values: pulumi.runtime.allConfig(), stack: pulumi.getStack() });
  } catch (e) {
    if (e instanceof ConfigError) throw new pulumi.RunError(e.message);
    throw e;
  }
}
