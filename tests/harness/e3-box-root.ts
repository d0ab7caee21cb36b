/**
 * Builds the E3-in-a-box Debian root into its cache if it is not there (tests/harness/e3-box.ts).
 * scripts/setup.sh runs it alongside its other work, so the test finds the root built.
 */
import { E3_PACKAGES } from "../../components/e3/render/cloud-init";
import { canRunBox, ensureRoot } from "./e3-box";

const why = canRunBox();
if (why) {
  console.log(`E3 box root: not built (${why}); tests/integration/e3-box.test.ts will skip`);
} else {
  const built = ensureRoot([...E3_PACKAGES]);
  console.log(`E3 box root: ${built.dir} (${built.cached ? "cached" : `built in ${built.seconds.toFixed(0)} s`})`);
}
