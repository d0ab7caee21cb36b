/**
 * A stage's config for the operator tools (fleet, seal): the stack file, validated by the same
 * schema and checks as the program. Secret values are never needed by these tools, so the
 * stand-ins fill what the checks require (the tools read only names, clusters and intervals).
 */
import * as path from "node:path";
import { parseStageConfig, type StageConfig } from "../../config";
import { PROJECT_ROOT } from "../../config/sealed-secrets";
import { readStackConfig } from "./mock-runtime";
import { edgeKubeconfigStandIns, REQUIRED_SECRET_STAND_INS } from "./stand-in-secrets";

export function readStageFile(stage: string, stackFile = path.join(PROJECT_ROOT, `Pulumi.${stage}.yaml`)): StageConfig {
  const values = readStackConfig(stackFile);
  // The stand-ins take the place of secret config, so they are handed over as the runtime hands
  // secrets (PULUMI_CONFIG_SECRET_KEYS): the checks refuse a secret key set in plaintext.
  const secretKeys: string[] = [];
  const standIn = (k: string, v: unknown) => {
    if (values[k] !== undefined) return;
    values[k] = typeof v === "string" ? v : JSON.stringify(v);
    secretKeys.push(k);
  };
  for (const [k, v] of Object.entries(REQUIRED_SECRET_STAND_INS)) standIn(k, v);
  standIn("edp:edgeKubeconfigs", edgeKubeconfigStandIns(values["edp:edgeClusters"]));
  return parseStageConfig({ values, stack: stage, project: "edp", secretKeys });
}

/** `--name value` flags and positional words; a flag listed in `booleans` takes no value. */
export function parseFlags(argv: string[], booleans: string[]): { flags: Record<string, string | true>; words: string[] } {
  const flags: Record<string, string | true> = {};
  const words: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith("--")) {
      words.push(a);
      continue;
    }
    const name = a.slice(2);
    if (booleans.includes(name)) flags[name] = true;
    else {
      const v = argv[i + 1];
      if (v === undefined || v.startsWith("--")) throw new UsageError(`--${name} needs a value`);
      flags[name] = v;
      i++;
    }
  }
  return { flags, words };
}

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}
