/**
 * How the program scales with the number of edge clusters: evaluates it under the mock runtime
 * with 1, 10, 100 and 1,000 script-mode clusters (one pinned deployment each), each size in its
 * own child process, and prints wall time, evaluation time, peak memory, and resources per
 * cluster. This measures program evaluation only (what `pulumi preview` spends in the
 * language host); provider plugins and the cloud are not involved. Evaluation runs from the start
 * of the run (loading the program's modules included) to the program's end: its last
 * registration answered and its outputs resolved. What the mock runtime does after that, gathering
 * its records for this report (0.6-0.7 s at 1,000 clusters), is not counted; wall time is the
 * whole process.
 *
 *   npm run bench -- [--program PATH] [--sizes 1,10,100,1000] [--stage testing] [--repeat N]
 *   npm run bench -- --fleet 10000 [--shard-size 1000] [--parallel 2] [--floor]
 *
 * Beside each size it runs the floor: scripts/lib/floor-program.ts registers the very same
 * resources (recorded from the real run, each through its provider SDK's class) with no work of
 * ours, under the SDK promise-stack setting the program installs at start-up; the ratio of the two
 * CPU times is what our program costs over Pulumi's own per-resource work. The floor runs once more
 * with the SDK as shipped, which shows what that setting saves. `--repeat N` runs the program and
 * the floor N times each, alternating, and prints medians and ranges: this machine's speed drifts
 * by a fifth from one run to the next. `--fleet` splits a fleet into
 * edge-fleet shard stacks (fleet/) and evaluates each shard and the central stack apart.
 *
 * The program defaults to the real index.ts; `--program tests/fixtures/programs/edge.ts` measures
 * the edge component alone (fake foundation).
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import YAML from "yaml";
import { plainYaml } from "../components/shared/yaml";
import { type RunOptions, runProgram } from "./lib/mock-runtime";

const ROOT = path.resolve(__dirname, "..");
const FLOOR_PROGRAM = path.join(ROOT, "scripts/lib/floor-program.ts");
/** EDP_BENCH_PROF=<dir>: every measured child writes a V8 CPU profile there (open it in Chrome's DevTools). */
const PROF_ARGS = process.env.EDP_BENCH_PROF ? ["--cpu-prof", `--cpu-prof-dir=${process.env.EDP_BENCH_PROF}`] : [];

interface ChildResult {
  clusters: number;
  error?: string;
  evalMs: number;
  /** CPU time (user + system) of the evaluation: steadier than wall time on a busy machine. */
  cpuMs: number;
  maxRssMb: number;
  resources: number;
  edgeResources: number;
  /** JSON size of every resource's recorded inputs: a proxy for how state grows. */
  inputsMb: number;
}

/** The edp:edgeClusters and edp:deployments overrides for n clusters. */
export function edgeOverride(n: number): Record<string, unknown> {
  const clusters = Array.from({ length: n }, (_, i) => {
    const name = `bench-${String(i + 1).padStart(4, "0")}`;
    return { name, bootstrap: "script", hosts: [`${name}-node-1`] };
  });
  return {
    "edp:edgeClusters": clusters,
    "edp:deployments": clusters.map((c) => ({ name: "collector", template: "opcua-collector", cluster: c.name, hostname: c.hosts[0] })),
  };
}

async function child(optionsFile: string, resultFile: string) {
  const options = JSON.parse(fs.readFileSync(optionsFile, "utf8")) as RunOptions & { clusters: number; recordsFile?: string; fleetOutput?: string };
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  const result = await runProgram(options);
  // Up to the program's end: what the mock runtime does after it (gathering its records and
  // resolving the outputs for this report) is the harness's work, not the program's.
  const evalMs = result.programDone.atMs - started;
  const cpu = { user: result.programDone.cpu.user - cpuStart.user, system: result.programDone.cpu.system - cpuStart.system };
  const edgeRoots = new Set(result.resources.filter((r) => r.type === "edp:edge:EdgeCluster").map((r) => r.urn));
  const inEdge = new Set(edgeRoots);
  for (const r of result.resources) if (r.parent && inEdge.has(r.parent)) inEdge.add(r.urn);
  const out: ChildResult = {
    clusters: options.clusters,
    error: result.error,
    evalMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    resources: result.resources.length,
    edgeResources: inEdge.size,
    inputsMb: JSON.stringify(result.resources.map((r) => r.inputs)).length / 1024 / 1024,
  };
  // The floor replays exactly these registrations (scripts/lib/floor-program.ts).
  if (options.recordsFile) fs.writeFileSync(options.recordsFile, JSON.stringify(result.resources));
  // The central stack's output that shard stacks read through their StackReference.
  if (options.fleetOutput) fs.writeFileSync(options.fleetOutput, JSON.stringify(result.outputs.edgeFleet?.value));
  fs.writeFileSync(resultFile, JSON.stringify(out));
}

/** A shard stack file for n clusters of a stage (fleet/Pulumi.<stage>-<shard>.yaml's shape). */
function shardStackFile(dir: string, stage: string, shard: string, first: number, n: number): string {
  const { "edp:edgeClusters": clusters, "edp:deployments": deployments } = edgeOverride(first + n) as { "edp:edgeClusters": unknown[]; "edp:deployments": unknown[] };
  const testing = YAML.parse(fs.readFileSync(path.join(ROOT, "fleet/Pulumi.testing-shard-a.yaml"), "utf8")) as { config: Record<string, unknown> };
  const config = {
    "alicloud:region": "eu-central-1",
    "edp-fleet:stage": stage,
    "edp-fleet:centralStack": `organization/edp/${stage}`,
    "edp-fleet:edgeClusters": clusters.slice(first),
    "edp-fleet:chartTemplates": testing.config["edp-fleet:chartTemplates"],
    "edp-fleet:deployments": deployments.slice(first),
  };
  const file = path.join(dir, `Pulumi.${stage}-${shard}.yaml`);
  fs.writeFileSync(file, plainYaml({ config }));
  return file;
}

/**
 * A fleet of `total` clusters split into shard stacks of `shardSize`, each evaluated in its own
 * process, `parallel` at a time (as `pulumi up` of the shards would run), and the central stack
 * once: its evaluation does not depend on the fleet. With `floor`, each shard's floor (the same
 * registrations replayed, as for --sizes) runs right after the shard, in the same worker.
 */
async function fleetBench(stage: string, total: number, shardSize: number, parallel: number, floor: boolean) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "edp-bench-fleet-"));
  try {
    const central = await runChild(dir, "central", { stage, root: ROOT, program: path.join(ROOT, "index.ts"), clusters: 0, config: edgeOverride(0), fleetOutput: path.join(dir, "edge-fleet.json") });
    const edgeFleet = JSON.parse(fs.readFileSync(path.join(dir, "edge-fleet.json"), "utf8")) as unknown;
    const shards = Array.from({ length: Math.ceil(total / shardSize) }, (_, i) => ({ i, name: `shard-${String(i + 1).padStart(3, "0")}`, first: i * shardSize, n: Math.min(shardSize, total - i * shardSize) }));
    const results: (ChildResult & { wallS: number; shard: string; floor?: Measured })[] = [];
    const started = Date.now();
    let next = 0;
    const worker = async () => {
      while (next < shards.length) {
        const s = shards[next++];
        const stackFile = shardStackFile(dir, stage, s.name, s.first, s.n);
        const options = {
          stage,
          root: path.join(ROOT, "fleet"),
          program: path.join(ROOT, "fleet/index.ts"),
          project: "edp-fleet",
          stack: `${stage}-${s.name}`,
          stackFile,
          standIns: false,
          stackReferences: { [`organization/edp/${stage}`]: { edgeFleet } },
          clusters: s.n,
        };
        const records = path.join(dir, `records-${s.name}.json`);
        const r = await runChild(dir, s.name, { ...options, ...(floor ? { recordsFile: records } : {}) });
        const f = floor ? await runFloor(dir, `${s.name}-floor`, options, records, r) : undefined;
        fs.rmSync(records, { force: true });
        results.push({ ...r, shard: s.name, floor: f });
        process.stderr.write(`measured ${s.name} (${s.n} clusters)\n`);
      }
    };
    await Promise.all(Array.from({ length: parallel }, worker));
    const totalWallS = (Date.now() - started) / 1000;
    results.sort((a, b) => a.shard.localeCompare(b.shard));
    console.log(`fleet: ${total} clusters in ${shards.length} shard stacks of ≤ ${shardSize}, ${parallel} at a time; stage ${stage}, node ${process.version}, ${os.cpus().length} CPU(s)\n`);
    const floorHead = floor ? " floor: evaluation (s) | floor: CPU (s) | ratio to floor (CPU) |" : "";
    console.log(`| stack | edge clusters | wall time (s) | evaluation (s) | evaluation CPU (s) | peak RSS (MiB) | resources |${floorHead}`);
    console.log(`|---|---:|---:|---:|---:|---:|---:|${floor ? "---:|---:|---:|" : ""}`);
    console.log(`| central (${stage}) | 0 | ${central.wallS.toFixed(1)} | ${(central.evalMs / 1000).toFixed(1)} | ${(central.cpuMs / 1000).toFixed(1)} | ${central.maxRssMb.toFixed(0)} | ${central.resources} |${floor ? " | | |" : ""}`);
    for (const r of results) {
      const f = r.floor ? ` ${(r.floor.evalMs / 1000).toFixed(1)} | ${(r.floor.cpuMs / 1000).toFixed(1)} | ${(r.cpuMs / r.floor.cpuMs).toFixed(2)} |` : "";
      console.log(`| ${stage}-${r.shard} | ${r.clusters} | ${r.wallS.toFixed(1)} | ${(r.evalMs / 1000).toFixed(1)} | ${(r.cpuMs / 1000).toFixed(1)} | ${r.maxRssMb.toFixed(0)} | ${r.resources} |${f}`);
    }
    const sum = (f: (r: ChildResult) => number) => results.reduce((a, r) => a + f(r), 0);
    console.log(
      `| all shards | ${sum((r) => r.clusters)} | ${totalWallS.toFixed(1)} (elapsed) | ${(sum((r) => r.evalMs) / 1000).toFixed(1)} (sum) | ${(sum((r) => r.cpuMs) / 1000).toFixed(1)} (sum) | ${Math.max(...results.map((r) => r.maxRssMb)).toFixed(0)} (max) | ${sum((r) => r.resources)} |`,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

type Measured = ChildResult & { wallS: number };

/** One measured child process: writes its options, runs it, and reads its result. */
function runChild(dir: string, name: string, options: object, env: NodeJS.ProcessEnv = {}): Promise<Measured> {
  const optionsFile = path.join(dir, `options-${name}.json`);
  const resultFile = path.join(dir, `result-${name}.json`);
  fs.writeFileSync(optionsFile, JSON.stringify(options));
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const opts = { cwd: ROOT, env: { ...process.env, ...env }, maxBuffer: 256 * 1024 * 1024 };
    execFile(process.execPath, [...PROF_ARGS, "--import", "tsx", __filename, "--child", optionsFile, resultFile], opts, (err, _out, stderr) => {
      if (err) return reject(new Error(`${name}: ${stderr || err.message}`));
      const r = JSON.parse(fs.readFileSync(resultFile, "utf8")) as ChildResult;
      if (r.error) return reject(new Error(`${name}: ${r.error}`));
      resolve({ ...r, wallS: (Date.now() - started) / 1000 });
    });
  });
}

/**
 * The floor of a measured run: its recorded registrations replayed (scripts/lib/floor-program.ts)
 * with the same options, in the program's waves, under the program's promise-stack setting or,
 * with `sdkAsShipped`, the SDK's own. Throws unless it registered as many resources as the run.
 */
async function runFloor(dir: string, name: string, options: object, records: string, run: Measured, sdkAsShipped = false): Promise<Measured> {
  // Loaded here, in the parent only: a child's evaluation counts the loading of the program's modules.
  const perWave = (await import("../components/edge/edge.js")).EDGE_CLUSTERS_PER_WAVE;
  const env = { EDP_FLOOR_RECORDS: records, EDP_FLOOR_CLUSTERS_PER_WAVE: String(perWave), ...(sdkAsShipped ? {} : { EDP_FLOOR_SDK_STACKS: "program" }) };
  const floor = await runChild(dir, name, { ...options, program: FLOOR_PROGRAM }, env);
  if (floor.resources !== run.resources) throw new Error(`${name}: the floor registered ${floor.resources} resources, the program ${run.resources}; it must replay every one`);
  return floor;
}

function parent(argv: string[]) {
  const arg = (name: string, fallback: string) => {
    const i = argv.indexOf(name);
    return i >= 0 && argv[i + 1] ? argv[i + 1] : fallback;
  };
  const program = path.resolve(arg("--program", path.join(ROOT, "index.ts")));
  const stage = arg("--stage", "testing");
  if (argv.includes("--fleet")) {
    fleetBench(stage, Number(arg("--fleet", "10000")), Number(arg("--shard-size", "1000")), Number(arg("--parallel", "2")), argv.includes("--floor")).catch((e: unknown) => {
      process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    });
    return;
  }
  const sizes = arg("--sizes", "1,10,100,1000").split(",").map(Number);
  const repeat = Number(arg("--repeat", "1"));
  if (!Number.isInteger(repeat) || repeat < 1) {
    process.stderr.write(`--repeat: a whole number of runs (1 or more), not ${arg("--repeat", "1")}\n`);
    process.exit(64);
  }
  sizesBench(stage, program, sizes, repeat).catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** A figure as its median, and with more than one run its range: `13.3 (12.6–15.4)`. */
function figure(xs: number[], digits: number): string {
  const m = median(xs).toFixed(digits);
  return xs.length === 1 ? m : `${m} (${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)})`;
}

interface Pair {
  real: Measured;
  floor: Measured;
}

/**
 * Each size in turn: the program and the floor (the program's stack setting), one after the other,
 * `repeat` times, so that both see the same drift of the machine's speed; then the floor once with
 * the SDK as shipped.
 */
async function sizesBench(stage: string, program: string, sizes: number[], repeat: number) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "edp-bench-"));
  const records = path.join(dir, "records.json");
  const rows: { clusters: number; pairs: Pair[]; asShipped: Measured }[] = [];
  try {
    for (const n of sizes) {
      // Same stack file and overrides for the floor, so its config (and its parsing) costs the same.
      const options = { stage, root: ROOT, program, config: edgeOverride(n), clusters: n };
      const pairs: Pair[] = [];
      for (let k = 0; k < repeat; k++) {
        const real = await runChild(dir, `${n}-${k}`, { ...options, recordsFile: records });
        pairs.push({ real, floor: await runFloor(dir, `${n}-${k}-floor`, options, records, real) });
      }
      const asShipped = await runFloor(dir, `${n}-floor-shipped`, options, records, pairs[0].real, true);
      rows.push({ clusters: n, pairs, asShipped });
      process.stderr.write(`measured ${n} cluster(s)\n`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  console.log(`program: ${path.relative(ROOT, program)}, stage ${stage}, node ${process.version}, ${os.cpus().length} CPU(s)`);
  if (repeat > 1) console.log(`each figure: the median of ${repeat} runs (program and floor alternating), then the range`);
  console.log(
    "\n| edge clusters | resources | edge resources per cluster | recorded inputs (MiB) | wall time (s) | evaluation (s) | evaluation CPU (s) | peak RSS (MiB) | floor: evaluation (s) | floor: CPU (s) | floor: peak RSS (MiB) | ratio to floor (CPU) | floor, SDK as shipped: CPU (s) | floor, SDK as shipped: peak RSS (MiB) |",
  );
  console.log("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const { clusters, pairs, asShipped } of rows) {
    const r = pairs[0].real;
    const of = (pick: (p: Pair) => number, digits: number) => figure(pairs.map(pick), digits);
    console.log(
      `| ${clusters} | ${r.resources} | ${(r.edgeResources / clusters).toFixed(1)} | ${r.inputsMb.toFixed(1)} | ${of((p) => p.real.wallS, 1)} | ${of((p) => p.real.evalMs / 1000, 1)} | ${of((p) => p.real.cpuMs / 1000, 1)} | ${of((p) => p.real.maxRssMb, 0)} | ${of((p) => p.floor.evalMs / 1000, 1)} | ${of((p) => p.floor.cpuMs / 1000, 1)} | ${of((p) => p.floor.maxRssMb, 0)} | ${of((p) => p.real.cpuMs / p.floor.cpuMs, 2)} | ${(asShipped.cpuMs / 1000).toFixed(1)} | ${asShipped.maxRssMb.toFixed(0)} |`,
    );
  }
  console.log(
    "\nfloor: the same resources, each through its provider SDK's class, replayed with no work of ours, with the SDK promise-stack setting the program installs (components/shared/stack-traces.ts);" +
      " 'SDK as shipped': the same replay once with every promise's stack captured and source-mapped. The ratio is each run's against the floor run right after it.",
  );
  const medians: (SizeMedians & { cpuS: number })[] = rows.map(({ clusters, pairs }) => ({
    clusters,
    evaluationS: median(pairs.map((p) => p.real.evalMs)) / 1000,
    cpuS: median(pairs.map((p) => p.real.cpuMs)) / 1000,
    rssMib: median(pairs.map((p) => p.real.maxRssMb)),
    ratio: median(pairs.map((p) => p.real.cpuMs / p.floor.cpuMs)),
  }));
  if (medians.length > 1) {
    const first = medians[0];
    const last = medians[medians.length - 1];
    console.log(`\nt(${last.clusters})/t(${first.clusters}) = ${(last.evaluationS / first.evaluationS).toFixed(1)} (CPU ${(last.cpuS / first.cpuS).toFixed(1)}) for ${last.clusters / first.clusters}× the clusters`);
  }
  const goals = goalLines(medians);
  if (goals.length > 0) console.log(`\nissue 22's goals at ${GOALS.clusters} clusters (medians):\n${goals.join("\n")}`);
}

/** Issue 22's goals at 1,000 clusters. 1.2 GB is 1.2e9 bytes: 1,144 MiB. */
export const GOALS = { clusters: 1000, evaluationS: 10, rssMib: 1.2e9 / 2 ** 20, ratio: 1.5, growth: 10 } as const;

/** Medians of a size's runs, as the goals read them. */
export interface SizeMedians {
  clusters: number;
  evaluationS: number;
  rssMib: number;
  ratio: number;
}

/** One line per goal, with the measured median and whether it holds; nothing without a 1,000-cluster size. */
export function goalLines(sizes: SizeMedians[]): string[] {
  const at = sizes.find((x) => x.clusters === GOALS.clusters);
  if (!at) return [];
  const verdict = (ok: boolean) => (ok ? "met" : "NOT met");
  const lines = [
    `evaluation ${at.evaluationS.toFixed(1)} s, goal ≤ ${GOALS.evaluationS} s: ${verdict(at.evaluationS <= GOALS.evaluationS)}`,
    `peak RSS ${at.rssMib.toFixed(0)} MiB, goal ≤ 1.2 GB (${GOALS.rssMib.toFixed(0)} MiB): ${verdict(at.rssMib <= GOALS.rssMib)}`,
    `ratio to the floor (CPU) ${at.ratio.toFixed(2)}, goal ≤ ${GOALS.ratio}: ${verdict(at.ratio <= GOALS.ratio)}`,
  ];
  const tenth = sizes.find((x) => x.clusters === GOALS.clusters / 10);
  if (tenth) {
    const growth = at.evaluationS / tenth.evaluationS;
    lines.push(`t(${GOALS.clusters})/t(${tenth.clusters}) ${growth.toFixed(1)}, goal ≤ ${GOALS.growth}: ${verdict(growth <= GOALS.growth)}`);
  }
  return lines.map((l) => `- ${l}`);
}

// Run as a script only: a module that imports edgeOverride must not start a benchmark.
if (require.main === module) {
  const argv = process.argv.slice(2);
  if (argv[0] === "--child") {
    child(argv[1], argv[2]).then(
      () => process.exit(0),
      (e: unknown) => {
        process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
        process.exit(1);
      },
    );
  } else {
    parent(argv);
  }
}
