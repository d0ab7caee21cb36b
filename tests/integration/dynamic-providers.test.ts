/**
 * Every dynamic resource of every stage's whole program, as `pulumi up` would run it: its
 * `__provider` text (components/shared/dynamic-provider.ts) is handed to @pulumi/pulumi's own
 * dynamic-provider host in the project directory, which must load it and answer a diff of the
 * recorded inputs against themselves as the provider's code says. The text is code only: the
 * same in every stage, holding no value of the run, and requiring nothing a deploy machine's
 * `npm ci --omit=dev` would not install. And no stage has the SDK serialise a closure.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { builtinModules } from "node:module";
import * as path from "node:path";
import { API_SERVER_ACL_KIND } from "../../components/foundation/api-server-acl-provider";
import { DAEMONSET_KIND, NODE_KIND, TOKEN_KIND } from "../../components/kubeedge/providers";
import { BOOTSTRAP_KIND } from "../../components/vault/bootstrap-provider";
import { STAGES } from "../../config";
import { MIN_GUARDED_LENGTH } from "../../scripts/lib/secret-markers";
import { DIFF_NONE, DynamicProviderHost } from "../harness/dynamic-provider-host";
import { ROOT, runStage, type RecordedResource } from "../harness/stage";

const DYNAMIC = "pulumi-nodejs:dynamic:Resource";

/** Each provider's answer to a diff of unchanged inputs: the token and DaemonSet exclusions are re-checked on every run. */
const UNCHANGED_DIFF_CHANGES: Record<string, boolean> = {
  [API_SERVER_ACL_KIND]: false,
  [BOOTSTRAP_KIND]: false,
  [TOKEN_KIND]: true,
  [NODE_KIND]: false,
  [DAEMONSET_KIND]: true,
};

/** Everything `npm ci --omit=dev` installs at the top level, and Node's own modules. */
function deployableModules(): Set<string> {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { dependencies: Record<string, string> };
  return new Set([...Object.keys(pkg.dependencies), ...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
}

/** The package a require names: "@scope/name/sub" → "@scope/name", "yaml" → "yaml". */
const packageOf = (specifier: string) => specifier.split("/").slice(0, specifier.startsWith("@") ? 2 : 1).join("/");

describe("dynamic providers in every stage, run by Pulumi's dynamic-provider host", function () {
  this.timeout(300_000);
  const byStage = new Map<string, RecordedResource[]>();
  const serialised = new Map<string, boolean>();
  /** Every secret value the runs made or were handed (generated keys and passwords, secret config). */
  const secrets = new Set<string>();

  before(async () => {
    for (const stage of STAGES) {
      const run = await runStage(stage);
      assert.equal(run.error, undefined, run.error);
      byStage.set(stage, run.ofType(DYNAMIC));
      serialised.set(stage, run.result.closureSerialised);
      for (const { value } of run.result.secretSources) if (value.length >= MIN_GUARDED_LENGTH) secrets.add(value);
    }
  });

  it("never has the SDK serialise a closure, whose inspector session keeps V8's debugger on for the rest of the run", () => {
    assert.deepEqual(Object.fromEntries(serialised), Object.fromEntries(STAGES.map((s) => [s, false])));
  });

  it("gives each provider one text in every stage: code only, no secret value of any run, requiring only deployable modules", () => {
    const texts = new Map<string, Set<string>>();
    for (const resources of byStage.values()) {
      for (const r of resources) {
        const code = r.inputs.__provider;
        assert.equal(typeof code, "string", `${r.name}: __provider is not a string`);
        const kind = String(r.inputs.kind);
        texts.set(kind, (texts.get(kind) ?? new Set()).add(code as string));
      }
    }
    assert.deepEqual([...texts.keys()].sort(), Object.keys(UNCHANGED_DIFF_CHANGES).sort(), "every kind of dynamic resource is in some stage");
    const deployable = deployableModules();
    assert.ok(secrets.size > 0, "the runs recorded no secret value to look for");
    for (const [kind, set] of texts) {
      assert.equal(set.size, 1, `${kind}: ${set.size} different provider texts across the stages`);
      const [code] = set;
      // An init failure carries the properties in a gRPC trailer (vault-bootstrap-provider.test.ts).
      assert.ok(code.length < 48 * 1024, `${kind}: the provider is ${code.length} bytes`);
      const required = [...code.matchAll(/\brequire\("([^"]+)"\)/g)].map((m) => m[1]);
      assert.ok(required.length > 0, `${kind}: the provider requires nothing (is it bundled?)`);
      for (const specifier of required) assert.ok(deployable.has(packageOf(specifier)) || deployable.has(specifier), `${kind}: requires ${specifier}, not a dependency`);
      for (const s of secrets) assert.ok(!code.includes(s), `${kind}: the provider's code holds a secret value`);
    }
  });

  it("loads every stage's providers in the host and answers a diff of unchanged inputs as each provider does", async () => {
    const host = new DynamicProviderHost(ROOT);
    await host.start();
    try {
      for (const [stage, resources] of byStage) {
        for (const r of resources) {
          const kind = String(r.inputs.kind);
          const changes = await host.diff(r.urn, `${r.name}-id`, r.inputs, r.inputs);
          assert.equal(changes !== DIFF_NONE, UNCHANGED_DIFF_CHANGES[kind], `${stage} ${r.name} (${kind}): diff answered ${changes}`);
        }
      }
    } finally {
      await host.stop();
    }
  });
});
