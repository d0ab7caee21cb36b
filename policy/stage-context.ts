/**
 * What the rules need to know about a stage besides the resource: its name (the stack's, which
 * is the stage's) and the EDP image tags of the stage before it, read from that stage's file in
 * the repository (the file a promotion copied them from).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import YAML from "yaml";
import { isStage, type Stage, STAGES } from "../config/stages";
import type { PolicyContext } from "./rules";

export const REPO_ROOT = path.resolve(__dirname, "..");

/** The tags map of a stage file's edp:images. */
export function stageTags(text: string): Record<string, string> {
  const doc = YAML.parse(text) as { config?: Record<string, { tags?: Record<string, unknown> }> } | null;
  const tags = doc?.config?.["edp:images"]?.tags ?? {};
  return Object.fromEntries(Object.entries(tags).map(([k, v]) => [k, String(v)]));
}

export function contextFor(stage: string, root = REPO_ROOT): PolicyContext {
  if (!isStage(stage)) throw new Error(`the policy pack runs on the stages ${STAGES.join(", ")}, not on a stack named ${JSON.stringify(stage)}`);
  const previous: Stage | undefined = STAGES[STAGES.indexOf(stage) - 1];
  if (!previous) return { stage };
  return { stage, previousStageTags: stageTags(fs.readFileSync(path.join(root, `Pulumi.${previous}.yaml`), "utf8")) };
}

/** The stack of a URN (urn:pulumi:<stack>::<project>::<type>::<name>). */
export const stackOfUrn = (urn: string) => urn.split("::")[0].replace(/^urn:pulumi:/, "");
