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
        return execFileSync(process.execPath, ["--import", "tsx", file], { cwd: ROOT, env: { ...process.env, ...env }, encoding: "utf8" });
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
const sdk = SDK_REQUIRE(SDK_REQUIRE.resolve("@pulumi/pulumi").replace(/index\\.js$/, "runtime/debuggable.js")) as { debuggablePromise(p: Promise<unknown>, ctx: string): Promise<unknown> };
// debuggablePromise marks the promise it is given (and returns a chained one).
const tracked = Promise.resolve(1) as Promise<unknown> & { _debugStackTrace?: string; _debugCtx?: string };
void sdk.debuggablePromise(tracked, "probe");
console.log(JSON.stringify({ installed, real: userCode({ a: 1 }), sdk: debuggablePromise(), sdkReal: tracked._debugStackTrace, sdkCtx: tracked._debugCtx }));
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

    it("has the SDK's own debuggablePromise capture no stack frames, keeping its bookkeeping, when nothing prints them", () => {
      const out = JSON.parse(runUnderTsx(probe, { PULUMI_DEBUG_PROMISE_LEAKS: "" })) as { sdkReal: string; sdkCtx: string };
      assert.equal(out.sdkReal, "Error");
      assert.equal(out.sdkCtx, "probe");
    });

    it("formats the SDK's bookkeeping stacks without source maps when PULUMI_DEBUG_PROMISE_LEAKS asks for them", () => {
      const out = JSON.parse(runUnderTsx(probe, { PULUMI_DEBUG_PROMISE_LEAKS: "1" })) as { installed: boolean; sdk: string; sdkReal: string };
      assert.match(out.sdkReal, /^Error\n\s+at (Object\.)?debuggablePromise \(.*debuggable\.js:\d+:\d+\)\n/);
      // V8's own call-site text: the transpiled position, not the TypeScript one (line 11).
      assert.match(out.sdk, /^Error\n\s+at debuggablePromise \(/);
      assert.doesNotMatch(out.sdk.split("\n")[1], /probe\.ts:11:10\)/);
    });

    it("leaves every stack source-mapped with EDP_SDK_STACKS=full", () => {
      const out = JSON.parse(runUnderTsx(probe, { EDP_SDK_STACKS: "full" })) as { installed: boolean; sdk: string };
      assert.equal(out.installed, false);
      assert.match(out.sdk.split("\n")[1], /probe\.ts:11:10\)/);
    });
  });
});
