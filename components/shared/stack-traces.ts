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
 *
 * The SDK prints those stacks only with PULUMI_DEBUG_PROMISE_LEAKS set (runtime/debuggable.js,
 * `promiseDebugString`); without it nothing ever reads them, so they are not formatted at all (a
 * short note takes their place): at 300 clusters that formatting was still 4.2 s of 45.6 s CPU,
 * plus the garbage it made (`EDP_BENCH_PROF=<dir> npm run bench` writes the profiles).
 */

import { createRequire } from "node:module";

type Prepare = (error: Error, trace: NodeJS.CallSite[]) => unknown;

const INSTALLED = Symbol.for("edp.cheapSdkStacks");

/** What a `debuggablePromise` stack reads as when nothing will print it. */
export const UNREAD_SDK_STACK = "Error (stack not kept: set PULUMI_DEBUG_PROMISE_LEAKS=1 to see where a leaked promise was made)";

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
  const leaksDebugged = Boolean(env.PULUMI_DEBUG_PROMISE_LEAKS);
  if (!leaksDebugged) skipSdkPromiseStacks();
  Error.prepareStackTrace = (error: Error, trace: NodeJS.CallSite[]) => {
    if (trace.length > 0 && trace[0].getFunctionName() === "debuggablePromise") {
      if (!leaksDebugged) return UNREAD_SDK_STACK;
      return `${error.name}\n${trace.map((site) => `    at ${String(site)}`).join("\n")}`;
    }
    return original(error, trace);
  };
  g[INSTALLED] = true;
  return true;
}

// The package's exports map hides runtime/; its file is reached through the package's own path.
const SDK_REQUIRE = createRequire(__filename);

type DebuggablePromise = (p: Promise<unknown>, ctx: unknown) => Promise<unknown>;

/**
 * Without PULUMI_DEBUG_PROMISE_LEAKS nothing reads the stack `debuggablePromise` captures, yet V8
 * still walks ten frames for each (7.4 s of 47 s CPU at 300 clusters, profiled with
 * `EDP_BENCH_PROF`). The SDK's compiled CommonJS calls it through its module's exports object, so
 * wrapping that export reaches every call: the wrapper captures no frames, and the SDK's own
 * bookkeeping (leak candidates, ids, context) runs unchanged.
 */
function skipSdkPromiseStacks(): void {
  const debuggable = SDK_REQUIRE(SDK_REQUIRE.resolve("@pulumi/pulumi").replace(/index\.js$/, "runtime/debuggable.js")) as { debuggablePromise?: DebuggablePromise };
  const original = debuggable.debuggablePromise;
  if (typeof original !== "function") return;
  debuggable.debuggablePromise = function debuggablePromiseWithoutStack(p, ctx) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      return original(p, ctx);
    } finally {
      Error.stackTraceLimit = limit;
    }
  };
}
