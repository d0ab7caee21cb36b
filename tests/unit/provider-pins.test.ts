/**
 * Every @pulumi/* provider package the program pins must be a real provider release: at
 * `pulumi preview` the CLI installs the provider plugin named by the package's `pulumi.version`
 * (or, when that is missing, its npm version), and a stray npm publish has no plugin to install.
 * @pulumi/command 4.5.0 was such a publish: its line is 1.x and no plugin v4.5.0 exists.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { ROOT } from "../harness/stage";

/**
 * `npm view <package> dist-tags.latest` when these pins were last reviewed (2026-12-01). A pin
 * must be on the major line of its package's latest release and not above it: anything else is
 * a publish outside the release line (the provider's GitHub releases carry no plugin for it).
 * Bumping a pin past these means re-checking `npm view` and updating this table.
 */
const LATEST_AT_REVIEW: Record<string, string> = {
  "@pulumi/alicloud": "3.108.0",
  "@pulumi/command": "1.2.1",
  "@pulumi/kubernetes": "4.34.2",
  "@pulumi/random": "4.21.2",
  "@pulumi/tls": "5.6.1",
};

const semver = (v: string): [number, number, number] => {
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(v);
  if (!m) throw new Error(`${v} is not an exact release version`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
};
const compare = (a: string, b: string) => {
  const [x, y] = [semver(a), semver(b)];
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return 0;
};

/** Problems of one provider pin; empty when the pin is a release of the package's current line. */
function pinProblems(pkg: string, pin: string, installed: { version?: string; pulumi?: { resource?: boolean; version?: string } }): string[] {
  const out: string[] = [];
  if (!/^\d+\.\d+\.\d+$/.test(pin)) return [`${pkg}: ${pin} is not an exact version`];
  const latest = LATEST_AT_REVIEW[pkg];
  if (latest === undefined) out.push(`${pkg}: not in LATEST_AT_REVIEW; check \`npm view ${pkg} dist-tags\` and add it`);
  else {
    if (semver(pin)[0] !== semver(latest)[0]) out.push(`${pkg}: ${pin} is not on the release line of ${latest} (major ${semver(latest)[0]})`);
    if (compare(pin, latest) > 0) out.push(`${pkg}: ${pin} is above the latest release ${latest}`);
  }
  if (installed.version !== pin) out.push(`${pkg}: node_modules has ${installed.version}, package.json pins ${pin}`);
  if (installed.pulumi?.resource !== true) out.push(`${pkg}: package.json of the installed package does not declare a resource plugin`);
  if (installed.pulumi?.version !== pin) {
    out.push(`${pkg}: the installed package names plugin version ${installed.pulumi?.version ?? "(none)"}, not ${pin}; a provider release names its own plugin`);
  }
  return out;
}

describe("provider package pins", () => {
  const pkgJson = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { dependencies: Record<string, string> };
  const providers = Object.entries(pkgJson.dependencies).filter(([name]) => name.startsWith("@pulumi/") && name !== "@pulumi/pulumi");

  it("pins at least the providers the program imports", () => {
    assert.deepEqual(providers.map(([n]) => n).sort(), Object.keys(LATEST_AT_REVIEW).sort());
  });

  for (const [name, pin] of providers) {
    it(`${name} ${pin} is a provider release with its plugin`, () => {
      const installed = JSON.parse(fs.readFileSync(path.join(ROOT, "node_modules", name, "package.json"), "utf8")) as Parameters<typeof pinProblems>[2];
      assert.deepEqual(pinProblems(name, pin, installed), []);
    });
  }

  it("rejects a stray publish above the release line, and a package naming no plugin version", () => {
    assert.deepEqual(pinProblems("@pulumi/command", "4.5.0", { version: "4.5.0", pulumi: { resource: true } }), [
      "@pulumi/command: 4.5.0 is not on the release line of 1.2.1 (major 1)",
      "@pulumi/command: 4.5.0 is above the latest release 1.2.1",
      "@pulumi/command: the installed package names plugin version (none), not 4.5.0; a provider release names its own plugin",
    ]);
    assert.deepEqual(pinProblems("@pulumi/tls", "5.6.1", { version: "5.6.1", pulumi: { resource: true, version: "5.6.1" } }), []);
    assert.deepEqual(pinProblems("@pulumi/tls", "^5.6.1", {}), ["@pulumi/tls: ^5.6.1 is not an exact version"]);
  });
});
