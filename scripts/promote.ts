/**
 * `npm run promote -- <from> <to> [--dir <directory>]`: copies the EDP image tags of
 * Pulumi.<from>.yaml into Pulumi.<to>.yaml (testing → staging → production), touching nothing
 * else in the target file. Review the diff and merge it like any other change (four eyes, §3.6).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { checkStages, PromotionError, promoteImageTags } from "./lib/promote";

function main(argv: string[]): number {
  const args = [...argv];
  let dir = process.cwd();
  const dirAt = args.indexOf("--dir");
  if (dirAt >= 0) {
    const value = args[dirAt + 1];
    if (!value) throw new PromotionError("--dir needs a directory");
    dir = path.resolve(value);
    args.splice(dirAt, 2);
  }
  if (args.length !== 2) throw new PromotionError("usage: npm run promote -- <from-stage> <to-stage> [--dir <directory>]");
  const [from, to] = args;
  const file = (stage: string) => path.join(dir, `Pulumi.${stage}.yaml`);
  // Stage names are checked before any file name is built from them.
  checkStages(from, to);
  for (const stage of [from, to]) if (!fs.existsSync(file(stage))) throw new PromotionError(`${file(stage)} does not exist`);
  const result = promoteImageTags(fs.readFileSync(file(from), "utf8"), fs.readFileSync(file(to), "utf8"), from, to);
  if (result.changes.length === 0) {
    process.stdout.write(`Pulumi.${to}.yaml already has the image tags of ${from}; nothing to do.\n`);
    return 0;
  }
  fs.writeFileSync(file(to), result.text);
  process.stdout.write(`Promoted ${result.changes.length} image tag(s) from ${from} to ${to} (Pulumi.${to}.yaml):\n`);
  for (const c of result.changes) process.stdout.write(`  ${c.service}: ${c.from ?? "(none)"} → ${c.to}\n`);
  return 0;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (e) {
  if (!(e instanceof PromotionError)) throw e;
  process.stderr.write(`promote: ${e.message}\n`);
  process.exitCode = 1;
}
