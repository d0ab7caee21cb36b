/**
 * The RRSA exchange client as it runs in a pod: sts-exchange.cjs with Alibaba's credentials
 * library, bundled by esbuild into one CommonJS file that the pinned Node image runs from a
 * ConfigMap (the image has no node_modules, and the cluster reaches no package registry).
 * Built from this checkout's node_modules, whose version of the library must be the one
 * versions.ts pins: the bundle is deterministic, so the ConfigMap changes only with the code.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { buildSync } from "esbuild";
import { STS_CLIENT } from "../versions";

const ENTRY = path.join(__dirname, "sts-exchange.cjs");
const cached = new Map<string, string>();

/** sts-exchange.cjs with the library: the init container of the Jobs that run rclone. */
export function stsClientBundle(): string {
  return bundleWithStsClient(ENTRY);
}

/** A CommonJS entry file bundled with the pinned credentials library (the fleet-status exporter uses it in-process). */
export function bundleWithStsClient(entry: string): string {
  const hit = cached.get(entry);
  if (hit !== undefined) return hit;
  const pkg = JSON.parse(fs.readFileSync(require.resolve(`${STS_CLIENT.package}/package.json`), "utf8")) as { version: string };
  if (pkg.version !== STS_CLIENT.version) {
    throw new Error(`${STS_CLIENT.package} ${pkg.version} is installed, but components/versions.ts pins ${STS_CLIENT.version}: run npm ci`);
  }
  const result = buildSync({
    entryPoints: [entry],
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node22",
    minify: true,
    legalComments: "inline",
    write: false,
    logLevel: "silent",
  });
  const text = result.outputFiles[0].text;
  cached.set(entry, text);
  return text;
}
