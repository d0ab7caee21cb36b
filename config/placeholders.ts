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

/** Near misses: a word between braces that is meant as a placeholder but is not one. */
const BARE_WORD = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const GO_TEMPLATE_KEYWORDS = ["end", "else", "break", "continue", "nil"];

/**
 * What is wrong with the placeholders of one string, or nothing. Only `{{uuid}}`, `{{name}}` and
 * `{{hostname}}` are substituted; anything else that looks like a placeholder (`{{UUID}}`,
 * `{{host-name}}`, `{{ name | upper }}`, `{uuid}`, `{{uuid}`, `{{{name}}}`) would reach the chart
 * as literal text, so it is refused. Go-template expressions (`{{ .Release.Name }}`, `{{ include
 * "x" . }}`, `{{ $v }}`) are left for charts that pass values through `tpl`.
 */
export function placeholderProblem(text: string): string | undefined {
  if (/\{\{\{|\}\}\}/.test(text)) return "has triple braces; a placeholder is {{uuid}}, {{name}} or {{hostname}}";
  const single = /(?<!\{)\{\s*(uuid|name|hostname)\s*\}(?!\})/i.exec(text);
  if (single) return `has {${single[1]}} in single braces; write {{${single[1].toLowerCase()}}}`;
  let rest = text;
  for (;;) {
    const open = rest.indexOf("{{");
    const close = rest.indexOf("}}");
    if (open < 0) return close < 0 ? undefined : "has }} without an opening {{";
    if (close >= 0 && close < open) return "has }} without an opening {{";
    const end = rest.indexOf("}}", open + 2);
    if (end < 0) return "has {{ without a closing }}";
    // Go templates' trim markers: {{- x -}}.
    const inner = rest.slice(open + 2, end).replace(/^-\s/, "").replace(/\s-$/, "").trim();
    const first = inner.split(/[\s|(]/)[0];
    if (GO_TEMPLATE_KEYWORDS.includes(inner)) {
      // {{ end }}, {{ else }}: part of a Go-template expression.
    } else if (BARE_WORD.test(inner)) {
      if (!isPlaceholder(inner)) return `has {{${inner}}}, which is not a placeholder (known: ${KNOWN_PLACEHOLDERS_TEXT}; they are lower-case)`;
    } else if (isPlaceholder(first) || PLACEHOLDERS.some((p) => p === first.toLowerCase())) {
      return `has {{${inner.slice(0, 40)}}}: placeholders take no filters or arguments (known: ${KNOWN_PLACEHOLDERS_TEXT})`;
    } else if (!/^[.$]|^[a-z]+\s/.test(inner) && inner !== "" ) {
      return `has {{${inner.slice(0, 40)}}}, which is neither a placeholder (${KNOWN_PLACEHOLDERS_TEXT}) nor a Go-template expression`;
    } else if (inner === "") {
      return "has empty {{}}";
    }
    rest = rest.slice(end + 2);
  }
}

/** Every string leaf and key of a values tree whose placeholders are wrong, with its path. */
export function placeholderProblems(value: unknown, path = "values"): { path: string; message: string }[] {
  if (typeof value === "string") {
    const problem = placeholderProblem(value);
    return problem ? [{ path, message: problem }] : [];
  }
  if (Array.isArray(value)) return value.flatMap((v, i) => placeholderProblems(v, `${path}[${i}]`));
  if (value !== null && typeof value === "object") {
    return Object.entries(value).flatMap(([k, v]) => [
      ...(/\{\{|\}\}/.test(k) ? [{ path: `${path}.${k}`, message: "has a placeholder in a key; only values are substituted" }] : []),
      ...placeholderProblems(v, `${path}.${k}`),
    ]);
  }
  return [];
}
