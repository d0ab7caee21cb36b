/**
 * The stage-run cache the mocha workers share (tests/harness/run-cache.ts): one producer per key
 * however many ask at once, a failed run leaves the key to the next asker, a dead owner's lock is
 * taken over, and only the run that made the directory uses it.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { mochaGlobalSetup, mochaGlobalTeardown, sharedRun, sharedRunDir } from "../harness/run-cache";

const ENV = "EDP_STAGE_RUN_CACHE";

/** Runs `fn` with the cache variable set to `value` (or unset), restoring this worker's own after. */
async function withEnv<T>(value: string | undefined, fn: () => T | Promise<T>): Promise<T> {
  const saved = process.env[ENV];
  if (value === undefined) delete process.env[ENV];
  else process.env[ENV] = value;
  try {
    return await fn();
  } finally {
    if (saved === undefined) delete process.env[ENV];
    else process.env[ENV] = saved;
  }
}

describe("the stage-run cache shared by mocha's workers", () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "edp-run-cache-test-"))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("runs a key once for concurrent askers and serves every later one from the file", async () => {
    let runs = 0;
    const produce = async () => {
      runs++;
      await new Promise((r) => setTimeout(r, 150));
      return `{"n":${runs}}`;
    };
    const got = await Promise.all([sharedRun(dir, "k", produce), sharedRun(dir, "k", produce), sharedRun(dir, "k", produce)]);
    assert.deepEqual(got, ['{"n":1}', '{"n":1}', '{"n":1}']);
    assert.equal(await sharedRun(dir, "k", produce), '{"n":1}');
    assert.equal(runs, 1);
    // Another key is another run.
    assert.equal(await sharedRun(dir, "other", produce), '{"n":2}');
    assert.ok(!fs.readdirSync(dir).some((f) => f.endsWith(".tmp")), "a temporary result was left behind");
  });

  it("gives a failed run's error to its asker and lets the next asker run the key itself", async () => {
    await assert.rejects(sharedRun(dir, "k", () => Promise.reject(new Error("program crashed"))), /program crashed/);
    assert.deepEqual(fs.readdirSync(dir), [], "the failed run left a lock or a result");
    assert.equal(await sharedRun(dir, "k", () => Promise.resolve("second")), "second");
  });

  it("a waiter whose owner fails runs the key itself", async () => {
    let fail!: (e: Error) => void;
    const owner = sharedRun(dir, "k", () => new Promise<string>((_, reject) => (fail = reject)));
    await new Promise((r) => setTimeout(r, 20));
    const waiter = sharedRun(dir, "k", () => Promise.resolve("waiter's own"));
    fail(new Error("owner failed"));
    await assert.rejects(owner, /owner failed/);
    assert.equal(await waiter, "waiter's own");
  });

  it("takes over the lock of a process that died holding it", async () => {
    const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" }).stdout;
    assert.match(dead, /^[0-9]+$/);
    await sharedRun(dir, "probe", () => Promise.resolve("x"));
    const lock = fs.readdirSync(dir).find((f) => f.endsWith(".lock"));
    assert.ok(lock);
    // The same key's lock, as a dead worker would have left it (no result written).
    fs.rmSync(path.join(dir, lock.replace(/\.lock$/, ".json")));
    fs.writeFileSync(path.join(dir, lock), dead);
    assert.equal(await sharedRun(dir, "probe", () => Promise.resolve("taken over")), "taken over");
  });

  it("is used only by the run that made it: not without the variable, not from a stray directory", async () => {
    await withEnv(undefined, () => assert.equal(sharedRunDir(), undefined));
    await withEnv(dir, () => assert.equal(sharedRunDir(), undefined)); // no owner file
    fs.writeFileSync(path.join(dir, "owner.pid"), "1");
    await withEnv(dir, () => assert.equal(sharedRunDir(), undefined)); // another process's
    fs.writeFileSync(path.join(dir, "owner.pid"), String(process.pid));
    await withEnv(dir, () => assert.equal(sharedRunDir(), dir));
  });

  it("global fixtures: setup makes an empty directory for the run, teardown deletes it", async () => {
    await withEnv(undefined, () => {
      mochaGlobalSetup();
      const made = process.env[ENV];
      assert.ok(made && fs.existsSync(made));
      assert.equal(sharedRunDir(), made);
      assert.deepEqual(fs.readdirSync(made), ["owner.pid"]);
      mochaGlobalTeardown();
      assert.ok(!fs.existsSync(made), "teardown left the directory");
      assert.equal(process.env[ENV], undefined);
    });
  });
});
