/**
 * How the program scales with the number of edge clusters: evaluates it under the mock runtime
 * with 1, 10, 100 and 1,000 script-mode clusters (one pinned deployment each), each size in its
 * own child process, and prints wall time, evaluation time, peak memory, and resources per
 * cluster. This measures program evaluation only (what `pulumi preview` spends in the
 * language host); provider plugins and the cloud are not involved.
 *
 *   npm run bench -- [--program PATH] [--sizes 1,10,100,1000] [--stage testing]
 *
 * The program defaults to the real index.ts; `--program tests/fixtures/programs/edge.ts` measures
 * the edge component alone (fake foundation).
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { type RunOptions, runProgram } from "./lib/mock-runtime";

const ROOT = path.resolve(__dirname, "..");

interface ChildResult {
  clusters: number;
  error?: string;
  evalMs: number;
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
  const options = JSON.parse(fs.readFileSync(optionsFile, "utf8")) as RunOptions & { clusters: number };
  const started = process.hrtime.bigint();
  const result = await runProgram(options);
  const evalMs = Number(process.hrtime.bigint() - started) / 1e6;
  const edgeRoots = new Set(result.resources.filter((r) => r.type === "edp:edge:EdgeCluster").map((r) => r.urn));
  const inEdge = new Set(edgeRoots);
  for (const r of result.resources) if (r.parent && inEdge.has(r.parent)) inEdge.add(r.urn);
  const out: ChildResult = {
    clusters: options.clusters,
    error: result.error,
    evalMs,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    resources: result.resources.length,
    edgeResources: inEdge.size,
    inputsMb: JSON.stringify(result.resources.map((r) => r.inputs)).length / 1024 / 1024,
  };
  fs.writeFileSync(resultFile, JSON.stringify(out));
}

function parent(argv: string[]) {
  const arg = (name: string, fallback: string) => {
    const i = argv.indexOf(name);
    return i >= 0 && argv[i + 1] ? argv[i + 1] : fallback;
  };
  const program = path.resolve(arg("--program", path.join(ROOT, "index.ts")));
  const stage = arg("--stage", "testing");
  const sizes = arg("--sizes", "1,10,100,1000").split(",").map(Number);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "edp-bench-"));
  const rows: (ChildResult & { wallS: number })[] = [];
  try {
    for (const n of sizes) {
      const optionsFile = path.join(dir, `options-${n}.json`);
      const resultFile = path.join(dir, `result-${n}.json`);
      fs.writeFileSync(optionsFile, JSON.stringify({ stage, root: ROOT, program, config: edgeOverride(n), clusters: n }));
      const started = Date.now();
      execFileSync(process.execPath, ["--import", "tsx", __filename, "--child", optionsFile, resultFile], {
        cwd: ROOT,
        stdio: ["ignore", "ignore", "inherit"],
        maxBuffer: 256 * 1024 * 1024,
      });
      const r = JSON.parse(fs.readFileSync(resultFile, "utf8")) as ChildResult;
      if (r.error) throw new Error(`${n} clusters: ${r.error}`);
      rows.push({ ...r, wallS: (Date.now() - started) / 1000 });
      process.stderr.write(`measured ${n} cluster(s)\n`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const header = "| edge clusters | wall time (s) | evaluation (s) | peak RSS (MiB) | resources | edge resources per cluster | recorded inputs (MiB) |";
  console.log(`program: ${path.relative(ROOT, program)}, stage ${stage}, node ${process.version}, ${os.cpus().length} CPU(s)\n`);
  console.log(header);
  console.log("|---:|---:|---:|---:|---:|---:|---:|");
  for (const r of rows) {
    console.log(
      `| ${r.clusters} | ${r.wallS.toFixed(1)} | ${(r.evalMs / 1000).toFixed(1)} | ${r.maxRssMb.toFixed(0)} | ${r.resources} | ${(r.edgeResources / r.clusters).toFixed(1)} | ${r.inputsMb.toFixed(1)} |`,
    );
  }
}

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
