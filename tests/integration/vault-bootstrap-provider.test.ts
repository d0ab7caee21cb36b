/**
 * Pulumi serialises a dynamic provider's code into the resource's `__provider` input and runs
 * that text, not our modules, during `pulumi up`. This test takes the text the testing stack
 * records, loads it the way the dynamic-provider host does, and lets it bootstrap a loopback
 * Vault through a stand-in API server: the serialised closure must carry everything it needs.
 */
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import * as path from "node:path";
import type * as pulumi from "@pulumi/pulumi";
import { FakeApiServerProxy, FakeVault } from "../harness/fake-vault";
import { ROOT, runStage } from "../harness/stage";

function loadProvider(text: string): pulumi.dynamic.ResourceProvider {
  const mod: { exports: { handler?: () => pulumi.dynamic.ResourceProvider } } = { exports: {} };
  // Resolves require("yaml") and node built-ins from the project, as the provider host would.
  new Function("exports", "require", "module", text)(mod.exports, createRequire(path.join(ROOT, "index.ts")), mod);
  const handler = mod.exports.handler;
  if (!handler) throw new Error("the serialised provider exports no handler");
  return handler();
}

describe("the serialised VaultBootstrap provider", function () {
  this.timeout(120_000);

  it("initialises a loopback Vault through the API-server proxy, configures Kubernetes auth and revokes the root token", async () => {
    const run = await runStage("testing", { program: path.join(ROOT, "tests/fixtures/programs/vault.ts") });
    assert.equal(run.error, undefined, run.error);
    const inputs = run.get("pulumi-nodejs:dynamic:Resource", "vault-bootstrap").inputs;
    const provider = loadProvider(String(inputs.__provider));
    assert.equal(typeof provider.create, "function");

    const vault = new FakeVault({ seal: "shamir" });
    const api = new FakeApiServerProxy("deployer-token", { "vault-0": await vault.start() });
    try {
      const kubeconfig = api.kubeconfig(await api.start());
      const { __provider: _code, ...rest } = inputs;
      const created = await provider.create?.({ ...rest, kubeconfig, attempts: 3, delayMs: 1 });
      assert.ok(created);
      assert.equal(created.id, "vault/vault-0");
      assert.deepEqual(created.outs?.keys, vault.state.keys);
      assert.equal(vault.state.sealed, false);
      assert.deepEqual(
        vault.state.configured.map((c) => `${c.method} ${c.path}`),
        ["POST /v1/sys/auth/kubernetes", "POST /v1/auth/kubernetes/config", "PUT /v1/sys/policies/acl/edp-configurer", "POST /v1/auth/kubernetes/role/edp-configurer"],
      );
      assert.deepEqual(vault.state.revoked, [vault.state.rootToken]);
      const diff = await provider.diff?.("vault/vault-0", created.outs, { ...rest, kubeconfig: "rotated" });
      assert.equal(diff?.changes, false, "a later change of inputs must not re-run the init");
    } finally {
      await api.stop();
      await vault.stop();
    }
  });
});
