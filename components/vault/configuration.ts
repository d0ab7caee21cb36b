/**
 * Vault's configuration as code, rendered by pure functions: the policies, the bootstrap plan
 * that runs once with the root token, the configuration job's script (device PKI, CRL, tidy,
 * Kubernetes auth roles) and the snapshot job's scripts.
 */
import type { VaultSession } from "./bootstrap";
import { VAULT } from "./values";

export interface PkiSettings {
  /** Mount path of the device PKI engine. */
  mount: string;
  /** Role the onboarding service signs device CSRs with. */
  role: string;
  deviceCertTtlDays: number;
  crlExpiryHours: number;
  /** E3 downloads the CRL this often; Vault rebuilds it once it is older than that. */
  crlRefreshMinutes: number;
  /** Public URLs written into every certificate (AIA and CRL distribution point). */
  issuingUrl: string;
  crlUrl: string;
  /** Name the device CA's issuer gets in Vault; derived from its certificate, so a new CA is imported as a new issuer. */
  issuerName: string;
}

export interface AccessSettings {
  /** Kubernetes auth mount. */
  authMount: string;
  onboarding: { namespace: string; serviceAccount: string };
  configurer: { namespace: string; serviceAccount: string };
  snapshot: { namespace: string; serviceAccount: string };
}

export const DEFAULT_ACCESS: AccessSettings = {
  authMount: "kubernetes",
  onboarding: { namespace: "edp", serviceAccount: "onboarding" },
  configurer: { namespace: VAULT.namespace, serviceAccount: "vault-configurer" },
  snapshot: { namespace: VAULT.namespace, serviceAccount: "vault-snapshot" },
};

export const POLICY_NAMES = { configurer: "edp-configurer", onboarding: "edp-onboarding", snapshot: "edp-snapshot" } as const;

const path = (p: string, caps: string[]) => `path "${p}" {\n  capabilities = [${caps.map((c) => `"${c}"`).join(", ")}]\n}\n`;

/** The onboarding service may sign CSRs with the device role, and nothing else. */
export function onboardingPolicy(pki: Pick<PkiSettings, "mount" | "role">): string {
  return path(`${pki.mount}/sign/${pki.role}`, ["update"]);
}

/** The snapshot job may read a raft snapshot, and nothing else. */
export function snapshotPolicy(): string {
  return path("sys/storage/raft/snapshot", ["read"]);
}

/**
 * What the configuration job may change: the device PKI's configuration, roles and issuers, and
 * the two policies and roles it manages. It cannot sign or issue certificates, read other
 * mounts, or change its own policy (that needs a root token generated with the recovery keys).
 */
export function configurerPolicy(pki: Pick<PkiSettings, "mount">, access: AccessSettings): string {
  const m = pki.mount;
  return [
    path("sys/mounts", ["read"]),
    path(`sys/mounts/${m}`, ["create", "read", "update"]),
    path(`sys/mounts/${m}/tune`, ["read", "update"]),
    path(`${m}/config/*`, ["create", "read", "update"]),
    path(`${m}/roles/*`, ["create", "read", "update", "list"]),
    path(`${m}/issuers`, ["list"]),
    path(`${m}/issuers/import/bundle`, ["update"]),
    path(`${m}/issuer/*`, ["read", "update"]),
    path(`${m}/cert/ca`, ["read"]),
    path(`sys/policies/acl/${POLICY_NAMES.onboarding}`, ["create", "read", "update"]),
    path(`sys/policies/acl/${POLICY_NAMES.snapshot}`, ["create", "read", "update"]),
    path(`auth/${access.authMount}/role/${POLICY_NAMES.onboarding}`, ["create", "read", "update"]),
    path(`auth/${access.authMount}/role/${POLICY_NAMES.snapshot}`, ["create", "read", "update"]),
  ].join("\n");
}

/** One API call of the bootstrap plan. */
export interface PlannedCall {
  method: "POST" | "PUT";
  path: string;
  body: Record<string, unknown>;
  /**
   * Skip the call when this listing already names the key: enabling a mount is the one call
   * Vault refuses to repeat ("path is already in use"), and a plan may run again after a failure.
   */
  unlessListed?: { path: string; key: string };
}

/**
 * What runs once with the root token: Kubernetes auth, and the configurer's policy and role.
 * Everything else is configured by the in-cluster job, which logs in as the configurer.
 */
export function bootstrapPlan(pki: Pick<PkiSettings, "mount">, access: AccessSettings): PlannedCall[] {
  const c = access.configurer;
  return [
    {
      method: "POST",
      path: `/v1/sys/auth/${access.authMount}`,
      body: { type: "kubernetes", description: "Service accounts of the central cluster" },
      unlessListed: { path: "/v1/sys/auth", key: `${access.authMount}/` },
    },
    // In a pod, Vault reviews tokens with its own service account and the cluster CA.
    { method: "POST", path: `/v1/auth/${access.authMount}/config`, body: { kubernetes_host: "https://kubernetes.default.svc" } },
    { method: "PUT", path: `/v1/sys/policies/acl/${POLICY_NAMES.configurer}`, body: { policy: configurerPolicy(pki, access) } },
    {
      method: "POST",
      path: `/v1/auth/${access.authMount}/role/${POLICY_NAMES.configurer}`,
      body: {
        bound_service_account_names: [c.serviceAccount],
        bound_service_account_namespaces: [c.namespace],
        token_policies: [POLICY_NAMES.configurer],
        token_ttl: "15m",
        token_max_ttl: "30m",
      },
    },
  ];
}

/** Runs a bootstrap plan with a session (the root token's); safe to run again after a partial run. */
export async function applyPlan(session: VaultSession, plan: PlannedCall[]): Promise<void> {
  for (const call of plan) {
    if (call.unlessListed) {
      // Vault lists mounts both at the top level and under `data`.
      const listing = (await session.request("GET", call.unlessListed.path)) as { data?: Record<string, unknown> } & Record<string, unknown>;
      if (call.unlessListed.key in listing || call.unlessListed.key in (listing.data ?? {})) continue;
    }
    await session.request(call.method, call.path, call.body);
  }
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Shell lines that log in with the pod's service account token and revoke the token on exit. */
function loginLines(authMount: string, role: string): string[] {
  return [
    `VAULT_TOKEN="$(vault write -field=token ${q(`auth/${authMount}/login`)} role=${q(role)} jwt=@/var/run/secrets/kubernetes.io/serviceaccount/token)"`,
    "export VAULT_TOKEN",
    "trap 'vault token revoke -self >/dev/null 2>&1 || true' EXIT",
  ];
}

export interface ConfigureScriptInput {
  pki: PkiSettings;
  access: AccessSettings;
  /** Vault address and CA file inside the job's pod. */
  address: string;
  caFile: string;
  /** PEM bundle (certificate and key) of the device CA, mounted from a Secret. */
  caBundleFile: string;
  /** Files holding the onboarding and snapshot policies (from the job's ConfigMap). */
  onboardingPolicyFile: string;
  snapshotPolicyFile: string;
}

/** The configuration job's script (POSIX sh, Vault CLI). Idempotent: it runs again on every change. */
export function renderConfigureScript(i: ConfigureScriptInput): string {
  const { pki, access } = i;
  const m = pki.mount;
  const ttlHours = pki.deviceCertTtlDays * 24;
  // Vault rebuilds the CRL when fewer than `grace` minutes are left before it expires, so a CRL
  // is rebuilt once it is older than one E3 refresh period; E3 never holds one close to expiry.
  const graceMinutes = Math.max(1, pki.crlExpiryHours * 60 - pki.crlRefreshMinutes);
  const tidyBufferHours = Math.max(72, pki.crlExpiryHours);
  const lines = [
    "#!/bin/sh",
    "set -eu",
    `export VAULT_ADDR=${q(i.address)}`,
    `export VAULT_CACERT=${q(i.caFile)}`,
    ...loginLines(access.authMount, POLICY_NAMES.configurer),
    "",
    "# Device PKI engine; certificates of the CA and the devices may live up to ten years.",
    `if ! vault secrets list -format=json | grep -q ${q(`"${m}/"`)}; then`,
    `  vault secrets enable -path=${q(m)} -description='Edge device certificates' pki`,
    "fi",
    `vault secrets tune -max-lease-ttl=87600h ${q(m)}`,
    "",
    "# The device CA: imported once per certificate, then made the default issuer.",
    `if ! vault read ${q(`${m}/issuer/${pki.issuerName}`)} >/dev/null 2>&1; then`,
    `  imported="$(vault write -field=imported_issuers ${q(`${m}/issuers/import/bundle`)} pem_bundle=@${q(i.caBundleFile)} | tr -d '[]')"`,
    `  issuer="$(printf '%s\\n' "$imported" | cut -d' ' -f1)"`,
    '  if [ -z "$issuer" ]; then echo "the device CA bundle was not imported (already present under another name?)" >&2; exit 1; fi',
    `  vault write ${q(`${m}/issuer/`)}"$issuer" issuer_name=${q(pki.issuerName)}`,
    "fi",
    `vault write ${q(`${m}/config/issuers`)} default=${q(pki.issuerName)}`,
    "",
    "# Device certificates: client auth only, stored so that they can be revoked.",
    `vault write ${q(`${m}/roles/${pki.role}`)} \\`,
    `  issuer_ref=${q(pki.issuerName)} ttl=${ttlHours}h max_ttl=${ttlHours}h no_store=false \\`,
    "  allow_any_name=true enforce_hostnames=false allow_ip_sans=false require_cn=true \\",
    "  server_flag=false client_flag=true code_signing_flag=false key_type=any",
    "",
    "# CRL: E3 enforces it, so it must never expire while E3 still uses it.",
    `vault write ${q(`${m}/config/crl`)} expiry=${pki.crlExpiryHours}h auto_rebuild=true auto_rebuild_grace_period=${graceMinutes}m disable=false`,
    `vault write ${q(`${m}/config/urls`)} issuing_certificates=${q(pki.issuingUrl)} crl_distribution_points=${q(pki.crlUrl)}`,
    `vault write ${q(`${m}/config/auto-tidy`)} enabled=true interval_duration=12h tidy_cert_store=true tidy_revoked_certs=true \\`,
    `  tidy_revoked_cert_issuer_associations=true safety_buffer=${tidyBufferHours}h`,
    "",
    "# Who may use it: the onboarding service signs device CSRs; the snapshot job reads raft snapshots.",
    `vault policy write ${q(POLICY_NAMES.onboarding)} ${q(i.onboardingPolicyFile)}`,
    `vault write ${q(`auth/${access.authMount}/role/${POLICY_NAMES.onboarding}`)} \\`,
    `  bound_service_account_names=${q(access.onboarding.serviceAccount)} bound_service_account_namespaces=${q(access.onboarding.namespace)} \\`,
    `  token_policies=${q(POLICY_NAMES.onboarding)} token_ttl=1h token_max_ttl=4h`,
    `vault policy write ${q(POLICY_NAMES.snapshot)} ${q(i.snapshotPolicyFile)}`,
    `vault write ${q(`auth/${access.authMount}/role/${POLICY_NAMES.snapshot}`)} \\`,
    `  bound_service_account_names=${q(access.snapshot.serviceAccount)} bound_service_account_namespaces=${q(access.snapshot.namespace)} \\`,
    `  token_policies=${q(POLICY_NAMES.snapshot)} token_ttl=10m token_max_ttl=30m`,
    'echo "vault configuration applied"',
  ];
  return `${lines.join("\n")}\n`;
}

export interface SnapshotScriptInput {
  address: string;
  caFile: string;
  authMount: string;
  /** Directory shared by the two containers of the snapshot pod. */
  dir: string;
  /** Bucket and object prefix (<stage>/) the snapshots go to. */
  bucket: string;
  prefix: string;
}

/** First container (Vault CLI): writes a raft snapshot into the shared directory. */
export function renderSnapshotSaveScript(i: SnapshotScriptInput): string {
  return `${[
    "#!/bin/sh",
    "set -eu",
    `export VAULT_ADDR=${q(i.address)}`,
    `export VAULT_CACERT=${q(i.caFile)}`,
    ...loginLines(i.authMount, POLICY_NAMES.snapshot),
    'name="vault-raft-$(date -u +%Y%m%dT%H%M%SZ).snap"',
    `vault operator raft snapshot save ${q(i.dir)}/"$name"`,
    // A zero-byte file would upload fine and restore nothing.
    `test -s ${q(i.dir)}/"$name"`,
    `echo "$name" > ${q(`${i.dir}/NAME`)}`,
  ].join("\n")}\n`;
}

/** Second container (rclone): uploads the snapshot to <bucket>/<prefix>; the remote "oss" is configured by environment. */
export function renderSnapshotUploadScript(i: SnapshotScriptInput): string {
  return `${[
    "#!/bin/sh",
    "set -eu",
    `name="$(cat ${q(`${i.dir}/NAME`)})"`,
    `rclone copyto --s3-no-check-bucket ${q(i.dir)}/"$name" oss:${q(`${i.bucket}/${i.prefix}`)}"$name"`,
    `echo "uploaded $name to oss://${i.bucket}/${i.prefix}"`,
  ].join("\n")}\n`;
}

/** Environment that configures rclone's "oss" remote (Alibaba OSS through its S3 API). */
export function rcloneEnvironment(endpoint: string): Record<string, string> {
  return {
    RCLONE_CONFIG_OSS_TYPE: "s3",
    RCLONE_CONFIG_OSS_PROVIDER: "Alibaba",
    RCLONE_CONFIG_OSS_ENDPOINT: endpoint,
    RCLONE_CONFIG_OSS_ACL: "private",
    RCLONE_CONFIG_OSS_ENV_AUTH: "false",
  };
}
