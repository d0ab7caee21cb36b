import assert from "node:assert/strict";
import { parseKubeconfig, podProxyTransport } from "../../components/vault/kube";
import { podNames, renderServerConfig, renderVaultValues, serverCertNames } from "../../components/vault/values";
import { mockKubeconfig } from "../../scripts/lib/mock-outputs";

describe("Vault server configuration", () => {
  const cases: [number, "shamir" | "alicloudkms"][] = [
    [1, "shamir"],
    [3, "alicloudkms"],
    [5, "alicloudkms"],
  ];
  for (const [replicas, seal] of cases) {
    it(`${replicas} replica(s), ${seal}: one retry_join per pod over TLS${seal === "alicloudkms" ? ", KMS seal on the VPC endpoint" : ", no seal stanza"}`, () => {
      const hcl = renderServerConfig(replicas, { kind: seal, region: "eu-central-1", kmsKeyId: "key-abc" });
      const joins = [...hcl.matchAll(/leader_api_addr = "([^"]+)"/g)].map((m) => m[1]);
      assert.deepEqual(joins, podNames(replicas).map((p) => `https://${p}.vault-internal:8200`));
      assert.equal((hcl.match(/leader_ca_cert_file = "\/vault\/userconfig\/vault-tls\/ca.crt"/g) ?? []).length, replicas);
      assert.equal(hcl.includes('seal "alicloudkms"'), seal === "alicloudkms");
      if (seal === "alicloudkms") {
        assert.match(hcl, /domain = "kms-vpc\.eu-central-1\.aliyuncs\.com"/);
        assert.match(hcl, /kms_key_id = "key-abc"/);
      }
      assert.doesNotMatch(hcl, /tls_disable/);
    });
  }

  it("refuses a KMS seal without a key id", () => {
    assert.throws(() => renderServerConfig(3, { kind: "alicloudkms", region: "eu-central-1" }), /needs a KMS key id/);
  });

  it("quotes values so a key id cannot break out of the HCL string", () => {
    const hcl = renderServerConfig(1, { kind: "alicloudkms", region: "eu-central-1", kmsKeyId: 'key"\n}\nui = true' });
    assert.match(hcl, /kms_key_id = "key\\"\\n}\\nui = true"/);
    assert.equal((hcl.match(/^ui = /gm) ?? []).length, 1);
  });

  const budgets: [number, number][] = [
    [1, 1],
    [3, 1],
    [5, 2],
    [7, 3],
  ];
  for (const [replicas, maxUnavailable] of budgets) {
    it(`lets at most ${maxUnavailable} of ${replicas} pods be disrupted, keeping the raft quorum`, () => {
      const v = renderVaultValues({ replicas, storageGb: 10, image: "hashicorp/vault:1.19.0", seal: { kind: "shamir", region: "eu-central-1" } }) as {
        server: { ha: { disruptionBudget: { enabled: boolean; maxUnavailable: number } } };
      };
      assert.equal(v.server.ha.disruptionBudget.maxUnavailable, maxUnavailable);
      assert.equal(v.server.ha.disruptionBudget.enabled, replicas > 1, "one replica gets no PDB: the chart would render maxUnavailable 0");
    });
  }

  it("covers every pod and service name in the server certificate", () => {
    const names = serverCertNames("vault");
    for (const n of ["*.vault-internal", "vault-active.vault.svc", "vault.vault.svc.cluster.local", "localhost"]) assert.ok(names.includes(n), n);
  });
});

describe("Vault bootstrap transport", () => {
  it("reads the current context of a kubeconfig with a token", () => {
    const a = parseKubeconfig(mockKubeconfig("edp-testing-central"));
    assert.match(a.server, /^https:\/\/203\.0\.113\.\d+:6443$/);
    assert.equal(a.ca, "-----BEGIN CERTIFICATE-----\nMOCK\n-----END CERTIFICATE-----\n");
    assert.match(a.token ?? "", /^mock-/);
  });

  it("reads client certificates and builds the pod proxy URL", () => {
    const b64 = (s: string) => Buffer.from(s).toString("base64");
    const text = [
      "apiVersion: v1",
      `clusters: [{name: c, cluster: {server: 'https://10.0.0.1:6443/', certificate-authority-data: ${b64("CA")}}}]`,
      `users: [{name: u, user: {client-certificate-data: ${b64("CERT")}, client-key-data: ${b64("KEY")}}}]`,
      "contexts: [{name: x, context: {cluster: c, user: u}}]",
      "current-context: x",
    ].join("\n");
    const a = parseKubeconfig(text);
    assert.deepEqual(a, { server: "https://10.0.0.1:6443", ca: "CA", cert: "CERT", key: "KEY", token: undefined });
    assert.equal(podProxyTransport(a, "vault", "vault-0", 8200).baseUrl, "https://10.0.0.1:6443/api/v1/namespaces/vault/pods/https:vault-0:8200/proxy");
  });

  const bad: [string, string, RegExp][] = [
    ["an unknown current context", "current-context: nope\ncontexts: []", /current context "nope" is not defined/],
    [
      "exec credentials",
      "clusters: [{name: c, cluster: {server: 'https://k'}}]\nusers: [{name: u, user: {exec: {command: aliyun}}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x",
      /exec and auth-provider plugins are not supported/,
    ],
    [
      "an unverified API server",
      "clusters: [{name: c, cluster: {server: 'https://k', insecure-skip-tls-verify: true}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x",
      /insecure-skip-tls-verify/,
    ],
  ];
  for (const [what, text, message] of bad) {
    it(`rejects a kubeconfig with ${what}`, () => {
      assert.throws(() => parseKubeconfig(text), message);
    });
  }
});
