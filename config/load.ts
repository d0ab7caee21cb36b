/**
 * Reads a stage's configuration once, validates all of it, and returns one typed object.
 * Components never read pulumi.Config themselves: they get the parts of StageConfig they need.
 *
 * `parseStageConfig` is pure (raw key/value strings in, typed config or a ConfigError out) so
 * tests can feed it tables of bad input; `loadStageConfig` only collects the raw values from the
 * Pulumi runtime.
 */
import * as pulumi from "@pulumi/pulumi";
import type { z } from "zod";
import { crossChecks } from "./checks";
import { type StageNames, stageNames } from "./naming";
import { SECRET_KEYS, type SecretKey, type StageInput, stageSchema } from "./schema";
import { CONFIG_NAMESPACE } from "./stages";

export interface ConfigProblem {
  /** The config key path as an operator writes it: `edp:network.podCidr`, `edp:edgeClusters[1].name`. */
  key: string;
  message: string;
}

/** Thrown before any resource is registered; lists every problem of the stage's config. */
export class ConfigError extends Error {
  constructor(readonly problems: ConfigProblem[]) {
    super(
      `Invalid configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
        problems.map((p) => `  - ${p.key}: ${p.message}`).join("\n"),
    );
    this.name = "ConfigError";
  }
}

/** A PEM certificate and its private key. */
export interface CertificateAndKey {
  crt: string;
  key: string;
}

/** Secret config, each value a Pulumi secret so it stays encrypted in state and redacted in output. */
export interface StageSecrets {
  clusterKubeconfig?: pulumi.Output<string>;
  edgeKubeconfigs: Record<string, pulumi.Output<string>>;
  dockerPullJson?: pulumi.Output<string>;
  ddmFiles?: pulumi.Output<Record<string, string>>;
  issuerCa?: pulumi.Output<CertificateAndKey>;
  deviceCa?: pulumi.Output<CertificateAndKey>;
  alertingSecrets?: pulumi.Output<Record<string, string>>;
}

export interface StageConfig extends StageInput {
  /** Pulumi project name. */
  project: string;
  /** create: an ACK cluster is made; adopt: an existing one is reached through edp:clusterKubeconfig. */
  clusterMode: "create" | "adopt";
  /** Stateful resources are protected against deletion (production). */
  protect: boolean;
  names: StageNames;
  secrets: StageSecrets;
}

/** Raw configuration as the Pulumi runtime holds it: full keys (`edp:network`) to strings. */
export interface RawConfig {
  values: Record<string, string>;
  stack: string;
  project: string;
}

/** Turns a zod issue path into the key an operator types: edp:a.b[0].c */
export function keyPath(path: ReadonlyArray<PropertyKey>): string {
  if (path.length === 0) return `${CONFIG_NAMESPACE}:<root>`;
  const [head, ...rest] = path;
  let key = head === "region" ? "alicloud:region" : `${CONFIG_NAMESPACE}:${String(head)}`;
  for (const part of rest) key += typeof part === "number" ? `[${part}]` : `.${String(part)}`;
  return key;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === "invalid_type" && issue.input === undefined) return `is required (expected ${issue.expected})`;
  if (issue.code === "unrecognized_keys") return `unknown key(s) ${issue.keys.map((k) => JSON.stringify(k)).join(", ")}`;
  return issue.message;
}

function parseValue(raw: string): unknown {
  const trimmed = raw.trim();
  if (/^[[{]/.test(trimmed) || /^-?[0-9]+(\.[0-9]+)?$/.test(trimmed) || trimmed === "true" || trimmed === "false") {
    try {
      return JSON.parse(trimmed);
    } catch {
      return raw;
    }
  }
  return raw;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Checks secret values without ever echoing them in a message. */
function readSecrets(values: Record<string, string>, problems: ConfigProblem[]): Record<SecretKey, unknown> {
  const out = {} as Record<SecretKey, unknown>;
  for (const [name, kind] of Object.entries(SECRET_KEYS) as [SecretKey, string][]) {
    const raw = values[`${CONFIG_NAMESPACE}:${name}`];
    if (raw === undefined) continue;
    if (kind === "string") {
      if (raw.trim() === "") problems.push({ key: `${CONFIG_NAMESPACE}:${name}`, message: "is set but empty" });
      out[name] = raw;
      continue;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      parsed = undefined;
    }
    if (!isRecord(parsed) || !Object.values(parsed).every((v) => typeof v === "string")) {
      problems.push({
        key: `${CONFIG_NAMESPACE}:${name}`,
        message: "must be an object of string values (set each with `pulumi config set --secret --path`)",
      });
      continue;
    }
    if (name === "issuerCa" || name === "deviceCa") {
      for (const field of ["crt", "key"] as const) {
        const pem = parsed[field];
        const marker = field === "crt" ? "CERTIFICATE" : "PRIVATE KEY";
        if (typeof pem !== "string" || !pem.includes(`-----BEGIN`) || !pem.includes(marker)) {
          problems.push({ key: `${CONFIG_NAMESPACE}:${name}.${field}`, message: `must be a PEM ${marker.toLowerCase()}` });
        }
      }
    }
    out[name] = parsed;
  }
  return out;
}

/** Validates raw config; returns the typed stage config or throws a ConfigError listing every problem. */
export function parseStageConfig(raw: RawConfig): StageConfig {
  const problems: ConfigProblem[] = [];
  const input: Record<string, unknown> = {};
  const secretNames = new Set(Object.keys(SECRET_KEYS));
  for (const [fullKey, value] of Object.entries(raw.values)) {
    if (fullKey === "alicloud:region") {
      input.region = value;
      continue;
    }
    const [ns, ...rest] = fullKey.split(":");
    if (ns !== CONFIG_NAMESPACE) continue;
    const name = rest.join(":");
    if (secretNames.has(name)) continue;
    input[name] = parseValue(value);
  }
  const secretValues = readSecrets(raw.values, problems);

  const result = stageSchema.safeParse(input);
  if (!result.success) {
    for (const issue of result.error.issues) problems.push({ key: keyPath(issue.path), message: describeIssue(issue) });
    // Cross-key rules still run on the sections that are valid on their own.
    const valid: Record<string, unknown> = {};
    for (const [key, schema] of Object.entries(stageSchema.shape)) {
      const section = schema.safeParse(input[key]);
      if (section.success && section.data !== undefined) valid[key] = section.data;
    }
    problems.push(...crossChecks(valid, { stack: raw.stack, secrets: secretValues }));
    throw new ConfigError(problems);
  }
  const parsed = result.data;
  problems.push(...crossChecks(parsed, { stack: raw.stack, secrets: secretValues }));
  if (problems.length > 0) throw new ConfigError(problems);

  const edge = (secretValues.edgeKubeconfigs ?? {}) as Record<string, string>;
  const secretOf = <T>(v: unknown) => (v === undefined ? undefined : pulumi.secret(v as T));
  return {
    ...parsed,
    project: raw.project,
    clusterMode: parsed.cluster.create ? "create" : "adopt",
    protect: parsed.stage === "production",
    names: stageNames(parsed),
    secrets: {
      clusterKubeconfig: secretOf<string>(secretValues.clusterKubeconfig),
      edgeKubeconfigs: Object.fromEntries(Object.entries(edge).map(([k, v]) => [k, pulumi.secret(v)])),
      dockerPullJson: secretOf<string>(secretValues.dockerPullJson),
      ddmFiles: secretOf<Record<string, string>>(secretValues.ddmFiles),
      issuerCa: secretOf<CertificateAndKey>(secretValues.issuerCa),
      deviceCa: secretOf<CertificateAndKey>(secretValues.deviceCa),
      alertingSecrets: secretOf<Record<string, string>>(secretValues.alertingSecrets),
    },
  };
}

/** Reads the stage's config from the Pulumi runtime. Throws a RunError (no stack trace) when it is invalid. */
export function loadStageConfig(): StageConfig {
  try {
    return parseStageConfig({
      values: pulumi.runtime.allConfig(),
      stack: pulumi.getStack(),
      project: pulumi.getProject(),
    });
  } catch (e) {
    if (e instanceof ConfigError) throw new pulumi.RunError(e.message);
    throw e;
  }
}
