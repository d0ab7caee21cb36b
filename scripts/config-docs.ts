/**
 * Writes docs/config.md from the config schema (`npm run config-docs`); with --check, only says
 * whether the file is current (exit 1 when not).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { renderConfigDocs } from "./lib/config-docs";

const root = path.resolve(__dirname, "..");
const file = path.join(root, "docs", "config.md");
const text = renderConfigDocs(root);
if (process.argv.includes("--check")) {
  const current = fs.existsSync(file) && fs.readFileSync(file, "utf8") === text;
  console.log(current ? "docs/config.md is current" : "docs/config.md is out of date: run npm run config-docs");
  process.exit(current ? 0 : 1);
}
fs.mkdirSync(path.dirname(file), { recursive: true });
fs.writeFileSync(file, text);
console.log(`wrote ${path.relative(root, file)}`);
