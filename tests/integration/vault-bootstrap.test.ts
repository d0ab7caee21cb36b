import assert from "node:assert/strict";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { type BootstrapOptions, bootstrapVault, keysOf } from "../../components/vault/bootstrap";
import { applyPlan, bootstrapPlan, DEFAULT_ACCESS } from "../../components/vault/configuration";
import { nodeHttpClient } from "../../components/vault/http";
import { parseKubeconfig, podProxyTransport } from "../../components/vault/kube";
import { FakeApiServerProxy, FakeVault } from "../harness/fake-vault";

const noSleep = async () => {};

function options(url: string, overrides: Partial<BootstrapOptions> = {}): BootstrapOptions {
  return {
    servers: [{ name: "vault-0", client: nodeHttpClient({ baseUrl: url, timeoutMs: 2000 }) }],
    seal: "shamir",
    shares: 5,
    threshold: 3,
    attempts: 3,
    delayMs: 1,
    sleep: noSleep,
    ...overrides,
  };
}

describe("Vault bootstrap against a loopback Vault API", () => {
  let vault: FakeVault;
  afterEach(async () => vault?.stop());

  it("initialises a fresh Vault, unseals it, configures with the root token and revokes it", async () => {
    vault = new FakeVault();
    const url = await vault.start();
    const seen: string[] = [];
    const result = await bootstrapVault(
      options(url, {
        configure: async (root) => {
          await root.request("POST", "/v1/sys/auth/kubernetes", { type: "kubernetes" });
          seen.push("configured");
        },
      }),
    );
    assert.equal(result.initialised, true);
    assert.deepEqual(result.keys, vault.state.keys);
    assert.equal(result.keys.length, 5);
    assert.deepEqual(result.unsealed, ["vault-0"]);
    assert.equal(vault.state.sealed, false);
    assert.deepEqual(seen, ["configured"]);
    assert.deepEqual(vault.state.configured.map((c) => c.path), ["/v1/sys/auth/kubernetes"]);
    assert.deepEqual(vault.state.revoked, [vault.state.rootToken], "the root token was not revoked");
    assert.equal(vault.state.log.filter((l) => l === "PUT /v1/sys/unseal").length, 3, "unseal should stop at the threshold");
  });

  it("asks for recovery keys, not unseal keys, when a KMS seal unseals Vault", async () => {
    vault = new FakeVault({ seal: "auto" });
    const url = await vault.start();
    const result = await bootstrapVault(options(url, { seal: "auto" }));
    assert.equal(result.initialised, true);
    assert.deepEqual(result.keys, vault.state.keys);
    assert.deepEqual(result.unsealed, []);
    assert.ok(!vault.state.log.includes("PUT /v1/sys/unseal"));
    assert.deepEqual(vault.state.revoked, [vault.state.rootToken]);
  });

  it("leaves an initialised, unsealed Vault alone and keeps the keys the stack holds", async () => {
    vault = new FakeVault({ initialized: true, sealed: false, keys: ["a2V5MQ==", "a2V5Mg=="], threshold: 2 });
    const url = await vault.start();
    const result = await bootstrapVault(options(url, { shares: 2, threshold: 2, knownKeys: ["a2V5MQ==", "a2V5Mg=="] }));
    assert.equal(result.initialised, false);
    assert.deepEqual(result.keys, ["a2V5MQ==", "a2V5Mg=="]);
    assert.ok(!vault.state.log.some((l) => l === "PUT /v1/sys/init" || l === "PUT /v1/sys/unseal"));
  });

  it("refuses an already initialised Vault when the stack holds no keys for it", async () => {
    vault = new FakeVault({ initialized: true, sealed: false, keys: ["a2V5MQ=="], threshold: 1 });
    const url = await vault.start();
    await assert.rejects(bootstrapVault(options(url)), (e: Error) => e.name === "VaultBootstrapError" && /already initialised.*holds no keys/.test(e.message));
    assert.ok(!vault.state.log.includes("PUT /v1/sys/init"));
  });

  it("unseals a Vault that came back sealed after a restart, with the keys from the first init", async () => {
    vault = new FakeVault();
    const url = await vault.start();
    const first = await bootstrapVault(options(url));
    vault.restart();
    assert.equal(vault.state.sealed, true);
    const again = await bootstrapVault(options(url, { knownKeys: first.keys }));
    assert.equal(again.initialised, false);
    assert.deepEqual(again.unsealed, ["vault-0"]);
    assert.equal(vault.state.sealed, false);
  });

  it("stops at a wrong key with a message that names the key's position but not the key", async () => {
    vault = new FakeVault({ initialized: true, sealed: true, keys: ["Z29vZDE=", "Z29vZDI="], threshold: 2 });
    const url = await vault.start();
    const wrong = "d3Jvbmcta2V5";
    await assert.rejects(
      bootstrapVault(options(url, { shares: 2, threshold: 2, knownKeys: ["Z29vZDE=", wrong] })),
      (e: Error) => /rejected unseal key 2 of 2: HTTP 400: cipher: message authentication failed/.test(e.message) && !e.message.includes(wrong),
    );
    assert.equal(vault.state.sealed, true);
  });

  it("retries a Vault that is not reachable yet a bounded number of times, then fails clearly", async () => {
    // Take a free port and close it again, so nothing listens there.
    const probe = http.createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    let sleeps = 0;
    await assert.rejects(
      bootstrapVault(options(`http://127.0.0.1:${port}`, { attempts: 4, sleep: async () => void sleeps++ })),
      (e: Error) => /vault-0 is not reachable: GET \/v1\/sys\/init failed 4 time\(s\), last with: .*ECONNREFUSED/.test(e.message),
    );
    assert.equal(sleeps, 3);
  });

  it("waits for a Vault that starts answering during the retries", async () => {
    vault = new FakeVault();
    const url = await vault.start();
    const client = nodeHttpClient({ baseUrl: url });
    let calls = 0;
    const flaky = async (req: Parameters<typeof client>[0]) => {
      calls += 1;
      // The API-server proxy answers 503 while the pod is not ready.
      return calls <= 2 ? { status: 503, json: { message: "no endpoints available" } } : client(req);
    };
    const result = await bootstrapVault(options(url, { servers: [{ name: "vault-0", client: flaky }] }));
    assert.equal(result.initialised, true);
  });

  it("reports a partial unseal when the keys it has do not reach the threshold", async () => {
    vault = new FakeVault({ initialized: true, sealed: true, keys: ["azE=", "azI=", "azM="], threshold: 3 });
    const url = await vault.start();
    await assert.rejects(
      bootstrapVault(options(url, { shares: 3, threshold: 3, knownKeys: ["azE="] })),
      (e: Error) => /still sealed: 1 of 3 key shares accepted after all 1 key\(s\)/.test(e.message),
    );
    assert.equal(vault.state.sealed, true);
  });

  it("revokes the root token even when configuration fails", async () => {
    vault = new FakeVault();
    const url = await vault.start();
    await assert.rejects(
      bootstrapVault(options(url, { configure: async () => Promise.reject(new Error("policy rejected")) })),
      /policy rejected/,
    );
    assert.deepEqual(vault.state.revoked, [vault.state.rootToken]);
  });

  it("rejects a threshold larger than the number of shares before sending anything", async () => {
    vault = new FakeVault();
    const url = await vault.start();
    await assert.rejects(bootstrapVault(options(url, { shares: 2, threshold: 3 })), /threshold 3 must be between 1 and the number of shares \(2\)/);
    assert.deepEqual(vault.state.log, []);
  });

  it("goes through the API server's pod proxy with the kubeconfig's credentials", async () => {
    vault = new FakeVault({ seal: "auto" });
    const api = new FakeApiServerProxy("api-token", { "vault-0": await vault.start() });
    try {
      const kubeconfig = api.kubeconfig(await api.start());
      const client = nodeHttpClient(podProxyTransport(parseKubeconfig(kubeconfig), "vault", "vault-0", 8200));
      const result = await bootstrapVault(options("unused", { seal: "auto", servers: [{ name: "vault-0", client }] }));
      assert.equal(result.initialised, true);
      assert.ok(api.seen.includes("PUT /api/v1/namespaces/vault/pods/https:vault-0:8200/proxy/v1/sys/init"), api.seen.join("\n"));
      assert.deepEqual(vault.state.revoked, [vault.state.rootToken]);
    } finally {
      await api.stop();
    }
  });

  describe("waiting instead of giving up, and never losing the keys", () => {
    const plan = bootstrapPlan({ mount: "pki-devices" }, DEFAULT_ACCESS);
    const planned = plan.map((c) => `${c.method} ${c.path}`);

    it("waits while the API server answers 404 (no vault-0 yet) and 400 (vault-0 without an IP), and says so", async () => {
      vault = new FakeVault({ seal: "auto" });
      const api = new FakeApiServerProxy("api-token", { "vault-0": await vault.start() });
      api.pending["vault-0"] = { missing: 3, noIp: 2 };
      const messages: string[] = [];
      try {
        const kubeconfig = api.kubeconfig(await api.start());
        const client = nodeHttpClient(podProxyTransport(parseKubeconfig(kubeconfig), "vault", "vault-0", 8200));
        const result = await bootstrapVault(
          options("unused", { seal: "auto", servers: [{ name: "vault-0", client }], attempts: 10, log: (m) => messages.push(m) }),
        );
        assert.equal(result.initialised, true);
        assert.equal(api.seen.filter((l) => l.endsWith("/proxy/v1/sys/init")).length, 7, "5 answers of the API server, then GET and PUT");
        assert.ok(messages.some((m) => m.includes('pods "vault-0" not found')), messages.join("\n"));
        assert.ok(messages.some((m) => m.includes("is not a valid IP")), messages.join("\n"));
      } finally {
        await api.stop();
      }
    });

    it("does not retry a 400 that Vault itself answered", async () => {
      vault = new FakeVault({ initialized: true, sealed: true, keys: ["Z29vZDE="], threshold: 1 });
      const url = await vault.start();
      await assert.rejects(bootstrapVault(options(url, { shares: 1, threshold: 1, knownKeys: ["YmFk"], attempts: 5 })), /rejected unseal key 1 of 1/);
      assert.equal(vault.state.log.filter((l) => l === "PUT /v1/sys/unseal").length, 1);
    });

    it("waits for raft to elect a leader after the init before it configures, and configures only the active node", async () => {
      vault = new FakeVault({ electionDelay: 6 });
      const url = await vault.start();
      const messages: string[] = [];
      const result = await bootstrapVault(options(url, { attempts: 10, configure: (root) => applyPlan(root, plan), log: (m) => messages.push(m) }));
      assert.equal(result.configured, true);
      assert.deepEqual(vault.state.configured.map((c) => `${c.method} ${c.path}`), planned);
      assert.ok(vault.state.log.filter((l) => l === "GET /v1/sys/health").length >= 5, vault.state.log.join("\n"));
      assert.ok(messages.some((m) => /waiting for raft to elect a leader \(HTTP 429: standby\)/.test(m)), messages.join("\n"));
      assert.deepEqual(vault.state.revoked, [vault.state.rootToken]);
    });

    it("retries a configuration call that meets a leaderless raft (500)", async () => {
      vault = new FakeVault();
      const url = await vault.start();
      vault.state.failOnce["/v1/sys/policies/acl/edp-configurer"] = [500, "local node not active but active cluster node not found"];
      const result = await bootstrapVault(options(url, { configure: (root) => applyPlan(root, plan) }));
      assert.equal(result.configured, true);
      assert.deepEqual(vault.state.configured.map((c) => `${c.method} ${c.path}`), planned);
    });

    it("gives up on a slow leader election after its attempts, with the keys in the error", async () => {
      vault = new FakeVault({ electionDelay: 1000 });
      const url = await vault.start();
      const error = await bootstrapVault(options(url, { attempts: 4, configure: (root) => applyPlan(root, plan) })).then(
        () => assert.fail("the bootstrap should fail"),
        (e: unknown) => e as Error,
      );
      assert.match(error.message, /did not become the active node: sys\/health answered 4 time\(s\), last with: HTTP 429: standby/);
      assert.match(error.message, /the keys are kept/);
      assert.deepEqual(keysOf(error), vault.state.keys);
      assert.equal(vault.state.configured.length, 0);
    });

    it("carries the keys in the error when configuration fails after the init, and a later run finishes with them", async () => {
      vault = new FakeVault();
      const url = await vault.start();
      vault.state.failOnce["/v1/sys/policies/acl/edp-configurer"] = [400, "invalid policy"];
      const error = await bootstrapVault(options(url, { configure: (root) => applyPlan(root, plan) })).then(
        () => assert.fail("the bootstrap should fail"),
        (e: unknown) => e as Error,
      );
      assert.match(error.message, /edp-configurer answered HTTP 400: invalid policy/);
      const keys = keysOf(error);
      assert.ok(keys, "the keys must travel with the error");
      assert.deepEqual(keys, vault.state.keys);
      const firstRoot = vault.state.rootToken;
      assert.deepEqual(vault.state.revoked, [firstRoot], "the first root token must be revoked even so");

      // The pod restarts in between: sealed again, and raft needs a while.
      vault.restart();
      vault.state.electionDelay = 3;
      const messages: string[] = [];
      const again = await bootstrapVault(
        options(url, { attempts: 8, knownKeys: keys, configured: false, configure: (root) => applyPlan(root, plan), log: (m) => messages.push(m) }),
      );
      assert.equal(again.initialised, false);
      assert.equal(again.configured, true);
      assert.equal(vault.state.log.filter((l) => l === "PUT /v1/sys/init").length, 1, "Vault must not be initialised twice");
      assert.ok(vault.state.log.includes("PUT /v1/sys/generate-root/attempt"));
      // Kubernetes auth was enabled by the first run and is not enabled again; the rest is applied.
      assert.deepEqual(vault.state.configured.map((c) => `${c.method} ${c.path}`), [...planned.slice(0, 2), ...planned.slice(1)]);
      assert.equal(vault.state.configured.filter((c) => c.path === "/v1/sys/auth/kubernetes").length, 1);
      assert.notEqual(vault.state.rootToken, firstRoot);
      assert.deepEqual(vault.state.revoked, [firstRoot, vault.state.rootToken], "the generated root token must be revoked");
      assert.ok(messages.some((m) => m.includes("finishing the bootstrap of an earlier run")), messages.join("\n"));
      assert.ok(messages.every((m) => keys.every((k) => !m.includes(k))), "no key in a progress message");
    });

    it("refuses to initialise again a Vault that lost its storage while the stack holds keys", async () => {
      vault = new FakeVault();
      const url = await vault.start();
      await assert.rejects(
        bootstrapVault(options(url, { knownKeys: ["a2V5MQ=="], configured: false })),
        /not initialised, but this stack holds keys from an earlier init/,
      );
      assert.ok(!vault.state.log.includes("PUT /v1/sys/init"));
    });
  });
});
