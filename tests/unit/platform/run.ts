/** Runs the platform fixture program for a stage with the fake secret config. */
import * as path from "node:path";
import { FAKE_SECRET_CONFIG, ROOT, runStage, type StageRun, type StageRunOptions } from "../../harness/stage";

export const PLATFORM_PROGRAM = path.join(ROOT, "tests/fixtures/programs/platform.ts");

export function runPlatform(stage: string, options: StageRunOptions = {}): Promise<StageRun> {
  return runStage(stage, { program: PLATFORM_PROGRAM, ...options, secrets: { ...FAKE_SECRET_CONFIG, ...(options.secrets ?? {}) } });
}

/** A recorded Kubernetes object's metadata. */
export function meta(inputs: Record<string, unknown>): { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> } {
  return (inputs.metadata ?? {}) as { name: string; namespace?: string };
}
