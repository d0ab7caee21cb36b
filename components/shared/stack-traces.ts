/**
 * Cheap stack traces for the Pulumi SDK's own bookkeeping, full ones for real errors.
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
 * `promiseDebugString`); without it nothing ever reads them, so they are not captured at all
 * (`skipSdkPromiseStacks`): at 300 clusters formatting them was 4.2 s of 45.6 s CPU, capturing
 * them 7.4 s of 47 s (`EDP_BENCH_PROF=<dir> npm run bench` writes the profiles).
 *
 * Every resource's constructor also reads its whole stack (`Resource.callsites`) for the source
 * positions it sends the engine. Those stay source-mapped, but a stack already formatted is not
 * formatted again: every edge cluster registers its resources from the same lines.
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
    const top = trace.length > 0 ? trace[0].getFunctionName() : null;
    if (top === "debuggablePromise") {
      if (!leaksDebugged) return UNREAD_SDK_STACK;
      return `${error.name}\n${trace.map((site) => `    at ${String(site)}`).join("\n")}`;
    }
    if (top === "callsites" && trace[0].getFileName() === SDK_RESOURCE_FILE && error.message === "") {
      // Every resource's registration: the same positions give the same source-mapped text.
      const key = trace.map(sitePosition).join("\n");
      let text = RESOURCE_STACKS.get(key);
      if (text === undefined) {
        text = original(error, trace);
        if (RESOURCE_STACKS.size >= RESOURCE_STACKS_KEPT) RESOURCE_STACKS.clear();
        RESOURCE_STACKS.set(key, text);
      }
      return text;
    }
    return original(error, trace);
  };
  g[INSTALLED] = true;
  return true;
}

// The package's exports map hides runtime/; its file is reached through the package's own path.
const SDK_REQUIRE = createRequire(__filename);
/** The SDK's own directory (its index.js's). */
const SDK_DIR = SDK_REQUIRE.resolve("@pulumi/pulumi").replace(/index\.js$/, "");
const SDK_RESOURCE_FILE = `${SDK_DIR}resource.js`;
export const RESOURCE_STACKS_KEPT = 2048;
/** The formatted text of each distinct registration stack, by its frames' positions (emptied when full). */
const RESOURCE_STACKS = new Map<string, unknown>();
/** How many distinct registration stacks have been formatted and are kept (for tests). */
export const resourceStacksKept = () => RESOURCE_STACKS.size;

/** Where a frame runs: its file, line and column (a native frame has none; its text stands in). */
const sitePosition = (site: NodeJS.CallSite) => {
  const file = site.getFileName();
  return file ? `${file}:${site.getLineNumber()}:${site.getColumnNumber()}` : String(site);
};

type DebuggablePromise = (p: Promise<unknown>, ctx: unknown) => Promise<unknown>;
type SdkStore = { leakCandidates: Set<Promise<unknown>> };

/**
 * Without PULUMI_DEBUG_PROMISE_LEAKS nothing reads what `debuggablePromise` hangs on each promise
 * (an id, a context and `new Error().stack`, three non-enumerable properties that only the leak
 * report prints, and only with that variable), yet the SDK calls it about 590,000 times at 1,000
 * edge clusters. Capturing the stack was 7.4 s of 47 s CPU at 300 clusters (profiled with
 * `EDP_BENCH_PROF`); without it, the empty Error and the three properties still cost 1-1.5 µs a
 * promise (a microbenchmark of 300,000). The SDK's compiled CommonJS calls it through its
 * module's exports object, so replacing that export reaches every call. The replacement keeps
 * the bookkeeping the SDK acts on, line for line: the promise is a leak candidate until it
 * settles, a rejection carries the promise, and the first call goes through the SDK's own
 * function, which schedules its leak check at exit (a leaked promise still fails the run with the
 * SDK's message). With PULUMI_DEBUG_PROMISE_LEAKS set, the SDK's function runs unchanged and its
 * stacks are formatted without source maps (above).
 */
function skipSdkPromiseStacks(): void {
  const debuggable = SDK_REQUIRE(`${SDK_DIR}runtime/debuggable.js`) as { debuggablePromise?: DebuggablePromise };
  const state = SDK_REQUIRE(`${SDK_DIR}runtime/state.js`) as { getStore?: () => SdkStore };
  const original = debuggable.debuggablePromise;
  const getStore = state.getStore;
  if (typeof original !== "function" || typeof getStore !== "function") return;
  let leakCheckScheduled = false;
  debuggable.debuggablePromise = function debuggablePromiseWithoutStack(p, ctx) {
    if (!leakCheckScheduled) {
      leakCheckScheduled = true;
      const limit = Error.stackTraceLimit;
      Error.stackTraceLimit = 0;
      try {
        return original(p, ctx);
      } finally {
        Error.stackTraceLimit = limit;
      }
    }
    const store = getStore();
    store.leakCandidates.add(p);
    return p
      .then((val) => {
        store.leakCandidates.delete(p);
        return val;
      })
      .catch((err: { promise?: unknown }) => {
        store.leakCandidates.delete(p);
        err.promise = p;
        throw err;
      });
  };
}
