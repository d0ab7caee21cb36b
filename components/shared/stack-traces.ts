/**
 * Cheap stack traces for the Pulumi SDK's promise bookkeeping, full ones for real errors.
 *
 * The Node SDK wraps every promise it makes in `debuggablePromise`, which reads
 * `new Error().stack` at once (several times per output property of every resource) only so
 * that a leaked promise can be reported at exit. Under tsx, Node maps every one of those stacks
 * through source maps, and at 1,000 edge clusters that formatting was most of the program's
 * evaluation time (measured by `npm run bench`; see the README's scale section).
 *
 * Options measured: `Error.stackTraceLimit = 0` (fast, but an operator's error then has no
 * stack at all); turning source maps off (fast, but every stack points into transpiled code);
 * this hook (as fast): stacks captured by `debuggablePromise` are formatted without source maps,
 * every other error keeps Node's own source-mapped formatting, unchanged.
 */

type Prepare = (error: Error, trace: NodeJS.CallSite[]) => unknown;

const INSTALLED = Symbol.for("edp.cheapSdkStacks");

/**
 * Installs the hook once per process; returns false when it is not installed: Node offers no
 * default to delegate to, or EDP_SDK_STACKS=full asks for source-mapped stacks everywhere (to
 * read the SDK's report of a leaked promise).
 */
export function installCheapSdkStackTraces(env: NodeJS.ProcessEnv = process.env): boolean {
  const g = globalThis as { [INSTALLED]?: boolean };
  if (g[INSTALLED]) return true;
  if (env.EDP_SDK_STACKS === "full") return false;
  const original = Error.prepareStackTrace as Prepare | undefined;
  // Node ≥ 20.18 exposes its default (source-map aware) formatter here; without it there is
  // nothing to delegate real errors to, so leave formatting alone.
  if (typeof original !== "function") return false;
  Error.prepareStackTrace = (error: Error, trace: NodeJS.CallSite[]) => {
    if (trace.length > 0 && trace[0].getFunctionName() === "debuggablePromise") {
      return `${error.name}\n${trace.map((site) => `    at ${String(site)}`).join("\n")}`;
    }
    return original(error, trace);
  };
  g[INSTALLED] = true;
  return true;
}
