/**
 * A stage's config as the Pulumi runtime would hand it to the program: the stack file's values
 * plus the required secrets (stand-ins), with the secret keys listed as the runtime lists them.
 * For tests that call parseStageConfig directly.
 */
import * as path from "node:path";
import type { RawConfig } from "../../config";
import { readStackConfig } from "../../scripts/lib/mock-runtime";
import { edgeKubeconfigStandIns, REQUIRED_SECRET_STAND_INS } from "../../scripts/lib/stand-in-secrets";
import { ROOT } from "./stage";

export function stageRawConfig(stage: string, secrets: Record<string, unknown> = {}): RawConfig & { secretKeys: string[] } {
  const values = readStackConfig(path.join(ROOT, `Pulumi.${stage}.yaml`));
  // Directly bootstrapped edge clusters need a kubeconfig each (stand-ins, as synth gives them).
  const kubeconfigs = edgeKubeconfigStandIns(values["edp:edgeClusters"]);
  const edge = Object.keys(kubeconfigs).length > 0 ? { "edp:edgeKubeconfigs": kubeconfigs } : {};
  const all = { ...REQUIRED_SECRET_STAND_INS, ...edge, ...secrets };
  for (const [k, v] of Object.entries(all)) if (v !== undefined) values[k] = typeof v === "string" ? v : JSON.stringify(v);
  return { values, stack: stage, project: "edp", secretKeys: Object.keys(all) };
}
