/**
 * Prints, from a stage's `edp:existing`, the `pulumi import` file (JSON) for everything the
 * program adopts, the order to run it in, and each cloud resource it creates instead and why.
 *
 *   npm run adopt -- --stage <stage> [--json] [--stack-file <file>]
 *
 * `--json` prints only the import file (to redirect into one). The program runs once under the
 * mock runtime with the stack file's config (secure values skipped, required secrets stood in
 * for), exactly as synth does: no cloud is asked anything, so the ids are what edp:existing
 * says, not what the cloud holds. `pulumi preview` is where they are checked.
 */
import * as path from "node:path";
import { isStage, STAGES } from "../config/stages";
import { adoptSteps, buildAdoptPlan } from "./lib/adopt-plan";
import { runProgram } from "./lib/mock-runtime";

function usage(message: string): never {
  process.stderr.write(`${message}\nusage: npm run adopt -- --stage <${STAGES.join("|")}> [--json] [--stack-file <file>]\n`);
  process.exit(2);
}

async function main() {
  const args = process.argv.slice(2);
  const at = (flag: string) => {
    const i = args.indexOf(flag);
    return i < 0 ? undefined : args[i + 1];
  };
  const stage = at("--stage");
  if (!stage || !isStage(stage)) usage(`--stage must be one of ${STAGES.join(", ")}`);
  const root = path.resolve(__dirname, "..");
  const stackFile = at("--stack-file");
  const result = await runProgram({ stage, root, stackFile: stackFile ? path.resolve(stackFile) : undefined });
  if (result.error) {
    process.stderr.write(`${result.error}\n`);
    process.exit(1);
  }
  const plan = buildAdoptPlan(result);
  const json = `${JSON.stringify(plan.file, null, 2)}\n`;
  if (args.includes("--json")) {
    process.stdout.write(json);
    return;
  }
  const fileName = `import-${stage}.json`;
  const adopted = plan.file.resources.filter((r) => !r.component).length;
  const lines = [
    `# Adopting stage ${stage}: ${adopted} resource(s) from edp:existing`,
    "",
    `## 1. The import file (save it as ${fileName}: npm run adopt -- --stage ${stage} --json > ${fileName})`,
    "",
    json,
    "## 2. The order to run it in",
    "",
    ...adoptSteps(stage, fileName).map((s, i) => `${i + 1}. ${s}`),
    "",
    "The program itself carries the same ids as Pulumi's `import` option, so step 2 may be skipped: `pulumi up` then imports",
    "them itself. Importing first lets `pulumi preview --diff` show the difference against the real resources before anything changes.",
    "",
    "## 3. Created, not imported",
    "",
    ...(plan.notImported.length === 0 ? ["(nothing)"] : plan.notImported.map((n) => `- ${n.type} ${n.name}: ${n.why}`)),
    "",
    "## 4. Never managed",
    "",
    ...plan.outside.map((o) => `- ${o}`),
    "",
  ];
  process.stdout.write(lines.join("\n"));
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  },
);
