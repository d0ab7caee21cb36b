/** The bench's verdicts on issue 22's goals (scripts/bench-edge.ts prints them under its table). */
import assert from "node:assert/strict";
import { GOALS, goalLines } from "../../scripts/bench-edge";

describe("bench goals", () => {
  it("says which of the 1,000-cluster goals the medians meet", () => {
    const lines = goalLines([
      { clusters: 100, evaluationS: 4.8, rssMib: 405, ratio: 1.78 },
      { clusters: 1000, evaluationS: 13.3, rssMib: 714, ratio: 1.59 },
    ]);
    assert.deepEqual(lines, [
      "- evaluation 13.3 s, goal ≤ 10 s: NOT met",
      "- peak RSS 714 MiB, goal ≤ 1.2 GB (1144 MiB): met",
      "- ratio to the floor (CPU) 1.59, goal ≤ 1.5: NOT met",
      "- t(1000)/t(100) 2.8, goal ≤ 10: met",
    ]);
  });

  it("holds each goal at its bound and fails it just past", () => {
    const at = (evaluationS: number, rssMib: number, ratio: number) => goalLines([{ clusters: 1000, evaluationS, rssMib, ratio }]).map((l) => l.endsWith(": met"));
    assert.deepEqual(at(GOALS.evaluationS, GOALS.rssMib, GOALS.ratio), [true, true, true]);
    assert.deepEqual(at(GOALS.evaluationS + 0.01, GOALS.rssMib + 1, GOALS.ratio + 0.01), [false, false, false]);
  });

  it("prints nothing without a 1,000-cluster size", () => {
    assert.deepEqual(goalLines([{ clusters: 100, evaluationS: 4, rssMib: 400, ratio: 1.2 }]), []);
  });
});
