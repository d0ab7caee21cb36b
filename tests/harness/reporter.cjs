// Mocha's spec reporter, plus the plain closing line CI reads: "tests: N passed, N failed, N skipped",
// and, before it, the time each test file spent in its tests and hooks (slowest first), so that
// the suite's 10-minute budget is kept by reading a CI log rather than by guessing. Durations
// come from mocha's own timings of each test and hook, which it reports in parallel mode too.
// A worker reports a file's events when the file is done, so the time they arrive says when each
// file finished; the gap between the last two is a lower bound on a worker's idle time at the end.
const fs = require("fs");
const path = require("path");
const Mocha = require("mocha");

const { EVENT_RUN_END, EVENT_TEST_END, EVENT_HOOK_END } = Mocha.Runner.constants;

class SpecWithTotals extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    const fileMs = new Map();
    const doneAt = new Map();
    const started = Date.now();
    const add = (runnable) => {
      const file = runnable.file ?? runnable.parent?.file;
      if (!file || typeof runnable.duration !== "number") return;
      const rel = path.relative(process.cwd(), file);
      fileMs.set(rel, (fileMs.get(rel) ?? 0) + runnable.duration);
      doneAt.set(rel, Date.now() - started);
    };
    runner.on(EVENT_TEST_END, add);
    runner.on(EVENT_HOOK_END, add);
    runner.once(EVENT_RUN_END, () => {
      const s = runner.stats;
      const rows = [...fileMs].sort((a, b) => b[1] - a[1]);
      if (rows.length > 0) {
        const total = rows.reduce((sum, [, ms]) => sum + ms, 0);
        process.stdout.write(`\nseconds per test file in tests and hooks (slowest first; ${(total / 1000).toFixed(0)} s in all), and when it finished:\n`);
        for (const [file, ms] of rows) process.stdout.write(`${(ms / 1000).toFixed(1).padStart(7)}  ${clock(doneAt.get(file))}  ${file}\n`);
        const ends = [...doneAt.values()].sort((a, b) => b - a);
        if (ends.length > 1) process.stdout.write(`the last two files finished ${((ends[0] - ends[1]) / 1000).toFixed(0)} s apart: for at least that long at the end, a worker had no file left\n`);
      }
      const shared = sharedRuns();
      if (shared) process.stdout.write(`stage runs shared by the workers (tests/harness/run-cache.ts): ${shared.made} made, ${shared.served} read from the cache\n`);
      process.stdout.write(`\ntests: ${s.passes} passed, ${s.failures} failed, ${s.pending} skipped\n`);
    });
  }
}

/** Minutes and seconds since the run started. */
function clock(ms) {
  const s = Math.round((ms ?? 0) / 1000);
  return `${String(Math.floor(s / 60)).padStart(2)}:${String(s % 60).padStart(2, "0")}`;
}

/** What the workers' shared stage-run directory holds (tests/harness/run-cache.ts), when there is one. */
function sharedRuns() {
  const dir = process.env.EDP_STAGE_RUN_CACHE;
  if (!dir || !fs.existsSync(dir)) return undefined;
  const made = fs.readdirSync(dir).filter((f) => f.endsWith(".json")).length;
  const log = path.join(dir, "served.log");
  const served = fs.existsSync(log) ? fs.readFileSync(log, "utf8").split("\n").filter(Boolean).length : 0;
  return { made, served };
}

module.exports = SpecWithTotals;
