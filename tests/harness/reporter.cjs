// Mocha's spec reporter, plus the plain closing line CI reads: "tests: N passed, N failed, N skipped",
// and, before it, the time each test file spent in its tests and hooks (slowest first), so that
// the suite's 10-minute budget is kept by reading a CI log rather than by guessing. Durations
// come from mocha's own timings of each test and hook, which it reports in parallel mode too.
const path = require("path");
const Mocha = require("mocha");

const { EVENT_RUN_END, EVENT_TEST_END, EVENT_HOOK_END } = Mocha.Runner.constants;

class SpecWithTotals extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    const fileMs = new Map();
    const add = (runnable) => {
      const file = runnable.file ?? runnable.parent?.file;
      if (!file || typeof runnable.duration !== "number") return;
      const rel = path.relative(process.cwd(), file);
      fileMs.set(rel, (fileMs.get(rel) ?? 0) + runnable.duration);
    };
    runner.on(EVENT_TEST_END, add);
    runner.on(EVENT_HOOK_END, add);
    runner.once(EVENT_RUN_END, () => {
      const s = runner.stats;
      const rows = [...fileMs].sort((a, b) => b[1] - a[1]);
      if (rows.length > 0) {
        const total = rows.reduce((sum, [, ms]) => sum + ms, 0);
        process.stdout.write(`\nseconds per test file in tests and hooks (slowest first; ${(total / 1000).toFixed(0)} s in all):\n`);
        for (const [file, ms] of rows) process.stdout.write(`${(ms / 1000).toFixed(1).padStart(7)}  ${file}\n`);
      }
      process.stdout.write(`\ntests: ${s.passes} passed, ${s.failures} failed, ${s.pending} skipped\n`);
    });
  }
}

module.exports = SpecWithTotals;
