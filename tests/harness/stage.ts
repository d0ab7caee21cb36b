/**
 * Runs the real program for a stage under Pulumi's mocks, each run in a fresh child process (so
 * stages never bleed into each other), and gives tests the registered resources and outputs.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import type { RecordedResource, RunOptions, RunResult } from "../../scripts/lib/mock-runtime";
import { sharedRun, sharedRunDir } from "./run-cache";

export type { RecordedResource, RunResult } from "../../scripts/lib/mock-runtime";

export const ROOT = path.resolve(__dirname, "..", "..");
const run = promisify(execFile);

export type StageRunOptions = Omit<RunOptions, "stage" | "root">;

export class StageRun {
  constructor(protected made?: RunResult) {}
  /** What the run recorded; a run from beforeStage has it once the describe's `before` hooks ran. */
  get result(): RunResult {
    if (!this.made) throw new Error("the stage run is not made yet: beforeStage's before hook makes it, before the describe's tests");
    return this.made;
  }
  get stage() {
    return this.result.stage;
  }
  get resources(): RecordedResource[] {
    return this.result.resources;
  }
  get error(): string | undefined {
    return this.result.error;
  }
  /** Resources of a type token, e.g. "kubernetes:core/v1:Secret". */
  ofType(type: string): RecordedResource[] {
    return this.resources.filter((r) => r.type === type);
  }
  /** The one resource of a type with a name; throws when there is none. */
  get(type: string, name: string): RecordedResource {
    const found = this.resources.find((r) => r.type === type && r.name === name);
    if (!found) throw new Error(`no ${type} named ${name} in stage ${this.stage}; have: ${this.ofType(type).map((r) => r.name).join(", ") || "none"}`);
    return found;
  }
  /** Every Kubernetes object the program creates, as the manifest the provider would apply. */
  kubernetesObjects(): { resource: RecordedResource; manifest: Record<string, unknown> }[] {
    return this.resources
      .filter((r) => r.custom && r.type.startsWith("kubernetes:") && !r.type.startsWith("kubernetes:helm.sh") && r.type !== "pulumi:providers:kubernetes")
      .map((r) => ({ resource: r, manifest: r.inputs }));
  }
  /** Every stack output by name. */
  get outputs(): RunResult["outputs"] {
    return this.result.outputs;
  }
  output(name: string) {
    const o = this.result.outputs[name];
    if (!o) throw new Error(`no stack output ${name} in stage ${this.stage}; have: ${Object.keys(this.result.outputs).join(", ")}`);
    return o;
  }
  /** Children of a resource (by URN). */
  childrenOf(urn: string): RecordedResource[] {
    return this.resources.filter((r) => r.parent === urn);
  }
}

/**
 * The stage run a describe's tests share: registers a `before` hook in the current describe that
 * makes it (runStage(stage) unless `make` says otherwise) and fails, with the program's error, when
 * the program failed. The returned run is filled in by that hook, so tests read it as they would
 * a `let run` the hook assigned.
 */
export function beforeStage(stage: string, make: () => Promise<StageRun> = () => runStage(stage)): StageRun {
  const run = new (class extends StageRun {
    fill(result: RunResult) {
      this.made = result;
    }
  })();
  before(`the ${stage} run`, async () => {
    const made = await make();
    assert.equal(made.error, undefined, made.error);
    run.fill(made.result);
  });
  return run;
}

const cache = new Map<string, Promise<StageRun>>();

/**
 * Runs index.ts for a stage with its Pulumi.<stage>.yaml (plus overrides) in a child process.
 * Within `npm test` a run is made once for all workers (./run-cache.ts); otherwise once per process.
 */
export function runStage(stage: string, options: StageRunOptions = {}): Promise<StageRun> {
  const key = JSON.stringify([stage, options]);
  const hit = cache.get(key);
  if (hit) return hit;
  const shared = sharedRunDir();
  const promise = (async () => {
    const text = shared ? await sharedRun(shared, key, () => runInChild(stage, options)) : await runInChild(stage, options);
    return new StageRun(JSON.parse(text) as RunResult);
  })();
  cache.set(key, promise);
  return promise;
}

/** One program run in a fresh process; the RunResult as JSON text. */
async function runInChild(stage: string, options: StageRunOptions): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "edp-run-"));
  try {
    const optionsFile = path.join(dir, "options.json");
    const resultFile = path.join(dir, "result.json");
    fs.writeFileSync(optionsFile, JSON.stringify({ ...options, stage, root: ROOT }));
    try {
      await run(process.execPath, ["--import", "tsx", path.join(ROOT, "scripts/lib/run-cli.ts"), optionsFile, resultFile], {
        cwd: ROOT,
        maxBuffer: 64 * 1024 * 1024,
      });
    } catch (e) {
      // After a failed program, Pulumi's exit hook reports the stack's unfinished promises and
      // sets a non-zero exit code; the result file is what counts, when it was written.
      if (!fs.existsSync(resultFile)) throw e;
    }
    return fs.readFileSync(resultFile, "utf8");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Stand-in secret config (the same values runProgram fills in for required secrets). */
export { STAND_IN_SECRETS as FAKE_SECRETS, REQUIRED_SECRET_STAND_INS as FAKE_SECRET_CONFIG } from "../../scripts/lib/stand-in-secrets";
