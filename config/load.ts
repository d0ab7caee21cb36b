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
import { type PlatformPasswordVariable, parseVaultKeys, platformPasswordProblems, vaultKeysProblem } from "./existing-secrets";
import { edgeMeshPskProblem } from "./kubeedge";
import { caProblems, clusterKubeconfigProblem, dockerConfigProblem, kubeconfigProblem } from "./secrets";
import { readSealedSecretRefs, type SealedSecretObject } from "./sealed-secrets";
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
  /** The running platform's passwords (edp:platformPasswords), each present one a secret; absent ones are generated. */
  platformPasswords: Partial<Record<PlatformPasswordVariable, pulumi.Output<string>>>;
  /** Keys of an already initialised Vault (edp:vaultKeys). */
  vaultKeys?: pulumi.Output<string[]>;
  alertingSecrets?: pulumi.Output<Record<string, string>>;
  /** EdgeMesh's pre-shared key (edp:edgeMeshPsk), trimmed; generated when absent. */
  edgeMeshPsk?: pulumi.Output<string>;
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
  /** SealedSecrets per edge cluster, from the files edp:edgeClusters/edp:deployments reference. */
  edgeSealedSecrets: Record<string, SealedSecretObject[]>;
}

/** Raw configuration as the Pulumi runtime holds it: full keys (`edp:network`) to strings. */
export interface RawConfig {
  values: Record<string, string>;
  stack: string;
  project: string;
  /**
   * Full keys the runtime holds as secrets (`pulumi config set --secret`); loadStageConfig asks
   * the runtime. Absent: no key is secret, so any secret key given is reported as plaintext.
   */
  secretKeys?: readonly string[];
  /** The time certificates are checked against; now by default. */
  now?: Date;
  /** Further config namespaces the running program reads itself (test fixture programs). */
  namespaces?: readonly string[];
}

/** Turns a zod issue path into the key an operator types: edp:a.b[0].c */
export function keyPath(path: ReadonlyArray<PropertyKey>): string {
  if (path.length === 0) return `${CONFIG_NAMESPACE}:<root>`;
  const [head, ...rest] = path;
  let key = head === "region" ? "alicloud:region" : `${CONFIG_NAMESPACE}:${String(head)}`;
  for (const part of rest) key += typeof part === "number" ? `[${part}]` : `.${String(part)}`;
  return key;
}

/** The JSON type of a value, for messages that must not echo the value itself. */
function typeOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "an object";
  return `a ${typeof v}`;
}

/** The message of a zod issue, naming what is wrong without echoing the value. */
export function describeIssue(issue: z.core.$ZodIssue): string {
  // parse() runs with reportInput, so a missing value is the only one whose input is undefined.
  const missing = issue.input === undefined;
  if (issue.code === "invalid_type") return missing ? `is required (expected ${issue.expected})` : `is ${typeOf(issue.input)}; expected ${issue.expected}`;
  if (issue.code === "invalid_key") return `is not a valid name here: ${issue.issues.map((i) => i.message).join("; ")}`;
  if (issue.code === "invalid_value" && missing) return `is required (one of ${issue.values.map((v) => String(v)).join(", ")})`;
  return issue.message;
}

/** Levenshtein distance, to suggest the key an operator probably meant. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diag + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1));
      diag = up;
    }
  }
  return row[b.length];
}

function closest(word: string, candidates: readonly string[]): string | undefined {
  const best = candidates.map((c) => [c, distance(word, c)] as const).sort((x, y) => x[1] - y[1])[0];
  return best && best[1] <= Math.max(2, Math.floor(best[0].length / 3)) ? best[0] : undefined;
}

/** The keys an object of the schema declares at a path of the input (through lists, maps, optionals and defaults). */
function knownKeysAt(path: ReadonlyArray<PropertyKey>): string[] {
  let node: z.core.$ZodType | undefined = stageSchema;
  const unwrap = (n: z.core.$ZodType): z.core.$ZodType => {
    const def = n._zod.def as { type: string; innerType?: z.core.$ZodType };
    return (def.type === "optional" || def.type === "default" || def.type === "nullable" || def.type === "prefault") && def.innerType ? unwrap(def.innerType) : n;
  };
  for (const part of path) {
    if (!node) return [];
    const def = unwrap(node)._zod.def as { type: string; shape?: Record<string, z.core.$ZodType>; element?: z.core.$ZodType; valueType?: z.core.$ZodType };
    if (def.type === "object") node = def.shape?.[String(part)];
    else if (def.type === "array") node = def.element;
    else if (def.type === "record") node = def.valueType;
    else return [];
  }
  if (!node) return [];
  const def = unwrap(node)._zod.def as { type: string; shape?: Record<string, z.core.$ZodType> };
  return def.type === "object" ? Object.keys(def.shape ?? {}) : [];
}

/** One problem per unknown key, at its own path, with the key that was probably meant. */
function unknownKeyProblems(issue: z.core.$ZodIssueUnrecognizedKeys): ConfigProblem[] {
  const known = knownKeysAt(issue.path);
  const extra = issue.path.length === 0 ? [...known, ...Object.keys(SECRET_KEYS)] : known;
  return issue.keys.map((k) => {
    const guess = closest(k, extra);
    const message = guess
      ? `is not a key of this project; did you mean ${keyPath([...issue.path, guess])}?`
      : `is not a key of this project (known here: ${known.join(", ") || "none"})`;
    return { key: keyPath([...issue.path, k]), message };
  });
}

/** A config value as the CLI stores it (a string) to what it holds: JSON objects, lists, numbers and booleans parsed; anything else as given. */
export function parseValue(raw: string): unknown {
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

/**
 * Optional secret keys (clusterKubeconfig, edgeKubeconfigs, issuerCa, deviceCa): Pulumi.yaml gives
 * each an empty default ("" or {}), since the CLI requires every declared key without one; that
 * default means "not set".
 */
const isEmptyDefault = (raw: string) => raw.trim() === "" || /^\{\s*\}$/.test(raw.trim());

/**
 * Namespaces of keys this program, or a provider it uses, reads. A key in any other namespace
 * (`edpp:monitoring`) would be silently ignored by Pulumi, so it is reported.
 */
const KNOWN_NAMESPACES = [CONFIG_NAMESPACE, "alicloud", "kubernetes", "command", "random", "tls", "pulumi"];

/** Provider credentials that must be secret when they are given in config at all. */
const PROVIDER_SECRETS = ["alicloud:accessKey", "alicloud:secretKey", "alicloud:securityToken", "kubernetes:kubeconfig"];

/** Secrets every stage needs: they come from people, not from a generator (README, "Deploying a stage"). */
const REQUIRED_SECRETS: Partial<Record<SecretKey, string>> = {
  dockerPullJson: "the docker-pull Secret holds the registry's pull credentials (manual §3.2.2): pulumi config set --secret edp:dockerPullJson < config.json",
  ddmFiles: "datadirectormangement-files needs DAIM's GPG values (manual §3.2.2): pulumi config set --secret --path 'edp:ddmFiles.DDM_REV' …",
  alertingSecrets: "Alertmanager's receivers need their credentials (edp:alerting): pulumi config set --secret --path 'edp:alertingSecrets.smtpPassword' …",
};

function namespaceProblems(raw: RawConfig): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  for (const fullKey of Object.keys(raw.values)) {
    const colon = fullKey.indexOf(":");
    const ns = colon < 0 ? "" : fullKey.slice(0, colon);
    if (KNOWN_NAMESPACES.includes(ns) || raw.namespaces?.includes(ns)) continue;
    if (colon < 0) {
      out.push({ key: fullKey, message: `has no namespace; did you mean ${CONFIG_NAMESPACE}:${fullKey}?` });
      continue;
    }
    const guess = closest(ns, [CONFIG_NAMESPACE]);
    out.push({
      key: fullKey,
      message: guess
        ? `is in namespace ${JSON.stringify(ns)}, which nothing reads; did you mean ${CONFIG_NAMESPACE}:${fullKey.slice(colon + 1)}?`
        : `is in namespace ${JSON.stringify(ns)}, which nothing reads (this program reads ${KNOWN_NAMESPACES.map((n) => `${n}:`).join(", ")})`,
    });
  }
  return out;
}

/** What is wrong with a string secret's value, for the string secrets that have a form to keep. */
const STRING_SECRET_PROBLEMS: Partial<Record<SecretKey, (value: string) => string | undefined>> = {
  clusterKubeconfig: clusterKubeconfigProblem,
  dockerPullJson: dockerConfigProblem,
  vaultKeys: vaultKeysProblem,
  edgeMeshPsk: edgeMeshPskProblem,
};

/** Checks secret values without ever echoing them in a message. */
function readSecrets(raw: RawConfig, problems: ConfigProblem[]): Record<SecretKey, unknown> {
  const { values } = raw;
  const secretKeys = new Set(raw.secretKeys ?? []);
  // The runtime lists keys as project:key (older CLIs: project:config:key).
  const isSecret = (fullKey: string) => secretKeys.has(fullKey) || secretKeys.has(fullKey.replace(":", ":config:"));
  const now = raw.now ?? new Date();
  const out = {} as Record<SecretKey, unknown>;
  for (const key of PROVIDER_SECRETS) {
    if (values[key] !== undefined && values[key] !== "" && !isSecret(key)) {
      problems.push({ key, message: `is set in plaintext; set it with \`pulumi config set --secret ${key}\`, or use the provider's environment variables` });
    }
  }
  for (const [name, kind] of Object.entries(SECRET_KEYS) as [SecretKey, string][]) {
    const fullKey = `${CONFIG_NAMESPACE}:${name}`;
    const rawValue = values[fullKey];
    // An empty value is what a project-level default ("" or {}) gives: the key is not set.
    if (rawValue === undefined || isEmptyDefault(rawValue)) {
      const why = REQUIRED_SECRETS[name];
      if (why) problems.push({ key: fullKey, message: `is required (secret): ${why}` });
      continue;
    }
    if (!isSecret(fullKey)) {
      problems.push({ key: fullKey, message: `is set in plaintext, so it would be stored readable in Pulumi.${raw.stack}.yaml; set it with \`pulumi config set --secret${kind === "object" ? " --path" : ""}\`` });
    }
    if (kind === "string") {
      const problem = STRING_SECRET_PROBLEMS[name]?.(rawValue);
      if (problem) problems.push({ key: fullKey, message: problem });
      out[name] = rawValue;
      continue;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(rawValue);
    } catch {
      parsed = undefined;
    }
    if (!isRecord(parsed) || !Object.values(parsed).every((v) => typeof v === "string")) {
      problems.push({ key: fullKey, message: "must be an object of string values (set each with `pulumi config set --secret --path`)" });
      continue;
    }
    if (name === "issuerCa" || name === "deviceCa") {
      const checked = caProblems(parsed.crt, parsed.key, now);
      if (Array.isArray(checked)) checked.forEach((p) => problems.push({ key: `${fullKey}.${p.field}`, message: p.message }));
      for (const extra of Object.keys(parsed).filter((k) => k !== "crt" && k !== "key")) {
        problems.push({ key: `${fullKey}.${extra}`, message: "is not a key of this project (a CA is { crt, key })" });
      }
    }
    if (name === "platformPasswords") problems.push(...platformPasswordProblems(parsed as Record<string, string>));
    if (name === "edgeKubeconfigs") {
      for (const [cluster, text] of Object.entries(parsed as Record<string, string>)) {
        const problem = kubeconfigProblem(text);
        if (problem) problems.push({ key: `${fullKey}.${cluster}`, message: problem });
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
  problems.push(...namespaceProblems(raw));
  for (const [fullKey, value] of Object.entries(raw.values)) {
    if (fullKey === "alicloud:region") {
      input.region = value;
      continue;
    }
    const [ns, ...rest] = fullKey.split(":");
    if (ns !== CONFIG_NAMESPACE) continue;
    const name = rest.join(":");
    if (secretNames.has(name)) continue;
    // edp:kubeEdge is optional as a whole: the project default {} means no KubeEdge nodes at all.
    if (name === "kubeEdge" && isEmptyDefault(value)) continue;
    input[name] = parseValue(value);
  }
  const secretValues = readSecrets(raw, problems);

  const result = stageSchema.safeParse(input, { reportInput: true });
  if (!result.success) {
    for (const issue of result.error.issues) {
      if (issue.code === "unrecognized_keys") problems.push(...unknownKeyProblems(issue));
      else problems.push({ key: keyPath(issue.path), message: describeIssue(issue) });
    }
    // Cross-key rules still run on the sections that are valid on their own.
    const valid: Record<string, unknown> = {};
    for (const [key, schema] of Object.entries(stageSchema.shape)) {
      const section = schema.safeParse(input[key]);
      if (section.success && section.data !== undefined) valid[key] = section.data;
    }
    problems.push(...crossChecks(valid, { stack: raw.stack, secrets: secretValues, now: raw.now ?? new Date() }));
    throw new ConfigError(problems);
  }
  const parsed = result.data;
  problems.push(...crossChecks(parsed, { stack: raw.stack, secrets: secretValues, now: raw.now ?? new Date() }));
  if (problems.length > 0) throw new ConfigError(problems);

  const edge = (secretValues.edgeKubeconfigs ?? {}) as Record<string, string>;
  const secretOf = <T>(v: unknown) => (v === undefined ? undefined : pulumi.secret(v as T));
  return {
    ...parsed,
    project: raw.project,
    clusterMode: parsed.cluster.create ? "create" : "adopt",
    protect: parsed.stage === "production",
    names: stageNames(parsed),
    edgeSealedSecrets: Object.fromEntries(Object.entries(readSealedSecretRefs(parsed).byCluster).map(([c, refs]) => [c, refs.map((r) => r.object)])),
    secrets: {
      clusterKubeconfig: secretOf<string>(secretValues.clusterKubeconfig),
      edgeKubeconfigs: Object.fromEntries(Object.entries(edge).map(([k, v]) => [k, pulumi.secret(v)])),
      dockerPullJson: secretOf<string>(secretValues.dockerPullJson),
      ddmFiles: secretOf<Record<string, string>>(secretValues.ddmFiles),
      issuerCa: secretOf<CertificateAndKey>(secretValues.issuerCa),
      deviceCa: secretOf<CertificateAndKey>(secretValues.deviceCa),
      platformPasswords: Object.fromEntries(
        Object.entries((secretValues.platformPasswords ?? {}) as Record<string, string>).map(([k, v]) => [k, pulumi.secret(k === "LOKI_INGRESS_BASIC_AUTH" ? v.trim() : v)]),
      ),
      vaultKeys: typeof secretValues.vaultKeys === "string" ? pulumi.secret(parseVaultKeys(secretValues.vaultKeys)) : undefined,
      alertingSecrets: secretOf<Record<string, string>>(secretValues.alertingSecrets),
      edgeMeshPsk: typeof secretValues.edgeMeshPsk === "string" ? pulumi.secret(secretValues.edgeMeshPsk.trim()) : undefined,
    },
  };
}

/**
 * Which config keys the runtime holds as secrets. The language host passes them in
 * PULUMI_CONFIG_SECRET_KEYS next to the values in PULUMI_CONFIG; @pulumi/pulumi reads that with
 * runtime.isConfigSecret, which it exports but leaves out of its type declarations.
 */
export function runtimeSecretKeys(keys: string[]): string[] {
  const isConfigSecret = (pulumi.runtime as unknown as { isConfigSecret?: (key: string) => boolean }).isConfigSecret;
  if (typeof isConfigSecret !== "function") throw new Error("@pulumi/pulumi no longer has runtime.isConfigSecret; config/load.ts cannot tell secret config from plaintext");
  return keys.filter((k) => isConfigSecret(k));
}

/** Reads the stage's config from the Pulumi runtime. Throws a RunError (no stack trace) when it is invalid. */
export function loadStageConfig(options: { namespaces?: readonly string[] } = {}): StageConfig {
  try {
    const values = pulumi.runtime.allConfig();
    return parseStageConfig({ values, stack: pulumi.getStack(), project: pulumi.getProject(), secretKeys: runtimeSecretKeys(Object.keys(values)), ...options });
  } catch (e) {
    if (e instanceof ConfigError) throw new pulumi.RunError(e.message);
    throw e;
  }
}
