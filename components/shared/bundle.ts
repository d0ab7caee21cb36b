/**
 * In-cluster scripts with Alibaba's client libraries: esbuild bundles a CommonJS script and the
 * libraries it requires into one file that the pinned Node image runs from a ConfigMap (the
 * image has no node_modules, and the cluster reaches no package registry). Built from this
 * checkout's node_modules, whose versions of the libraries must be the ones versions.ts pins:
 * the bundle is deterministic, so a ConfigMap changes only with the code or a pin.
 */
import * as fs from "node:fs";
import { createHash } from "node:crypto";
import { buildSync } from "esbuild";

/** A library the script bundles, at the version versions.ts and package.json pin. */
export interface LibraryPin {
  readonly package: string;
  readonly version: string;
}

/** The script: a file, or source text resolved as if it were a file in resolveDir. */
export type ScriptSource = { entry: string } | { contents: string; resolveDir: string; name: string };

/** Kubernetes refuses a ConfigMap over 1 MiB; a bundle must stay well under it. */
export const BUNDLE_LIMIT_BYTES = 512 * 1024;

const cached = new Map<string, string>();

export function bundleScript(source: ScriptSource, pins: readonly LibraryPin[]): string {
  const key = "entry" in source ? source.entry : `${source.resolveDir}/${source.name}#${createHash("sha256").update(source.contents).digest("hex")}`;
  const hit = cached.get(key);
  if (hit !== undefined) return hit;
  for (const pin of pins) {
    const pkg = JSON.parse(fs.readFileSync(require.resolve(`${pin.package}/package.json`), "utf8")) as { version: string };
    if (pkg.version !== pin.version) throw new Error(`${pin.package} ${pkg.version} is installed, but components/versions.ts pins ${pin.version}: run npm ci`);
  }
  const result = buildSync({
    ...("entry" in source ? { entryPoints: [source.entry] } : { stdin: { contents: source.contents, resolveDir: source.resolveDir, sourcefile: source.name, loader: "js" as const } }),
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node22",
    minify: true,
    legalComments: "inline",
    write: false,
    logLevel: "silent",
  });
  const text = result.outputFiles[0].text;
  const bytes = Buffer.byteLength(text);
  // Fail the program, not the apply: a library update that bloats a bundle must be noticed here.
  if (bytes > BUNDLE_LIMIT_BYTES) throw new Error(`the bundle of ${"entry" in source ? source.entry : source.name} is ${bytes} bytes, over ${BUNDLE_LIMIT_BYTES} (a ConfigMap holds at most 1 MiB)`);
  cached.set(key, text);
  return text;
}
