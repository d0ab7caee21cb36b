/**
 * Secret values under the mock runtime, and the markers synth writes in their place.
 *
 * Every secret value a mock run holds is one the runtime made or was handed: a generated output
 * (a password, a private key, Vault's unseal keys) or a secret config value (a stand-in, or what a
 * test passes). The runtime records each as a source; synth replaces each occurrence inside a
 * secret value with `[secret:<source>]`, so a generated file is written in full and a diff shows
 * every line a change touches, while no secret value reaches the output.
 */

/** One secret value and where it came from: "<resource>.<property>" or a config key. */
export interface SecretSource {
  source: string;
  value: string;
}

/** Outputs the providers mark secret, by type token: the properties the mock runtime generates. */
export const SECRET_OUTPUTS: Record<string, string[]> = {
  "random:index/randomPassword:RandomPassword": ["result", "bcryptHash"],
  "random:index/randomBytes:RandomBytes": ["base64", "hex"],
  "tls:index/privateKey:PrivateKey": ["privateKeyPem", "privateKeyOpenssh", "privateKeyPemPkcs8"],
  "alicloud:ram/accessKey:AccessKey": ["secret"],
  "alicloud:kms/ciphertext:Ciphertext": ["plaintext"],
  // The Vault bootstrap's unseal/recovery keys (dynamic resources share one type token).
  "pulumi-nodejs:dynamic:Resource": ["keys"],
};

/** Invoke results that are secret: the kubeconfig of a cluster credential. */
export const SECRET_CALL_RESULTS: Record<string, string[]> = {
  "alicloud:cs/getClusterCredential:getClusterCredential": ["kubeConfig"],
};

export const marker = (source: string) => `[secret:${source}]`;

/** Shorter values would mask ordinary words; the runtime guard looks only for these and longer. */
export const MIN_GUARDED_LENGTH = 8;
const MIN_MASKED_LENGTH = 4;
const MIN_LINE_LENGTH = 16;

/** The sources of every string leaf of a value: `<prefix>`, `<prefix>.<key>`, `<prefix>[<i>]`. */
export function sourcesOf(prefix: string, value: unknown): SecretSource[] {
  if (typeof value === "string") return [{ source: prefix, value }];
  if (Array.isArray(value)) return value.flatMap((v, i) => sourcesOf(`${prefix}[${i}]`, v));
  if (value && typeof value === "object") {
    // The whole object as JSON too: a program may hand the serialised config on as one string.
    return [{ source: prefix, value: JSON.stringify(value) }, ...Object.entries(value).flatMap(([k, v]) => sourcesOf(`${prefix}.${k}`, v))];
  }
  return [];
}

/**
 * The forms a secret value takes inside generated files: itself, JSON-escaped (inside a JSON or
 * YAML double-quoted string), base64 (a Kubernetes Secret, cloud-init `encoding: b64`) and, for a
 * multi-line value such as a PEM key, each of its lines (an indented YAML block).
 */
export function variants(s: SecretSource): { text: string; marker: string }[] {
  const m = marker(s.source);
  const out = [{ text: s.value, marker: m }];
  const escaped = JSON.stringify(s.value).slice(1, -1);
  if (escaped !== s.value) out.push({ text: escaped, marker: m });
  out.push({ text: Buffer.from(s.value).toString("base64"), marker: marker(`${s.source}:base64`) });
  if (s.value.includes("\n")) {
    // PEM armour lines ("-----BEGIN …-----") are not secret and would mask every certificate;
    // short lines are words, not key material.
    for (const line of s.value.split("\n")) if (line.trim().length >= MIN_LINE_LENGTH && !/^-----[A-Z ]+-----$/.test(line.trim())) out.push({ text: line.trim(), marker: m });
  }
  return out.filter((v) => v.text.length >= MIN_MASKED_LENGTH);
}

export interface Masker {
  /** Replaces every known secret value inside a string with its marker. */
  text(s: string): string;
  /** The same over every string leaf of a value. */
  deep(v: unknown): unknown;
  /** Values no output may contain (the guarded ones, each with its marker). */
  needles: { text: string; marker: string }[];
}

export function makeMasker(sources: SecretSource[]): Masker {
  const seen = new Map<string, string>();
  for (const s of sources) for (const v of variants(s)) if (!seen.has(v.text)) seen.set(v.text, v.marker);
  // Longest first, so a whole value is replaced before any of its lines or parts.
  const ordered = [...seen.entries()].sort(([a], [b]) => b.length - a.length);
  const text = (s: string) => {
    let out = s;
    for (const [needle, m] of ordered) if (out.includes(needle)) out = out.split(needle).join(m);
    return out;
  };
  const deep = (v: unknown): unknown => {
    if (typeof v === "string") return text(v);
    if (Array.isArray(v)) return v.map(deep);
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, deep(x)]));
    return v;
  };
  return { text, deep, needles: ordered.filter(([t]) => t.length >= MIN_GUARDED_LENGTH).map(([t, m]) => ({ text: t, marker: m })) };
}
