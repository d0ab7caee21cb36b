/**
 * Fills the chart cache (.cache/charts/) with every chart pinned in components/versions.ts and
 * checks each archive against components/chart-digests.txt (scripts/lib/chart-cache.ts says how).
 *
 *   npx tsx scripts/charts.ts                    # fill and verify (scripts/setup.sh runs this)
 *   EDP_CHART_ARCHIVES=/path/to/archives npx tsx scripts/charts.ts
 *   npx tsx scripts/charts.ts --digest <archive> # print an archive's line for chart-digests.txt
 */
import * as path from "node:path";
import { contentDigest, readChart } from "./lib/chart-archive";
import { archiveSource, CACHE_DIR, fillCache } from "./lib/chart-cache";

const args = process.argv.slice(2);
try {
  if (args[0] === "--digest") {
    if (args.length < 2) throw new Error("usage: charts.ts --digest <archive.tgz>...");
    for (const file of args.slice(1)) console.log(`${path.basename(file)} ${contentDigest(readChart(file))}`);
  } else if (args.length > 0) {
    throw new Error(`unknown arguments ${args.join(" ")}; usage: charts.ts [--digest <archive.tgz>...]`);
  } else {
    const { from } = fillCache(undefined, archiveSource());
    const fresh = Object.entries(from).filter(([, f]) => f !== "cache");
    for (const [name, f] of fresh) console.log(`${name}: from ${f}, verified`);
    console.log(`chart cache ${path.relative(process.cwd(), CACHE_DIR) || "."}: ${Object.keys(from).length} archives verified (${fresh.length} new)`);
  }
} catch (e) {
  console.error((e as Error).message);
  process.exit(1);
}
