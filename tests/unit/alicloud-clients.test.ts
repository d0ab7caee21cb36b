/**
 * The team's rule for Alibaba Cloud calls: requests are signed by Alibaba's own libraries, pinned
 * exactly, never by a signer of our own; and the scripts that carry a library into the cluster
 * (bundled into a ConfigMap) stay well under the 1 MiB a ConfigMap may hold.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { fleetExporterBundle } from "../../components/edge/fleet-exporter";
import { BUNDLE_LIMIT_BYTES } from "../../components/shared/bundle";
import { stsClientBundle } from "../../components/shared/sts-client";
import { renderUnsealerScript } from "../../components/vault/unsealer";
import { OSS_CLIENT, RPC_CLIENT, STS_CLIENT } from "../../components/versions";

const ROOT = path.resolve(__dirname, "../..");

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === "node_modules" ? [] : sourceFiles(p);
    return /\.(ts|cjs|js|mjs|sh)$/.test(e.name) ? [p] : [];
  });
}

describe("Alibaba Cloud clients", () => {
  it("are Alibaba's libraries, pinned exactly in package.json at the versions versions.ts names", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { dependencies: Record<string, string> };
    for (const pin of [OSS_CLIENT, RPC_CLIENT, STS_CLIENT]) {
      assert.equal(pkg.dependencies[pin.package], pin.version, pin.package);
      const installed = JSON.parse(fs.readFileSync(require.resolve(`${pin.package}/package.json`), "utf8")) as { version: string };
      assert.equal(installed.version, pin.version, `${pin.package} installed`);
    }
  });

  it("sign every request: nothing in the program, its scripts or its in-cluster code computes an HMAC itself", () => {
    const files = [path.join(ROOT, "index.ts"), ...["components", "config", "scripts", "fleet"].filter((d) => fs.existsSync(path.join(ROOT, d))).flatMap((d) => sourceFiles(path.join(ROOT, d)))];
    assert.ok(files.length > 50, "the scan found the sources");
    const signers = files.filter((f) => /createHmac\b|openssl\s+(dgst|sha1).*-hmac/.test(fs.readFileSync(f, "utf8")));
    assert.deepEqual(signers.map((f) => path.relative(ROOT, f)), []);
  });

  it("travel into the cluster as bundles well under a ConfigMap's 1 MiB", () => {
    const sizes = {
      "sts-exchange (credentials)": stsClientBundle(),
      "fleet exporter (ali-oss signer, credentials)": fleetExporterBundle(),
      "vault unsealer (pop-core)": renderUnsealerScript(),
    };
    for (const [what, text] of Object.entries(sizes)) {
      const bytes = Buffer.byteLength(text);
      assert.ok(bytes < BUNDLE_LIMIT_BYTES && BUNDLE_LIMIT_BYTES <= 512 * 1024, `${what}: ${bytes} bytes`);
      // A bundle, not a script that needs node_modules the image does not have.
      assert.doesNotMatch(text, /require\("(@alicloud\/[^"]+|ali-oss[^"]*)"\)/, `${what} requires a library at run time`);
    }
  });
});
