/**
 * Every multi-line text a stage's program publishes (tests/unit/program.test.ts and
 * tests/integration/yaml-readers.test.ts read them): in resources' inputs and in the stack
 * outputs, base64-decoded texts and scripts' here-documents included.
 */
import type { StageRun } from "./stage";

/** A string and, when it is base64 of text, that text too (Secrets' data, user data). */
function withDecoded(s: string): string[] {
  if (s.length < 24 || !/^[A-Za-z0-9+/\n]+=*$/.test(s)) return [s];
  const text = Buffer.from(s, "base64").toString("utf8");
  return /^[\t\n\r\x20-\x7e\u00a0-\uffff]*$/.test(text) && !text.includes("\ufffd") ? [s, text] : [s];
}

/** Bodies of a script's here-documents (the manifests a bootstrap script applies with kubectl). */
function heredocs(s: string): string[] {
  return [...s.matchAll(/<<-?\s*['"]?(\w+)['"]?\n([\s\S]*?)\n\1(?=\s|$)/g)].map((m) => m[2]);
}

/** Every string in a value, however deep. */
export function strings(v: unknown): string[] {
  if (typeof v === "string") return [v];
  if (Array.isArray(v)) return v.flatMap(strings);
  if (v && typeof v === "object") return Object.values(v).flatMap(strings);
  return [];
}

/**
 * Every multi-line text the program publishes, with where it is: in resources' inputs and in the
 * stack outputs (the edge bootstrap scripts, whose manifests kubectl applies), base64-decoded texts
 * and scripts' here-documents included.
 */
export function publishedTexts(run: StageRun): { where: string; text: string }[] {
  const sources = [...run.resources.map((r) => [`${r.type} ${r.name}`, r.inputs] as const), ...Object.entries(run.outputs).map(([k, o]) => [`output ${k}`, o.value] as const)];
  return sources.flatMap(([where, value]) =>
    strings(value)
      .flatMap(withDecoded)
      .flatMap((t) => [t, ...heredocs(t)])
      .filter((text) => text.includes("\n"))
      .map((text) => ({ where, text })),
  );
}

