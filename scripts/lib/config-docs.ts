/**
 * Renders docs/config.md, the configuration reference, from the one source of each fact: every
 * key, its type, default and bounds from the zod schema (config/schema.ts, through zod's JSON
 * Schema export), the descriptions and stage rules from the schema's `.describe()` texts, the
 * secret keys from SECRET_KEY_DOCS, and the limits with their sources from config/limits.ts.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { z } from "zod";
import * as limits from "../../config/limits";
import { SECRET_KEY_DOCS, SECRET_KEYS, stageSchema } from "../../config/schema";

interface JsonSchema {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  additionalProperties?: JsonSchema | boolean;
  propertyNames?: JsonSchema;
  default?: unknown;
  description?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
  format?: string;
}

const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n/g, " ");
const code = (text: string) => `\`${text.replace(/`/g, "'")}\``;

function typeOf(s: JsonSchema): string {
  if (s.enum) return `one of ${s.enum.map((v) => code(String(v))).join(", ")}`;
  if (s.anyOf) return s.anyOf.map(typeOf).join(" or ");
  if (s.type === "array") return `list of ${s.items ? typeOf(s.items) : "any"}`;
  if (s.type === "object" && s.additionalProperties && typeof s.additionalProperties === "object" && !s.properties) {
    return `map of ${Object.keys(s.additionalProperties).length === 0 ? "any" : typeOf(s.additionalProperties)}`;
  }
  return Array.isArray(s.type) ? s.type.join(" or ") : (s.type ?? "any");
}

function bounds(s: JsonSchema): string {
  const out: string[] = [];
  if (s.minimum !== undefined) out.push(`≥ ${s.minimum}`);
  if (s.exclusiveMinimum !== undefined) out.push(`> ${s.exclusiveMinimum}`);
  if (s.maximum !== undefined && s.maximum < Number.MAX_SAFE_INTEGER) out.push(`≤ ${s.maximum}`);
  if (s.exclusiveMaximum !== undefined) out.push(`< ${s.exclusiveMaximum}`);
  if (s.minLength !== undefined) out.push(`length ≥ ${s.minLength}`);
  if (s.maxLength !== undefined) out.push(`length ≤ ${s.maxLength}`);
  if (s.minItems !== undefined) out.push(`≥ ${s.minItems} items`);
  if (s.maxItems !== undefined) out.push(`≤ ${s.maxItems} items`);
  if (s.format) out.push(`format ${s.format}`);
  if (s.pattern && !s.format) out.push(`matches ${code(s.pattern)}`);
  if (s.propertyNames?.pattern) out.push(`names match ${code(s.propertyNames.pattern)}`);
  return out.join(", ");
}

interface Row {
  key: string;
  type: string;
  presence: string;
  bounds: string;
  description: string;
}

function rows(s: JsonSchema, key: string, required: boolean, out: Row[]): void {
  const presence = s.default !== undefined ? `default ${code(JSON.stringify(s.default))}` : required ? "required" : "optional";
  out.push({ key, type: typeOf(s), presence, bounds: bounds(s), description: s.description ?? "" });
  if (s.properties) {
    for (const [name, child] of Object.entries(s.properties)) rows(child, `${key}.${name}`, (s.required ?? []).includes(name), out);
  }
  if (s.type === "array" && s.items?.properties) {
    for (const [name, child] of Object.entries(s.items.properties)) rows(child, `${key}[].${name}`, (s.items.required ?? []).includes(name), out);
  }
  if (s.additionalProperties && typeof s.additionalProperties === "object" && s.additionalProperties.properties) {
    const item = s.additionalProperties;
    for (const [name, child] of Object.entries(item.properties ?? {})) rows(child, `${key}.<name>.${name}`, (item.required ?? []).includes(name), out);
  }
}

/** The limits of config/limits.ts: name, value and the comment that says where the figure comes from. */
function limitRows(root: string): { name: string; value: string; source: string }[] {
  const text = fs.readFileSync(path.join(root, "config/limits.ts"), "utf8");
  const out: { name: string; value: string; source: string }[] = [];
  // A doc comment (no "*/" inside) directly followed by the export it documents.
  const re = /\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*export const ([A-Z0-9_]+)/g;
  for (const m of text.matchAll(re)) {
    const source = m[1].replace(/^\s*\* ?/gm, "").replace(/\s+/g, " ").trim();
    const value = (limits as Record<string, unknown>)[m[2]];
    const shown = value instanceof RegExp ? code(value.source) : code(JSON.stringify(value));
    out.push({ name: m[2], value: shown, source });
  }
  return out;
}

export function renderConfigDocs(root: string): string {
  const schema = z.toJSONSchema(stageSchema, { io: "input", unrepresentable: "any" }) as JsonSchema;
  const all: Row[] = [];
  for (const [name, child] of Object.entries(schema.properties ?? {})) {
    rows(child, name === "region" ? "alicloud:region" : `edp:${name}`, (schema.required ?? []).includes(name), all);
  }
  const lines = [
    "# Configuration reference",
    "",
    "<!-- Generated by `npm run config-docs` from config/schema.ts and config/limits.ts; do not edit. -->",
    "<!-- npm test fails when this file is not what the schema generates. -->",
    "",
    "Each stage's settings live in `Pulumi.<stage>.yaml` under `config:`; the program reads them once",
    "(config/) and refuses the whole stack, naming every wrong key, before it registers a resource.",
    "Keys in a namespace other than `edp:`, `alicloud:`, `kubernetes:`, `command:`, `random:`, `tls:`",
    "or `pulumi:` are refused, as are keys this reference does not list. `a[]` is every item of list",
    "`a`; `m.<name>` every entry of map `m`. Schedules are Kubernetes CronJob schedules exactly",
    "(config/cron.ts): five fields or a descriptor, no seconds, `L`, `W`, `#`, `H` or `TZ=`.",
    "",
    "## Secret keys",
    "",
    "Set with `pulumi config set --secret` (maps with `--secret --path`); the program asks the Pulumi",
    "runtime whether each is secret and refuses one given in plaintext. They are parsed before",
    "anything is registered; messages name what is wrong, never the value.",
    "",
    "| key | type | description |",
    "| --- | --- | --- |",
    ...(Object.keys(SECRET_KEYS) as (keyof typeof SECRET_KEYS)[]).map((k) => `| ${code(`edp:${k}`)} | ${SECRET_KEYS[k] === "object" ? "map of string" : "string"} | ${cell(SECRET_KEY_DOCS[k])} |`),
    "",
    "## Keys",
    "",
    "| key | type | required / default | bounds | description and rules |",
    "| --- | --- | --- | --- | --- |",
    ...all.map((r) => `| ${code(r.key)} | ${cell(r.type)} | ${cell(r.presence)} | ${cell(r.bounds)} | ${cell(r.description)} |`),
    "",
    "## Limits and where they come from",
    "",
    "The figures the keys are checked against (config/limits.ts).",
    "",
    "| limit | value | source |",
    "| --- | --- | --- |",
    ...limitRows(root).map((l) => `| ${code(l.name)} | ${cell(l.value)} | ${cell(l.source)} |`),
    "",
  ];
  return lines.join("\n");
}
