/**
 * Rules that keep evaluation and state small as the fleet grows (issue 22), over every stage's
 * whole program: components send the engine no inputs (their args are not state), and the SDK's
 * per-promise stacks are formatted cheaply while real errors keep their source-mapped stacks.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { STAGES } from "../../config";
import { ROOT, runStage } from "../harness/stage";
import { UNREAD_SDK_STACK } from "../../components/shared/stack-traces";

describe("scale rules", function () {
  this.timeout(300_000);

  for (const stage of STAGES) {
    it(`${stage}: no component of ours sends its args to the engine as inputs`, async () => {
      const run = await runStage(stage);
      assert.equal(run.error, undefined, run.error);
      const components = run.resources.filter((r) => !r.custom && r.type.startsWith("edp:"));
      assert.ok(components.length >= 10, `only ${components.length} components recorded`);
      const heavy = components.filter((r) => JSON.stringify(r.inputs).length > 256).map((r) => `${r.type} ${r.name} (${JSON.stringify(r.inputs).length} bytes)`);
      assert.deepEqual(heavy, [], "a component passes its args to super: they are stored in state for every component");
    });
  }

  describe("SDK stack traces", () => {
    // Runs in its own process under tsx, as the program does (source maps on).
    function runUnderTsx(source: string, env: NodeJS.ProcessEnv = {}): string {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "edp-stacks-"));
      const file = path.join(dir, "probe.ts");
      fs.writeFileSync(file, source);
      try {
        return execFileSync(process.execPath, ["--import", "tsx", file], { cwd: ROOT, env: { ...process.env, ...env }, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
    const probe = `
import { installCheapSdkStackTraces } from ${JSON.stringify(path.join(ROOT, "components/shared/stack-traces"))};
const installed = installCheapSdkStackTraces();
type Shape = { a: number };


function userCode(x: Shape): string {
  return new Error("real failure " + x.a).stack ?? "";
}
function debuggablePromise(): string {
  return new Error().stack ?? "";
}
import { createRequire } from "node:module";
const SDK_REQUIRE = createRequire(${JSON.stringify(path.join(ROOT, "index.ts"))});
const runtime = SDK_REQUIRE.resolve("@pulumi/pulumi").replace(/index\\.js$/, "runtime/");
const sdk = SDK_REQUIRE(runtime + "debuggable.js") as { debuggablePromise(p: Promise<unknown>, ctx: string): Promise<unknown> };
const store = (SDK_REQUIRE(runtime + "state.js") as { getStore(): { leakCandidates: Set<Promise<unknown>> } }).getStore();
type Tracked = Promise<unknown> & { _debugStackTrace?: string; _debugCtx?: string };
// debuggablePromise returns a promise chained to the one it is given. The SDK's own function
// takes the first call in any case (it schedules the leak check at exit) and marks that promise.
const first = Promise.resolve(0) as Tracked;
void sdk.debuggablePromise(first, "first");
let settle: (v: number) => void = () => undefined;
const tracked = new Promise<number>((resolve) => (settle = resolve)) as Tracked;
const chained = sdk.debuggablePromise(tracked, "probe");
const candidateWhilePending = store.leakCandidates.has(tracked);
const failing = Promise.reject(new Error("boom"));
const rejected = sdk.debuggablePromise(failing, "failing").then(() => undefined, (e: { promise?: unknown }) => e.promise === failing);
settle(7);
void (async () => {
  const value = await chained;
  console.log(JSON.stringify({
    installed, real: userCode({ a: 1 }), sdk: debuggablePromise(),
    firstStack: first._debugStackTrace, firstCtx: first._debugCtx, sdkReal: tracked._debugStackTrace, sdkCtx: tracked._debugCtx,
    candidateWhilePending, candidateAfter: store.leakCandidates.has(tracked), value, rejectionCarriesPromise: await rejected,
  }));
  if (process.env.PROBE_LEAK) void sdk.debuggablePromise(new Promise(() => undefined), "leaked");
})();
`;

    it("keeps a real error's stack source-mapped to the TypeScript line", () => {
      const out = JSON.parse(runUnderTsx(probe)) as { installed: boolean; real: string; sdk: string };
      assert.equal(out.installed, true);
      assert.match(out.real, /^Error: real failure 1\n\s+at userCode \(.*probe\.ts:8:10\)/);
    });

    it("does not format the SDK's bookkeeping stacks that nothing prints (no PULUMI_DEBUG_PROMISE_LEAKS)", () => {
      const out = JSON.parse(runUnderTsx(probe, { PULUMI_DEBUG_PROMISE_LEAKS: "" })) as { installed: boolean; sdk: string };
      assert.equal(out.sdk, UNREAD_SDK_STACK);
    });

    it("keeps the SDK's promise bookkeeping but hangs nothing on its promises when nothing prints it", () => {
      const out = JSON.parse(runUnderTsx(probe, { PULUMI_DEBUG_PROMISE_LEAKS: "" })) as Record<string, unknown>;
      // The first call is the SDK's own function, with no stack frames captured.
      assert.equal(out.firstStack, "Error");
      assert.equal(out.firstCtx, "first");
      // Every later one: no stack, no context, yet a leak candidate until it settles, its value
      // passed on, and a rejection that carries its promise, as the SDK's function does.
      assert.equal(out.sdkReal, undefined);
      assert.equal(out.sdkCtx, undefined);
      assert.equal(out.candidateWhilePending, true);
      assert.equal(out.candidateAfter, false);
      assert.equal(out.value, 7);
      assert.equal(out.rejectionCarriesPromise, true);
    });

    it("still fails the run with the SDK's leak report when a promise never settles", () => {
      let failure: { status: number; stderr: string } | undefined;
      try {
        runUnderTsx(probe, { PULUMI_DEBUG_PROMISE_LEAKS: "", PROBE_LEAK: "1" });
      } catch (e) {
        failure = e as { status: number; stderr: string };
      }
      assert.ok(failure, "the probe exited 0 with a leaked promise");
      assert.equal(failure.status, 1);
      assert.match(failure.stderr, /The Pulumi runtime detected that 1 promise was still active/);
    });

    it("formats the SDK's bookkeeping stacks without source maps when PULUMI_DEBUG_PROMISE_LEAKS asks for them", () => {
      const out = JSON.parse(runUnderTsx(probe, { PULUMI_DEBUG_PROMISE_LEAKS: "1" })) as { installed: boolean; sdk: string; sdkReal: string };
      assert.match(out.sdkReal, /^Error\n\s+at (Object\.)?debuggablePromise \(.*debuggable\.js:\d+:\d+\)\n/);
      // V8's own call-site text: the transpiled position, not the TypeScript one (line 11).
      assert.match(out.sdk, /^Error\n\s+at debuggablePromise \(/);
      assert.doesNotMatch(out.sdk.split("\n")[1], /probe\.ts:11:10\)/);
    });

    // Every resource's constructor reads its own stack (Resource.callsites) for the source
    // positions it sends the engine; the hook keeps one formatted text per distinct stack.
    const sitesProbe = `
import { installCheapSdkStackTraces, resourceStacksKept } from ${JSON.stringify(path.join(ROOT, "components/shared/stack-traces"))};
import { createRequire } from "node:module";
installCheapSdkStackTraces();
const SDK_REQUIRE = createRequire(${JSON.stringify(path.join(ROOT, "index.ts"))});
const R = (SDK_REQUIRE("@pulumi/pulumi") as { Resource: unknown }).Resource as { callsites(): { file?: string; line?: number; column?: number }[] };
const here = () => R.callsites();
const there = () => R.callsites();
const runs: unknown[] = [];
for (let i = 0; i < 3; i++) runs.push(here(), there(), [here(), there()].flat());
const inProbe = (frames: { file?: string; line?: number; column?: number }[]) => frames.filter((f) => f.file?.endsWith("/probe.ts")).map((f) => ({ line: f.line, column: f.column }));
console.log(JSON.stringify({ kept: resourceStacksKept(), runs: runs.map((frames) => inProbe(frames as { file?: string }[])) }));
`;

    it("gives the SDK the same source positions of every resource as Node's own formatting, one text per distinct stack", () => {
      const { kept, runs: cheap } = JSON.parse(runUnderTsx(sitesProbe)) as { kept: number; runs: { line: number; column: number }[][] };
      const full = JSON.parse(runUnderTsx(sitesProbe, { EDP_SDK_STACKS: "full" })) as { kept: number; runs: unknown };
      assert.deepEqual(cheap, full.runs);
      // Twelve stacks read from four call sites: four texts formatted, the rest reused.
      assert.equal(kept, 4);
      assert.equal(full.kept, 0);
      // TypeScript lines (here 7, there 8, the loop 10, the module 12), each call site its own,
      // in every round: no stale text.
      const lines = cheap.map((frames) => frames.map((f) => f.line).join(","));
      assert.deepEqual(lines.slice(0, 3), ["7,10,12", "8,10,12", "7,10,12,8,10,12"]);
      assert.deepEqual(lines.slice(3), [...lines.slice(0, 3), ...lines.slice(0, 3)]);
    });

    it("leaves every stack source-mapped with EDP_SDK_STACKS=full", () => {
      const out = JSON.parse(runUnderTsx(probe, { EDP_SDK_STACKS: "full" })) as { installed: boolean; sdk: string };
      assert.equal(out.installed, false);
      assert.match(out.sdk.split("\n")[1], /probe\.ts:11:10\)/);
    });
  });
});
