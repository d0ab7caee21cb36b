/**
 * One program run in its own process: `tsx scripts/lib/run-cli.ts <options.json> <result.json>`.
 * The tests use it so that stages never share Pulumi's global runtime state or module cache.
 */
import * as fs from "node:fs";
import { type RunOptions, runProgram } from "./mock-runtime";

const [optionsFile, resultFile] = process.argv.slice(2);
const options = JSON.parse(fs.readFileSync(optionsFile, "utf8")) as RunOptions;
runProgram(options).then(
  (result) => {
    fs.writeFileSync(resultFile, JSON.stringify(result));
    process.exit(0);
  },
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  },
);
