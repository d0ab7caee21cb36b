/** docs/config.md is what the schema generates, and it documents every key and limit. */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { renderConfigDocs } from "../../scripts/lib/config-docs";
import { ROOT } from "../harness/stage";

describe("configuration reference (docs/config.md)", () => {
  const generated = renderConfigDocs(ROOT);

  it("is current: npm run config-docs writes exactly the checked-in file", () => {
    const file = path.join(ROOT, "docs", "config.md");
    assert.ok(fs.existsSync(file), "docs/config.md is missing: run npm run config-docs");
    assert.ok(fs.readFileSync(file, "utf8") === generated, "docs/config.md is out of date: run npm run config-docs and commit it");
  });

  it("describes every key (a new key needs .describe() in config/schema.ts)", () => {
    const keyRows = generated.split("## Keys")[1].split("## Limits")[0].split("\n").filter((l) => l.startsWith("| `"));
    assert.ok(keyRows.length > 50, `${keyRows.length} keys`);
    const undescribed = keyRows.filter((l) => l.trimEnd().endsWith("|  |")).map((l) => l.split("|")[1].trim());
    assert.deepEqual(undescribed, []);
  });

  it("gives the source of every limit in config/limits.ts", () => {
    const exported = (fs.readFileSync(path.join(ROOT, "config/limits.ts"), "utf8").match(/^export const [A-Z0-9_]+/gm) ?? []).map((l) => l.slice("export const ".length));
    const limitRows = generated.split("## Limits")[1].split("\n").filter((l) => l.startsWith("| `"));
    assert.deepEqual(limitRows.map((l) => l.split("`")[1]).sort(), [...exported].sort(), "a limit without a doc comment directly above it");
    for (const row of limitRows) assert.ok(row.split("|")[3].trim().length > 20, `no source for ${row.split("`")[1]}`);
  });
});
