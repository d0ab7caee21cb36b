/**
 * The placeholder language of chart-template values (seed 002): strings in `values` may hold
 * `{{uuid}}`, `{{name}}` and `{{hostname}}`, alone or inside a longer string. The grammar lives
 * with the config because the config checks report misuse with its key path before anything
 * runs; the edge component substitutes with the same grammar.
 */

export const PLACEHOLDERS = ["uuid", "name", "hostname"] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];

/**
 * `{{word}}`, inner spaces allowed. Go-template expressions such as `{{ .Release.Name }}` or
 * `{{ include "x" . }}` do not match (a leading dot, or more than one word), so values that a
 * chart passes through `tpl` keep working.
 */
export const PLACEHOLDER_PATTERN = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

export const isPlaceholder = (word: string): word is Placeholder => (PLACEHOLDERS as readonly string[]).includes(word);

export interface PlaceholderUse {
  /** The word between the braces. */
  word: string;
  /** Where it occurs, as a path below the values root: `values.collector.endpoints[0]`. */
  path: string;
}

/** Every placeholder used in the string leaves of a values tree (keys are never substituted). */
export function placeholderUses(value: unknown, path = "values"): PlaceholderUse[] {
  if (typeof value === "string") return [...value.matchAll(PLACEHOLDER_PATTERN)].map((m) => ({ word: m[1], path }));
  if (Array.isArray(value)) return value.flatMap((v, i) => placeholderUses(v, `${path}[${i}]`));
  if (value !== null && typeof value === "object") {
    return Object.entries(value).flatMap(([k, v]) => placeholderUses(v, `${path}.${k}`));
  }
  return [];
}

export const KNOWN_PLACEHOLDERS_TEXT = PLACEHOLDERS.map((p) => `{{${p}}}`).join(", ");
