/**
 * In-cluster scripts with Alibaba's client libraries: esbuild bundles a CommonJS script and the
 * libraries it requires into one file that the pinned Node image runs from a ConfigMap (the
 * image has no node_modules, and the cluster reaches no package registry). Built from this
 * checkout's node_modules, whose versions of the libraries must be the ones versions.ts pins:
 * the bundle is deterministic, so a ConfigMap changes only with the code or a pin. The dynamic
 * providers' code is bundled here too, its libraries left as `require`s (dynamic-provider.ts).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { createHash } from "node:crypto";
import { type BuildOptions, buildSync, version as esbuildVersion } from "esbuild";

/** A library the script bundles, at the version versions.ts and package.json pin. */
export interface LibraryPin {
  readonly package: string;
  readonly version: string;
}

/** The script: a file, or source text resolved as if it were a file in resolveDir. */
export type ScriptSource = { entry: string } | { contents: string; resolveDir: string; name: string };

/** Kubernetes refuses a ConfigMap over 1 MiB; a bundle must stay well under it. */
export const BUNDLE_LIMIT_BYTES = 512 * 1024;

/**
 * Bundles kept between runs, one JSON file each: the text and the SHA-256 of every file esbuild
 * read for it. A bundle is taken from here only when every one of those files still has its
 * hash, so an edited script or a reinstalled library rebuilds it; anything unreadable is
 * rebuilt. Building the three bundles took about 0.35 s of every run (`pulumi preview`, synth,
 * each test's stage run); reading them back takes a few milliseconds.
 */
export const BUNDLE_CACHE_DIR = path.resolve(__dirname, "..", "..", ".cache", "edp-bundles");

interface CachedBundle {
  text: string;
  /** Absolute path of every file the bundle was built from, to its SHA-256. */
  inputs: Record<string, string>;
}

const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");

function readCached(file: string): string | undefined {
  try {
    const entry = JSON.parse(fs.readFileSync(file, "utf8")) as CachedBundle;
    if (typeof entry.text !== "string" || !entry.inputs || Object.keys(entry.inputs).length === 0) return undefined;
    for (const [input, hash] of Object.entries(entry.inputs)) if (sha256(fs.readFileSync(input)) !== hash) return undefined;
    return entry.text;
  } catch {
    return undefined;
  }
}

function writeCached(file: string, entry: CachedBundle): void {
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    // Whole or not at all: another process may read or write the same entry meanwhile.
    const partial = `${file}.${process.pid}.partial`;
    fs.writeFileSync(partial, JSON.stringify(entry));
    fs.renameSync(partial, file);
  } catch {
    // A cache that cannot be written only costs the next run a build.
  }
}

const cached = new Map<string, string>();

/** The entry file, or the name of source text given as stdin. */
const sourceName = (source: ScriptSource) => ("entry" in source ? source.entry : source.name);

/** Fails the program, not the apply: a library update that bloats a bundle must be noticed here. */
function checkSize(source: ScriptSource, text: string): void {
  const bytes = Buffer.byteLength(text);
  if (bytes > BUNDLE_LIMIT_BYTES) throw new Error(`the bundle of ${sourceName(source)} is ${bytes} bytes, over ${BUNDLE_LIMIT_BYTES} (a ConfigMap holds at most 1 MiB)`);
}

/**
 * How a bundle gets its libraries: "bundle" puts them in the file (an in-cluster script, whose
 * image has no node_modules); "external" leaves each a `require` that the running process resolves
 * from the project's node_modules (a dynamic provider, which Pulumi runs in the project directory).
 */
export type Packages = "bundle" | "external";

/**
 * cacheDir: where bundles are kept between runs (BUNDLE_CACHE_DIR), or null to build every time.
 * pins: the libraries the bundle contains, checked against what is installed.
 */
export function bundleScript(source: ScriptSource, pins: readonly LibraryPin[], cacheDir: string | null = BUNDLE_CACHE_DIR, packages: Packages = "bundle"): string {
  const key = `${packages === "external" ? "external:" : ""}${"entry" in source ? source.entry : `${source.resolveDir}/${source.name}#${sha256(source.contents)}`}`;
  const hit = cached.get(key);
  if (hit !== undefined) return hit;
  for (const pin of pins) {
    const pkg = JSON.parse(fs.readFileSync(require.resolve(`${pin.package}/package.json`), "utf8")) as { version: string };
    if (pkg.version !== pin.version) throw new Error(`${pin.package} ${pkg.version} is installed, but components/versions.ts pins ${pin.version}: run npm ci`);
  }
  const workingDir = "entry" in source ? path.dirname(source.entry) : source.resolveDir;
  const options: BuildOptions = {
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node22",
    minify: true,
    legalComments: "inline",
    write: false,
    logLevel: "silent",
    absWorkingDir: workingDir,
    ...(packages === "external" ? { packages: "external" as const } : {}),
  };
  const cacheFile = cacheDir === null ? undefined : path.join(cacheDir, `${sha256(JSON.stringify({ esbuildVersion, options, key, pins }))}.json`);
  const stored = cacheFile === undefined ? undefined : readCached(cacheFile);
  if (stored !== undefined) {
    checkSize(source, stored);
    cached.set(key, stored);
    return stored;
  }
  const result = buildSync({
    ...options,
    ...("entry" in source ? { entryPoints: [source.entry] } : { stdin: { contents: source.contents, resolveDir: source.resolveDir, sourcefile: source.name, loader: "js" as const } }),
    metafile: true,
  });
  const output = result.outputFiles?.[0];
  if (!output) throw new Error(`esbuild wrote no bundle of ${sourceName(source)}`);
  const text = output.text;
  checkSize(source, text);
  cached.set(key, text);
  if (cacheFile !== undefined) {
    // Every file esbuild read, relative to workingDir in the metafile; source text given as
    // stdin is listed under its name, and is in the key already.
    const stdinName = "entry" in source ? undefined : source.name;
    const inputs = Object.fromEntries(
      Object.keys(result.metafile?.inputs ?? {})
        .filter((input) => input !== "<stdin>" && input !== stdinName)
        .map((input) => {
          const file = path.resolve(workingDir, input);
          return [file, sha256(fs.readFileSync(file))];
        }),
    );
    writeCached(cacheFile, { text, inputs });
  }
  return text;
}
