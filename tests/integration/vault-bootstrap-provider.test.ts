/**
 * Pulumi serialises a dynamic provider's code into the resource's `__provider` input and runs
 * that text, not our modules, during `pulumi up`. This test takes the text the testing stack
 * records and hands it to @pulumi/pulumi's own dynamic-provider host in a separate process,
 * speaking gRPC to it as the engine does; the provider bootstraps a loopback Vault through a
 * stand-in API server. So the serialised closure must carry everything it needs, a failure after
 * the init must reach the engine as an initialisation failure that carries the keys, and the
 * progress messages must come out of the host.
 */
import assert from "node:assert/strict";
import * as path from "node:path";
import { DIFF_NONE, DynamicProviderHost } from "../harness/dynamic-provider-host";
import { FakeApiServerProxy, FakeVault } from "../harness/fake-vault";
import { ROOT, runStage, type StageRun } from "../harness/stage";

const URN = "urn:pulumi:testing::edp::edp:vault:Vault$pulumi-nodejs:dynamic:Resource::vault-bootstrap";
const PLANNED = ["POST /v1/sys/auth/kubernetes", "POST /v1/auth/kubernetes/config", "PUT /v1/sys/policies/acl/edp-configurer", "POST /v1/auth/kubernetes/role/edp-configurer"];

describe("the serialised VaultBootstrap provider, run by Pulumi's dynamic-provider host", function () {
  this.timeout(120_000);
  let run: StageRun;
  let inputs: Record<string, unknown>;
  let host: DynamicProviderHost;
  let vault: FakeVault;
  let api: FakeApiServerProxy;

  before(async () => {
    run = await runStage("testing", { program: path.join(ROOT, "tests/fixtures/programs/vault.ts") });
    assert.equal(run.error, undefined, run.error);
    inputs = run.get("pulumi-nodejs:dynamic:Resource", "vault-bootstrap").inputs;
    assert.equal(typeof inputs.__provider, "string");
  });

  it("serialises only the provider's own code: no stack configuration, and small enough for an init failure's gRPC trailer", () => {
    const code = String(inputs.__provider);
    // Capturing the `pulumi` namespace once put the runtime and the stack's configuration here
    // (stored in plaintext in the state); at 124 KB, and still at 97 KB with only its log
    // module, the host's init-failure answer (properties in the grpc-status-details-bin trailer,
    // bounded by HTTP/2 header limits) never arrived in the test below.
    assert.ok(!code.includes("edp:stage") && !code.includes("alicloud:region"), "the stack's configuration is in the provider's code");
    assert.ok(code.length < 48 * 1024, `the serialised provider is ${code.length} bytes`);
  });
  beforeEach(async () => {
    host = new DynamicProviderHost(ROOT);
    await host.start();
  });
  afterEach(async () => {
    await host.stop();
    await api?.stop();
    await vault?.stop();
  });

  /** The recorded inputs with a kubeconfig for the stand-in API server and short waits. */
  async function against(v: FakeVault): Promise<Record<string, unknown>> {
    vault = v;
    api = new FakeApiServerProxy("deployer-token", { "vault-0": await vault.start() });
    return { ...inputs, kubeconfig: api.kubeconfig(await api.start()), attempts: 12, delayMs: 5 };
  }

  it("waits for vault-0 behind the API server and for a raft leader, initialises, configures, revokes the root token, and says what it waits for", async () => {
    const props = await against(new FakeVault({ seal: "shamir", electionDelay: 4 }));
    api.pending["vault-0"] = { missing: 2, noIp: 2 };
    const created = await host.create(URN, props);
    assert.ok(created.ok, JSON.stringify(!created.ok && created.failure));
    assert.equal(created.value.id, "vault/vault-0");
    assert.deepEqual(created.value.properties.keys, vault.state.keys);
    assert.equal(created.value.properties.configured, true);
    assert.equal(created.value.properties.__provider, inputs.__provider, "the engine needs the provider's code in the state");
    assert.equal(vault.state.sealed, false);
    assert.deepEqual(vault.state.configured.map((c) => `${c.method} ${c.path}`), PLANNED);
    assert.deepEqual(vault.state.revoked, [vault.state.rootToken]);

    // pulumi.log from the host (no engine connection there) prints "info: [runtime] …" to its
    // stdout, which the CLI passes through to `pulumi up`'s display.
    const progress = host.output.filter((l) => l.startsWith("info: [runtime] vault bootstrap: "));
    const expected = [/waiting for GET \/v1\/sys\/init \(HTTP 404 from the API server: pods "vault-0" not found\)/, /is not a valid IP/, /initialised with 5 unseal key shares/, /waiting for raft to elect a leader/, /root token revoked/];
    for (const re of expected) assert.ok(progress.some((l) => re.test(l)), `no progress message ${re} in:\n${host.output.join("\n")}`);
    assert.ok(host.output.every((l) => vault.state.keys.every((k) => !l.includes(k))), "a key reached the log");

    assert.equal(await host.diff(URN, created.value.id, created.value.properties, { ...props, kubeconfig: "rotated" }), DIFF_NONE, "a later change of inputs must not re-run the init");
  });

  it("records the keys as an initialisation failure when configuration fails after the init, and the next run's update finishes with them", async () => {
    const props = await against(new FakeVault({ seal: "shamir" }));
    vault.state.failOnce["/v1/auth/kubernetes/role/edp-configurer"] = [400, "invalid role"];
    const created = await host.create(URN, props);
    assert.ok(!created.ok, "the create must fail");
    const failed = created.failure.initFailed;
    assert.ok(failed, `the failure must reach the engine as ErrorResourceInitFailed: ${created.failure.message}`);
    assert.equal(failed.id, "vault/vault-0");
    assert.deepEqual(failed.properties.keys, vault.state.keys, "the keys must be in the state the moment the init succeeded");
    assert.equal(failed.properties.configured, false);
    assert.equal(failed.properties.__provider, inputs.__provider, "without its code in the state the engine could not update or delete it");
    assert.equal(failed.properties.kubeconfig, undefined, "the kubeconfig is not needed to finish and would only grow the trailer");
    assert.match(failed.reasons.join("\n"), /edp-configurer answered HTTP 400: invalid role/);
    assert.deepEqual(vault.state.revoked, [vault.state.rootToken]);
    const firstRoot = vault.state.rootToken;

    // The engine keeps the resource with its init errors and, on the next `pulumi up`, calls
    // update even though diff reports no change (pkg/resource/deploy/step_generator.go).
    assert.equal(await host.diff(URN, failed.id, failed.properties, props), DIFF_NONE);
    vault.restart();
    const updated = await host.update(URN, failed.id, failed.properties, props);
    assert.ok(updated.ok, JSON.stringify(!updated.ok && updated.failure));
    assert.equal(updated.value.properties.configured, true);
    assert.deepEqual(updated.value.properties.keys, failed.properties.keys);
    assert.equal(updated.value.properties.initialisedAt, failed.properties.initialisedAt);
    assert.equal(vault.state.log.filter((l) => l === "PUT /v1/sys/init").length, 1, "Vault must be initialised once");
    assert.equal(vault.state.sealed, false);
    assert.deepEqual(vault.state.configured.map((c) => `${c.method} ${c.path}`), [...PLANNED.slice(0, 3), ...PLANNED.slice(1)]);
    assert.notEqual(vault.state.rootToken, firstRoot);
    assert.deepEqual(vault.state.revoked, [firstRoot, vault.state.rootToken], "both root tokens must be revoked");
  });

  it("keeps reporting an initialisation failure, with the keys, while a later run cannot finish either", async () => {
    const props = await against(new FakeVault({ seal: "shamir" }));
    vault.state.failOnce["/v1/sys/policies/acl/edp-configurer"] = [400, "invalid policy"];
    const created = await host.create(URN, props);
    assert.ok(!created.ok && created.failure.initFailed);
    const olds = created.failure.initFailed.properties;
    vault.state.failOnce["/v1/auth/kubernetes/role/edp-configurer"] = [400, "invalid role"];
    const updated = await host.update(URN, created.failure.initFailed.id, olds, props);
    assert.ok(!updated.ok && updated.failure.initFailed, "the update must report an init failure again");
    assert.deepEqual(updated.failure.initFailed.properties.keys, vault.state.keys);
    assert.equal(updated.failure.initFailed.properties.configured, false);
  });

  it("fails plainly, recording nothing, when vault-0 never appears", async () => {
    const props = await against(new FakeVault());
    api.pending["vault-0"] = { missing: 1000, noIp: 0 };
    const created = await host.create(URN, { ...props, attempts: 3 });
    assert.ok(!created.ok);
    assert.equal(created.failure.initFailed, undefined, "nothing exists yet, so nothing is recorded");
    assert.match(created.failure.message, /vault-0 is not reachable: GET \/v1\/sys\/init failed 3 time\(s\), last with: HTTP 404 from the API server: pods "vault-0" not found/);
    assert.ok(!vault.state.log.includes("PUT /v1/sys/init"));
  });
});
