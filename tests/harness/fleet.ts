/**
 * Runs an edge-fleet shard (fleet/index.ts) under the mock runtime in a child process, with the
 * central stack's `edgeFleet` output given as what its StackReference reads.
 */
import * as path from "node:path";
import { ROOT, runStage, type StageRun, type StageRunOptions } from "./stage";

export const FLEET_ROOT = path.join(ROOT, "fleet");

/** The central stack's `edgeFleet` output for a stage, as the mock runtime computes it. */
export async function centralFleetOutput(stage: string): Promise<Record<string, unknown>> {
  const central = await runStage(stage);
  if (central.error) throw new Error(central.error);
  return central.output("edgeFleet").value as Record<string, unknown>;
}

export async function runShard(stage: string, shardStack: string, options: StageRunOptions = {}): Promise<StageRun> {
  const edgeFleet = await centralFleetOutput(stage);
  return runStage(stage, {
    stackFile: path.join(FLEET_ROOT, `Pulumi.${shardStack}.yaml`),
    program: path.join(FLEET_ROOT, "index.ts"),
    project: "edp-fleet",
    stack: shardStack,
    standIns: false,
    stackReferences: { [`organization/edp/${stage}`]: { edgeFleet } },
    ...options,
  });
}
