/**
 * Runs the real program (index.ts) once per bad configuration, all in this one process, under
 * Pulumi's mock runtime, and records for each how many resources the mock monitor saw registered
 * and the error the program stopped with. Config is the first thing index.ts reads, so a bad
 * configuration must stop it with zero registrations. One process for all cases: the modules
 * index.ts imports load once; index.ts itself is evaluated afresh for every case.
 *
 * `tsx tests/harness/config-cases-cli.ts <cases.json> <results.json>`
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";

export interface ConfigCaseInput {
  stage: string;
  values: Record<string, string>;
  secretKeys: string[];
}

export interface ConfigCaseResult {
  /** Resources registered with the mock monitor, the stack itself not counted. */
  registrations: number;
  /** Types of the first few registered resources, to say what got through. */
  registered: string[];
  error?: string;
}

const STOP = "edp-config-cases: a resource was registered";
const ROOT = path.resolve(__dirname, "..", "..");
const PROGRAM = path.join(ROOT, "index.ts");

async function runCase(c: ConfigCaseInput): Promise<ConfigCaseResult> {
  const registered: string[] = [];
  let onRegistered: () => void = () => undefined;
  const firstRegistration = new Promise<void>((resolve) => (onRegistered = resolve));
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        if (args.type !== "pulumi:pulumi:Stack") {
          registered.push(args.type);
          onRegistered();
          // The case has failed already; stop the program rather than let it build everything.
          throw new Error(STOP);
        }
        return { id: args.custom === false ? undefined : `${args.name}-id`, state: args.inputs };
      },
      call(args) {
        return args.inputs;
      },
    },
    "edp",
    c.stage,
    false,
  );
  pulumi.runtime.setAllConfig(c.values, c.secretKeys);
  let error: string | undefined;
  try {
    // A program that got past its config never finishes once registrations fail; the first one decides.
    await Promise.race([
      pulumi.runtime.runInPulumiStack(async () => {
        // Node drops a module that threw from its cache; this also re-runs one that did not.
        delete require.cache[require.resolve(PROGRAM)];
        return require(PROGRAM) as Record<string, unknown>;
      }),
      firstRegistration,
    ]);
  } catch (e) {
    error = e instanceof Error ? e.message : String(e);
  }
  return { registrations: registered.length, registered: registered.slice(0, 5), error };
}

async function main() {
  // A program stopped at its first registration leaves rejected promises behind; the results say what happened.
  process.on("unhandledRejection", () => undefined);
  process.on("uncaughtException", (e) => {
    if (!String(e).includes(STOP) && !(e as { __pulumiRunError?: boolean }).__pulumiRunError) throw e;
  });
  const [casesFile, resultsFile] = process.argv.slice(2);
  const cases = JSON.parse(fs.readFileSync(casesFile, "utf8")) as ConfigCaseInput[];
  const results: ConfigCaseResult[] = [];
  for (const c of cases) {
    results.push(await runCase(c));
    // Written after every case: should the runner die, the cases done so far still count.
    fs.writeFileSync(resultsFile, JSON.stringify(results));
    if (process.env.EDP_CASES_DEBUG) process.stderr.write(`case ${results.length}: ${JSON.stringify(results[results.length - 1]).slice(0, 200)}\n`);
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  },
);
