/**
 * A cache of stage runs shared by mocha's parallel workers for one `npm test`. Each worker is its
 * own process, so a per-process cache had both workers run the same (stage, options) whenever
 * their files asked for it; a run is a whole program under mocks, several seconds of a core.
 *
 * The global fixture below (listed under "require" in .mocharc.json; mocha runs global fixtures
 * once, in the main process, and before it forks the workers, which inherit the environment)
 * makes an empty directory for the run and deletes it at the end, so a result is never served to
 * a later run of a changed tree. Without the fixture (mocha --no-config on one file) there is no
 * directory and runStage keeps its per-process cache.
 *
 * One key's file, `<hash>.json`, is written by the first process that takes `<hash>.lock` (an
 * exclusive create); the others wait for it. A run that throws drops its lock, so the next
 * process that asks runs it again itself and the error shows in its own test.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const ENV = "EDP_STAGE_RUN_CACHE";
const OWNER = "owner.pid";
const POLL_MS = 50;
/** One line per result a process read from the directory rather than made (tests/harness/reporter.cjs counts them). */
const SERVED = "served.log";

/** The shared directory, when this process belongs to the mocha run that made it. */
export function sharedRunDir(): string | undefined {
  const dir = process.env[ENV];
  if (!dir) return undefined;
  // A directory named by a stray exported variable is not this run's: its owner must be this
  // process (mocha in serial mode) or the parent that forked it (a parallel worker).
  let owner: number;
  try {
    owner = Number(fs.readFileSync(path.join(dir, OWNER), "utf8"));
  } catch {
    return undefined;
  }
  return owner === process.pid || owner === process.ppid ? dir : undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * The text stored for a key in the shared directory, made by `produce` in the first process to
 * ask for it; concurrent askers wait for that one.
 */
export async function sharedRun(dir: string, key: string, produce: () => Promise<string>): Promise<string> {
  const hash = createHash("sha256").update(key).digest("hex").slice(0, 40);
  const result = path.join(dir, `${hash}.json`);
  const lock = path.join(dir, `${hash}.lock`);
  const served = () => {
    fs.appendFileSync(path.join(dir, SERVED), `${hash}\n`);
    return fs.readFileSync(result, "utf8");
  };
  for (;;) {
    if (fs.existsSync(result)) return served();
    let fd: number;
    try {
      fd = fs.openSync(lock, "wx");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      // Another process runs it. If that process died (its pid is written right after the
      // lock is made; an empty lock is one being written), take the key over.
      let pid: number;
      try {
        pid = Number(fs.readFileSync(lock, "utf8")) || 0;
      } catch {
        continue; // the lock went away: look again
      }
      if (pid && !alive(pid)) fs.rmSync(lock, { force: true });
      else await new Promise((r) => setTimeout(r, POLL_MS));
      continue;
    }
    fs.writeSync(fd, String(process.pid));
    fs.closeSync(fd);
    // A process that held the lock before a dead owner's was removed may have written it.
    if (fs.existsSync(result)) return served();
    let text: string;
    try {
      text = await produce();
    } catch (e) {
      fs.rmSync(lock, { force: true });
      throw e;
    }
    // Written whole under another name, then renamed: a waiter never reads half a result.
    const temp = `${result}.${process.pid}.tmp`;
    fs.writeFileSync(temp, text);
    fs.renameSync(temp, result);
    return text;
  }
}

/** Mocha global fixture: one empty cache directory for this run, named to the workers by env. */
export function mochaGlobalSetup(): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "edp-stage-runs-"));
  fs.writeFileSync(path.join(dir, OWNER), String(process.pid));
  process.env[ENV] = dir;
}

export function mochaGlobalTeardown(): void {
  const dir = process.env[ENV];
  delete process.env[ENV];
  if (dir && path.basename(dir).startsWith("edp-stage-runs-")) fs.rmSync(dir, { recursive: true, force: true });
}
