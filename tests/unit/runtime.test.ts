/**
 * The project runs on a supported Node LTS and a current Pulumi SDK (issue 16, item 4): the
 * pinned `node` package is the runtime of every npm script (this test is one), the SDK and every
 * provider accept it, the CI workflow installs the same Node and a CLI of the SDK's release, and
 * the pinned line has not reached end of life.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as semver from "semver";
import YAML from "yaml";
import { ROOT } from "../harness/stage";

interface PackageJson {
  engines?: { node?: string };
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as PackageJson;
const installed = (name: string): PackageJson & { version: string } =>
  JSON.parse(fs.readFileSync(path.join(ROOT, "node_modules", name, "package.json"), "utf8")) as PackageJson & { version: string };

/**
 * End of life of each Node LTS line, from the Node.js release schedule
 * (https://github.com/nodejs/Release#release-schedule). A line missing here is not an LTS.
 */
const NODE_LTS_END_OF_LIFE: Record<number, string> = {
  20: "2026-04-30",
  22: "2027-04-30",
  24: "2028-04-30",
};

describe("runtime: a supported Node LTS and a current SDK", () => {
  const pinnedNode = pkg.devDependencies?.node ?? "";

  it("the project pins its own Node exactly (the `node` package)", () => {
    assert.ok(semver.valid(pinnedNode), `devDependencies.node is ${JSON.stringify(pinnedNode)}, not an exact version`);
  });

  it("npm scripts run on the pinned Node, not the machine's", () => {
    assert.equal(process.versions.node, pinnedNode);
  });

  it("the pinned Node line is an LTS that has not reached end of life", () => {
    const major = semver.major(pinnedNode);
    const eol = NODE_LTS_END_OF_LIFE[major];
    assert.ok(eol, `Node ${major} is not an LTS line`);
    assert.ok(new Date() < new Date(`${eol}T00:00:00Z`), `Node ${major} reached end of life on ${eol}`);
  });

  it("package.json's engines admit the pinned Node and refuse end-of-life lines", () => {
    const range = pkg.engines?.node ?? "";
    assert.ok(semver.satisfies(pinnedNode, range), `engines.node ${range} refuses ${pinnedNode}`);
    for (const [major, eol] of Object.entries(NODE_LTS_END_OF_LIFE)) {
      if (new Date(`${eol}T00:00:00Z`) <= new Date()) assert.ok(!semver.satisfies(`${major}.99.0`, range), `engines.node ${range} admits Node ${major}, past end of life`);
    }
  });

  for (const name of ["@pulumi/pulumi", "@pulumi/alicloud", "@pulumi/kubernetes", "@pulumi/random", "@pulumi/tls", "@pulumi/command", "@pulumi/policy"]) {
    it(`${name} accepts the pinned Node`, () => {
      const range = installed(name).engines?.node;
      if (range) assert.ok(semver.satisfies(pinnedNode, range), `${name} needs Node ${range}`);
    });
  }

  it("the SDK is a release that needs Node 22 or later (3.248, the last for Node 20, is gone)", () => {
    const sdk = pkg.dependencies?.["@pulumi/pulumi"] ?? "";
    assert.ok(semver.gt(sdk, "3.248.0"), `@pulumi/pulumi ${sdk}`);
    assert.equal(installed("@pulumi/pulumi").version, sdk);
  });

  it("the workflow installs the pinned Node and the CLI of the SDK's release", () => {
    const wf = YAML.parse(fs.readFileSync(path.join(ROOT, ".github/workflows/pulumi.yml"), "utf8")) as { env: Record<string, string> };
    assert.equal(wf.env.NODE_VERSION, pinnedNode);
    assert.equal(wf.env.PULUMI_VERSION, pkg.dependencies?.["@pulumi/pulumi"]);
  });
});
