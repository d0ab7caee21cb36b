/**
 * The Pulumi CLI's project-config rule, as `pulumi preview`/`up` apply it before the program
 * runs (pulumi/pulumi pkg/workspace/config.go, mergeConfig and validateStackConfigValues, and
 * sdk/go/common/workspace/project.go, Project.Validate and ValidateConfigValue):
 *
 * - Pulumi.yaml is checked first: no key has both `default` and `value`; a typed `array` names its
 *   `items`; a typed key's default is of its type; a key of another namespace (`pulumi:…`,
 *   `alicloud:…`) has a `value` and neither `type` nor `default`.
 * - Every project key without `default` or `value` that the stack lacks is missing: one error
 *   "Stack '<stack>' is missing configuration value(s) …" naming them all.
 * - A lacking key with `default` or `value` gets it, as a plain (not secure) value.
 * - Then, for typed keys only: a `secret: true` key must be secure ("must be encrypted as it's
 *   secret"; so a typed secret key with a default fails whenever the stack lacks it), and the
 *   value must be of the type ("must be of type …"). Untyped keys are not checked at all.
 *
 * The mock runtime applies the same defaults, so tests run the program on the config the CLI gives.
 */

export interface ProjectConfigType {
  type?: string;
  items?: { type: string; items?: ProjectConfigType["items"] };
  default?: unknown;
  value?: unknown;
  secret?: boolean;
  description?: string;
}

/** A stack's config value: its plaintext (JSON text for objects and arrays) and whether it is a `secure:` value. */
export interface StackValue {
  value: string;
  secure: boolean;
  object: boolean;
}

const namespaced = (project: string, key: string) => !key.includes(":") || key.startsWith(`${project}:`);
const fullKey = (project: string, key: string) => (key.includes(":") ? key : `${project}:${key}`);

/** Pulumi.yaml's own validation (Project.Validate): the first problem, or undefined. */
export function validateProject(project: string, config: Record<string, ProjectConfigType>): string | undefined {
  for (const [key, t] of Object.entries(config)) {
    if (t.default !== undefined && t.value !== undefined) return `project config '${key}' cannot have both a 'default' and 'value' attribute`;
    if (namespaced(project, key)) {
      if (t.type === "array" && t.items === undefined) return `The configuration key '${key}' declares an array but does not specify the underlying type via the 'items' attribute`;
      if (t.type !== undefined && t.default !== undefined && !validateConfigValue(t.type, t.items, t.default)) {
        return `The default value specified for configuration key '${key}' is not of the expected type '${typeName(t.type, t.items)}'`;
      }
    } else {
      if (t.type !== undefined) return `Configuration key '${key}' is not namespaced by the project and should not define a type`;
      if (t.default !== undefined) return `Configuration key '${key}' is not namespaced by the project and should not define a default value. Did you mean to use the 'value' attribute instead of 'default'?`;
      if (t.value === undefined) return `Configuration key '${key}' is namespaced and must provide an attribute 'value'`;
    }
  }
  return undefined;
}

function typeName(type: string, items: ProjectConfigType["items"]): string {
  return items ? `array<${typeName(items.type, items.items)}>` : type;
}

/** ValidateConfigValue: whether a (decoded) value is of a project config type. */
export function validateConfigValue(type: string, items: ProjectConfigType["items"], value: unknown): boolean {
  switch (type) {
    case "string":
      return typeof value === "string";
    case "integer":
      return (typeof value === "number" && Number.isInteger(value)) || (typeof value === "string" && /^[+-]?\d+$/.test(value));
    case "boolean":
      return typeof value === "boolean" || value === "true" || value === "false";
    case "object":
      return typeof value === "object" && value !== null && !Array.isArray(value);
    default:
      return Array.isArray(value) && items !== undefined && value.every((v) => validateConfigValue(items.type, items.items, v));
  }
}

const plain = (v: unknown): StackValue =>
  typeof v === "string" || typeof v === "number" || typeof v === "boolean" ? { value: String(v), secure: false, object: false } : { value: JSON.stringify(v), secure: false, object: true };

/**
 * Applies Pulumi.yaml's config to a stack's config as the CLI does for `pulumi up`: the merged
 * config, and the error the CLI stops with (undefined when it runs the program).
 */
export function applyProjectConfig(
  project: string,
  stack: string,
  declared: Record<string, ProjectConfigType>,
  stackConfig: Record<string, StackValue>,
): { config: Record<string, StackValue>; error?: string } {
  const invalid = validateProject(project, declared);
  if (invalid) return { config: stackConfig, error: invalid };
  const config = { ...stackConfig };
  const missing: string[] = [];
  const keys = Object.keys(declared).sort();
  for (const key of keys) {
    const t = declared[key];
    const full = fullKey(project, key);
    if (full in config) continue;
    const fallback = t.default !== undefined ? t.default : t.value;
    if (fallback === undefined) {
      if (namespaced(project, key)) missing.push(key);
      continue;
    }
    config[full] = plain(fallback);
  }
  if (missing.length > 0) {
    const names = missing.length === 1 ? `'${missing[0]}'` : `${missing.slice(0, -1).map((k) => `'${k}'`).join(", ")} and '${missing[missing.length - 1]}'`;
    return { config, error: `Stack '${stack}' is missing configuration ${missing.length === 1 ? "value" : "values"} ${names}` };
  }
  for (const key of keys) {
    const t = declared[key];
    if (t.type === undefined) continue;
    const v = config[fullKey(project, key)];
    if (t.secret && !v?.secure) return { config, error: `Stack '${stack}' with configuration key '${key}' must be encrypted as it's secret` };
    const content = v?.object ? (JSON.parse(v.value) as unknown) : v?.value;
    if (!validateConfigValue(t.type, t.items, content)) return { config, error: `Stack '${stack}' with configuration key '${key}' must be of type '${typeName(t.type, t.items)}'` };
  }
  return { config };
}
