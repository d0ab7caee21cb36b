/**
 * The Vault configuration and snapshot scripts, run for real with /bin/sh against stand-ins for
 * the `vault` and `rclone` CLIs that record every call (no Vault binary is packaged for Debian).
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  configurerPolicy,
  DEFAULT_ACCESS,
  onboardingPolicy,
  type PkiSettings,
  renderConfigureScript,
  renderSnapshotSaveScript,
  renderSnapshotUploadScript,
  snapshotPolicy,
} from "../../components/vault/configuration";

const PKI: PkiSettings = {
  mount: "pki-devices",
  role: "device",
  deviceCertTtlDays: 365,
  crlExpiryHours: 72,
  crlRefreshMinutes: 15,
  issuingUrl: "https://edp-service.api.staging.example-edp.internal/vault/v1/pki-devices/ca",
  crlUrl: "https://edp-service.api.staging.example-edp.internal/vault/v1/pki-devices/crl",
  issuerName: "device-ca-0123456789ab",
};

/** A `vault` stand-in: logs its arguments one call per line; answers the reads the scripts make. */
const FAKE_VAULT = `#!/bin/sh
printf '%s\\n' "$*" >> "$FAKE_LOG"
case "$*" in
  "write -field=token auth/kubernetes/login"*) [ -n "\${FAKE_LOGIN_FAILS:-}" ] && { echo "permission denied" >&2; exit 2; }; echo "hvs.fake-job-token" ;;
  "secrets list -format=json") printf '{%s}\\n' "\${FAKE_MOUNTS:-}" ;;
  "read pki-devices/issuer/"*) [ -n "\${FAKE_ISSUER_EXISTS:-}" ] || exit 2 ;;
  "write -field=imported_issuers"*) echo "[3f1c0c2e-aaaa-bbbb-cccc-000000000001]" ;;
  "operator raft snapshot save "*) printf 'raft-snapshot-bytes' > "$5" ;;
esac
exit 0
`;
const FAKE_RCLONE = `#!/bin/sh
printf 'rclone %s\\n' "$*" >> "$FAKE_LOG"
`;

function sandbox() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "edp-vault-sh-"));
  const bin = path.join(dir, "bin");
  fs.mkdirSync(bin);
  fs.writeFileSync(path.join(bin, "vault"), FAKE_VAULT, { mode: 0o755 });
  fs.writeFileSync(path.join(bin, "rclone"), FAKE_RCLONE, { mode: 0o755 });
  const log = path.join(dir, "calls.log");
  const run = (script: string, env: Record<string, string> = {}) => {
    const file = path.join(dir, `script-${Math.random().toString(36).slice(2)}.sh`);
    fs.writeFileSync(file, script);
    const r = spawnSync("/bin/sh", [file], { env: { PATH: `${bin}:/usr/bin:/bin`, FAKE_LOG: log, ...env }, encoding: "utf8" });
    const calls = fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n") : [];
    fs.rmSync(log, { force: true });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, calls };
  };
  return { dir, run, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

const configure = (pki: PkiSettings = PKI) =>
  renderConfigureScript({
    pki,
    access: DEFAULT_ACCESS,
    address: "https://vault-active.vault.svc:8200",
    caFile: "/vault/ca/ca.crt",
    caBundleFile: "/vault/device-ca/bundle.pem",
    onboardingPolicyFile: "/vault/config/onboarding.hcl",
    snapshotPolicyFile: "/vault/config/snapshot.hcl",
  });

describe("Vault configuration job script", () => {
  let box: ReturnType<typeof sandbox>;
  beforeEach(() => {
    box = sandbox();
  });
  afterEach(() => box.cleanup());

  it("is valid POSIX sh", () => {
    execFileSync("/bin/sh", ["-n", "-c", configure()]);
  });

  it("on a fresh Vault enables the PKI, imports the CA and configures role, CRL, URLs, tidy and auth", () => {
    const r = box.run(configure());
    assert.equal(r.status, 0, r.stderr);
    const c = r.calls;
    assert.equal(c[0], "write -field=token auth/kubernetes/login role=edp-configurer jwt=@/var/run/secrets/kubernetes.io/serviceaccount/token");
    assert.ok(c.includes("secrets enable -path=pki-devices -description=Edge device certificates pki"), c.join("\n"));
    assert.ok(c.includes("write -field=imported_issuers pki-devices/issuers/import/bundle pem_bundle=@/vault/device-ca/bundle.pem"));
    assert.ok(c.includes("write pki-devices/issuer/3f1c0c2e-aaaa-bbbb-cccc-000000000001 issuer_name=device-ca-0123456789ab"));
    assert.ok(c.includes("write pki-devices/config/issuers default=device-ca-0123456789ab"));
    const role = c.find((l) => l.startsWith("write pki-devices/roles/device "));
    assert.match(role ?? "", / ttl=8760h max_ttl=8760h no_store=false /);
    assert.match(role ?? "", / client_flag=true /);
    assert.match(role ?? "", / server_flag=false /);
    // 72 h expiry; rebuilt once older than E3's 15-minute refresh: grace = 72*60 - 15 minutes.
    assert.ok(c.includes("write pki-devices/config/crl expiry=72h auto_rebuild=true auto_rebuild_grace_period=4305m disable=false"));
    assert.ok(c.includes(`write pki-devices/config/urls issuing_certificates=${PKI.issuingUrl} crl_distribution_points=${PKI.crlUrl}`));
    assert.ok(c.some((l) => l.startsWith("write pki-devices/config/auto-tidy enabled=true ") && l.includes("tidy_revoked_certs=true")));
    assert.ok(c.includes("policy write edp-onboarding /vault/config/onboarding.hcl"));
    assert.ok(c.some((l) => l.startsWith("write auth/kubernetes/role/edp-onboarding bound_service_account_names=onboarding bound_service_account_namespaces=edp token_policies=edp-onboarding")));
    assert.ok(c.some((l) => l.startsWith("write auth/kubernetes/role/edp-snapshot bound_service_account_names=vault-snapshot bound_service_account_namespaces=vault")));
    assert.equal(c.at(-1), "token revoke -self", "the job's token must be revoked on exit");
  });

  it("on a configured Vault neither enables the mount again nor re-imports the CA", () => {
    const r = box.run(configure(), { FAKE_MOUNTS: '"pki-devices/": {"type": "pki"}', FAKE_ISSUER_EXISTS: "1" });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(!r.calls.some((l) => l.startsWith("secrets enable")));
    assert.ok(!r.calls.some((l) => l.includes("issuers/import")));
    assert.ok(r.calls.some((l) => l.startsWith("write pki-devices/roles/device ")), "the role is rewritten on every run");
  });

  it("stops at a failed login before changing anything", () => {
    const r = box.run(configure(), { FAKE_LOGIN_FAILS: "1" });
    assert.notEqual(r.status, 0);
    assert.deepEqual(
      r.calls.filter((l) => !l.startsWith("token revoke")),
      ["write -field=token auth/kubernetes/login role=edp-configurer jwt=@/var/run/secrets/kubernetes.io/serviceaccount/token"],
    );
  });

  const graceCases: [number, number, string][] = [
    [72, 15, "4305m"],
    [24, 30, "1410m"],
    [1, 60, "1m"],
  ];
  for (const [expiry, refresh, grace] of graceCases) {
    it(`rebuilds a ${expiry} h CRL once it is older than a ${refresh}-minute E3 refresh (grace ${grace})`, () => {
      assert.match(configure({ ...PKI, crlExpiryHours: expiry, crlRefreshMinutes: refresh }), new RegExp(`expiry=${expiry}h auto_rebuild=true auto_rebuild_grace_period=${grace} `));
    });
  }
});

describe("Vault policies", () => {
  it("let the onboarding service sign with the device role and nothing else", () => {
    assert.equal(onboardingPolicy(PKI), 'path "pki-devices/sign/device" {\n  capabilities = ["update"]\n}\n');
  });
  it("let the snapshot job read raft snapshots only", () => {
    assert.equal(snapshotPolicy(), 'path "sys/storage/raft/snapshot" {\n  capabilities = ["read"]\n}\n');
  });
  it("do not let the configurer sign or issue certificates or change its own policy", () => {
    const p = configurerPolicy(PKI, DEFAULT_ACCESS);
    for (const forbidden of ["pki-devices/sign/", "pki-devices/sign-verbatim", "pki-devices/issue/", "pki-devices/root", "pki-devices/*\"", "sys/policies/acl/edp-configurer", "sys/*", "*\""]) {
      assert.ok(!p.includes(`path "${forbidden}`), `configurer policy grants ${forbidden}`);
    }
    assert.match(p, /path "pki-devices\/roles\/\*"/);
  });
});

describe("Vault snapshot scripts", () => {
  let box: ReturnType<typeof sandbox>;
  beforeEach(() => {
    box = sandbox();
  });
  afterEach(() => box.cleanup());

  it("save a raft snapshot with the snapshot role and upload it under <bucket>/<stage>/", () => {
    const dir = path.join(box.dir, "snapshots");
    fs.mkdirSync(dir);
    const input = { address: "https://vault-active.vault.svc:8200", caFile: "/ca.crt", authMount: "kubernetes", dir, bucket: "example-edp-staging-vault-snapshots", prefix: "staging/" };
    const save = box.run(renderSnapshotSaveScript(input));
    assert.equal(save.status, 0, save.stderr);
    assert.equal(save.calls[0], "write -field=token auth/kubernetes/login role=edp-snapshot jwt=@/var/run/secrets/kubernetes.io/serviceaccount/token");
    const name = fs.readFileSync(path.join(dir, "NAME"), "utf8").trim();
    assert.match(name, /^vault-raft-\d{8}T\d{6}Z\.snap$/);
    assert.equal(fs.readFileSync(path.join(dir, name), "utf8"), "raft-snapshot-bytes");
    const upload = box.run(renderSnapshotUploadScript(input));
    assert.equal(upload.status, 0, upload.stderr);
    assert.deepEqual(upload.calls, [`rclone copyto --s3-no-check-bucket ${dir}/${name} oss:example-edp-staging-vault-snapshots/staging/${name}`]);
  });

  it("fail when Vault wrote an empty snapshot", () => {
    const dir = path.join(box.dir, "snapshots");
    fs.mkdirSync(dir);
    const input = { address: "https://x:8200", caFile: "/ca.crt", authMount: "kubernetes", dir, bucket: "b", prefix: "testing/" };
    const script = renderSnapshotSaveScript(input).replace("set -eu", "set -eu\nvault() { printf '%s\\n' \"$*\" >> \"$FAKE_LOG\"; case \"$1 $2\" in \"operator raft\") : > \"$5\" ;; write*) echo t ;; esac; }");
    const r = box.run(script);
    assert.notEqual(r.status, 0);
    assert.ok(!fs.existsSync(path.join(dir, "NAME")));
  });
});
