/**
 * Promotion of EDP image tags from one stage file to the next (manual §3.6: testing → staging →
 * production, formerly by copying the `images` list between kustomizations by hand).
 *
 * The yaml package's Document API locates the tag scalars in the target file; the new values are
 * spliced into the original text at exactly those byte ranges, so comments, quoting and every
 * other section of the file stay byte-for-byte as they were.
 */
import { isMap, isScalar, parseDocument, type Scalar, type YAMLMap } from "yaml";
import { EDP_SERVICES, isStage, nextStage, STAGES, type Stage } from "../../config/stages";
import { IMAGE_TAG } from "../../config/validators";
import { tagProblems } from "../../policy/rules";

export class PromotionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PromotionError";
  }
}

export interface TagChange {
  service: string;
  from: string | undefined;
  to: string;
}

export interface PromotionResult {
  /** The target file's new text. */
  text: string;
  /** Every service whose tag changed or was added. */
  changes: TagChange[];
}

const TAGS_PATH = ["config", "edp:images", "tags"];

/** Checks a promotion's direction; returns the two stages. */
export function checkStages(from: string, to: string): [Stage, Stage] {
  for (const s of [from, to]) if (!isStage(s)) throw new PromotionError(`unknown stage ${JSON.stringify(s)} (expected one of ${STAGES.join(", ")})`);
  const a = from as Stage;
  const b = to as Stage;
  const next = nextStage(a);
  if (next === undefined) throw new PromotionError(`${a} is the last stage; nothing comes after it`);
  if (b !== next) throw new PromotionError(`${b} is not the stage after ${a} (${next} is): promote one stage at a time, in order ${STAGES.join(" → ")}`);
  return [a, b];
}

function tagsMap(text: string, file: string): YAMLMap<unknown, unknown> {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new PromotionError(`${file} is not valid YAML: ${doc.errors[0].message}`);
  const node = doc.getIn(TAGS_PATH, true);
  if (!isMap(node)) throw new PromotionError(`${file} has no edp:images.tags map`);
  return node;
}

function scalarText(value: string, style: Scalar["type"]): string {
  if (style === "QUOTE_SINGLE") return `'${value.replace(/'/g, "''")}'`;
  // A plain scalar stays plain when YAML would read it back as the same string.
  if (style === "PLAIN" && /^[A-Za-z_][A-Za-z0-9_.-]*$/.test(value) && !/^(true|false|null|yes|no|on|off|~)$/i.test(value)) return value;
  return JSON.stringify(value);
}

/** Copies every EDP service's tag of `fromText` (stage `from`) into `toText` (stage `to`). */
export function promoteImageTags(fromText: string, toText: string, from: string, to: string): PromotionResult {
  const [, target] = checkStages(from, to);
  const source = tagsMap(fromText, `Pulumi.${from}.yaml`);
  const dest = tagsMap(toText, `Pulumi.${to}.yaml`);

  const tags = new Map<string, string>();
  const problems: string[] = [];
  for (const service of EDP_SERVICES) {
    const node = source.get(service, true);
    const tag = isScalar(node) ? node.value : undefined;
    // YAML reads an unquoted 4.10 as the number 4.1 (and so does Pulumi): the tag the file means
    // is lost before anyone can copy it, so the source must quote it.
    if (isScalar(node) && typeof tag !== "string" && tag !== null && tag !== undefined) {
      problems.push(`edp:images.tags.${service} in Pulumi.${from}.yaml is the ${typeof tag} ${node.source ?? String(tag)}, not a string: quote it ("${node.source ?? String(tag)}"), YAML reads it as ${String(tag)}`);
    } else if (typeof tag !== "string" || tag === "") problems.push(`Pulumi.${from}.yaml has no edp:images.tags.${service}`);
    else if (!IMAGE_TAG.test(tag)) problems.push(`edp:images.tags.${service} in Pulumi.${from}.yaml (${JSON.stringify(tag)}) is not a valid image tag`);
    else if (tag === "latest" && target !== "testing") problems.push(`edp:images.tags.${service} is "latest", which must not go into ${target}: build and tag a release first`);
    else {
      // The policy pack's own rule: what it would refuse at preview, promotion refuses now.
      const refused = tagProblems(service, tag, target);
      if (refused.length > 0) problems.push(...refused.map((p) => `edp:images.tags.${p} (refused for ${target})`));
      else tags.set(service, tag);
    }
  }
  if (problems.length > 0) throw new PromotionError(problems.join("\n"));

  const edits: { start: number; end: number; text: string }[] = [];
  const changes: TagChange[] = [];
  const missing: string[] = [];
  for (const [service, tag] of tags) {
    const pair = dest.items.find((p) => isScalar(p.key) && p.key.value === service);
    if (!pair) {
      missing.push(service);
      continue;
    }
    const value = pair.value;
    if (!isScalar(value) || !value.range) throw new PromotionError(`edp:images.tags.${service} in Pulumi.${to}.yaml is not a plain value`);
    const old = value.value === null || value.value === undefined ? undefined : String(value.value);
    if (old === tag) continue;
    edits.push({ start: value.range[0], end: value.range[1], text: scalarText(tag, value.type) });
    changes.push({ service, from: old, to: tag });
  }
  if (missing.length > 0) {
    // New services go after the last existing entry, with its indentation and quoting.
    const last = dest.items[dest.items.length - 1];
    if (!last || !isScalar(last.key) || !last.key.range || !isScalar(last.value) || !last.value.range) {
      throw new PromotionError(`Pulumi.${to}.yaml: edp:images.tags is empty; add the services there first`);
    }
    const lineStart = toText.lastIndexOf("\n", last.key.range[0]) + 1;
    const indent = toText.slice(lineStart, last.key.range[0]);
    const end = last.value.range[1];
    const style = last.value.type;
    const lines = missing.map((s) => `\n${indent}${s}: ${scalarText(tags.get(s) ?? "", style)}`).join("");
    edits.push({ start: end, end, text: lines });
    for (const s of missing) changes.push({ service: s, from: undefined, to: tags.get(s) ?? "" });
  }

  let text = toText;
  for (const e of edits.sort((a, b) => b.start - a.start)) text = text.slice(0, e.start) + e.text + text.slice(e.end);

  // The splice must give exactly the intended tags; anything else is a bug, not a promotion.
  const check = tagsMap(text, `Pulumi.${to}.yaml (promoted)`);
  for (const [service, tag] of tags) {
    if (String(check.get(service)) !== tag) throw new PromotionError(`internal error: ${service} reads back as ${String(check.get(service))}, not ${tag}`);
  }
  return { text, changes };
}
