/**
 * The secrets table of the manual (§3.2.2) as data: each Kubernetes Secret the platform needs,
 * where it lives, its type and keys, and which of the manual's environment variables fed each key.
 * The manual's create-secrets.sh read those variables; here PlatformSecrets fills every key from
 * a generated value, a database password handed over by the PostgreSQL component, or secret
 * config. Tests check the program creates exactly these Secrets with exactly these keys.
 */
import { DDM_GPG_VARIABLES, DDM_SSH_VARIABLES } from "../../config";
import type { NamespaceRole } from "../namespaces";

/** Where a Secret lives: one of this repository's platform namespaces, or PostgreSQL's or Vault's. */
export type SecretHome = NamespaceRole | "postgres" | "vault";

export interface SecretKeySpec {
  /** Key inside the Secret. */
  readonly key: string;
  /** The manual's environment variable this key replaces, if it had one. */
  readonly envVar?: string;
}

export interface SecretSpec {
  readonly name: string;
  readonly home: SecretHome;
  readonly type: "Opaque" | "kubernetes.io/basic-auth" | "kubernetes.io/tls" | "kubernetes.io/dockerconfigjson";
  readonly keys: readonly SecretKeySpec[];
  /** Whether the manual's table lists it (others are this platform's additions). */
  readonly manual: boolean;
}

const ddmKeys = [...DDM_SSH_VARIABLES, ...DDM_GPG_VARIABLES].map((v) => ({ key: v, envVar: v }) as const);

export const SECRET_TABLE = [
  {
    name: "grafana-credentials",
    home: "monitoring",
    type: "Opaque",
    manual: true,
    // The chart reads admin-user/admin-password; the OAuth client secret is Grafana's side of its Keycloak client.
    keys: [{ key: "admin-user" }, { key: "admin-password", envVar: "GRAFANA_ADMIN_PASSWORD" }, { key: "oauth-client-secret" }],
  },
  {
    name: "credential-keycloak",
    home: "keycloak",
    type: "Opaque",
    manual: true,
    // Key names of the Keycloak operator that created this Secret in the manual's cluster.
    keys: [{ key: "ADMIN_USERNAME" }, { key: "ADMIN_PASSWORD", envVar: "KEYCLOAK_ADMIN_PASSWORD" }],
  },
  {
    name: "keycloak-db-secret",
    home: "keycloak",
    type: "Opaque",
    manual: true,
    keys: [
      { key: "POSTGRES_EXTERNAL_ADDRESS" },
      { key: "POSTGRES_EXTERNAL_PORT" },
      { key: "POSTGRES_DATABASE" },
      { key: "POSTGRES_USERNAME" },
      { key: "POSTGRES_PASSWORD", envVar: "KEYCLOAK_POSTGRES_PASSWORD" },
    ],
  },
  {
    name: "postgres-admin-credentials",
    home: "postgres",
    type: "kubernetes.io/basic-auth",
    manual: true,
    keys: [{ key: "username" }, { key: "password", envVar: "POSTGRES_ADMIN_PASSWORD" }],
  },
  {
    name: "pgbouncer-admin-credentials",
    home: "postgres",
    type: "kubernetes.io/basic-auth",
    manual: true,
    keys: [{ key: "username" }, { key: "password", envVar: "POSTGRES_ADMIN_PASSWORD" }],
  },
  {
    name: "vault-db-credentials",
    home: "vault",
    type: "kubernetes.io/basic-auth",
    manual: true,
    keys: [{ key: "username" }, { key: "password", envVar: "VAULT_DB_PASSWORD" }],
  },
  {
    name: "issuer-ca",
    home: "certManager",
    type: "kubernetes.io/tls",
    manual: true,
    // cert-manager's CA issuer reads exactly these two keys.
    keys: [
      { key: "tls.crt", envVar: "ISSUER_CA_CRT" },
      { key: "tls.key", envVar: "ISSUER_CA_TLS_KEY" },
    ],
  },
  { name: "datadirectormangement-files", home: "edp", type: "Opaque", manual: true, keys: ddmKeys },
  {
    name: "loki-basic-auth",
    home: "loki",
    type: "Opaque",
    manual: true,
    // ingress-nginx reads an htpasswd file from the key "auth".
    keys: [{ key: "auth", envVar: "LOKI_INGRESS_BASIC_AUTH" }],
  },
  {
    name: "docker-pull",
    home: "edp",
    type: "kubernetes.io/dockerconfigjson",
    manual: true,
    keys: [{ key: ".dockerconfigjson", envVar: "DOCKER_PULL_JSON" }],
  },
  {
    // Values of the realm's ${...} references; the resolved realm is in the Secret keycloak-realm (components/identity).
    name: "keycloak-realm-secrets",
    home: "keycloak",
    type: "Opaque",
    manual: false,
    keys: [{ key: "GRAFANA_CLIENT_SECRET" }, { key: "EDP_ADMIN_PASSWORD" }],
  },
] as const satisfies readonly SecretSpec[];

export type SecretTableEntry = (typeof SECRET_TABLE)[number];
export type SecretName = SecretTableEntry["name"];

/** The manual's environment-variable table (§3.2.2): variable → the Secrets it went into. */
export const MANUAL_SECRET_VARIABLES: Readonly<Record<string, readonly string[]>> = {
  GRAFANA_ADMIN_PASSWORD: ["grafana-credentials"],
  KEYCLOAK_ADMIN_PASSWORD: ["credential-keycloak"],
  KEYCLOAK_POSTGRES_PASSWORD: ["keycloak-db-secret"],
  POSTGRES_ADMIN_PASSWORD: ["postgres-admin-credentials", "pgbouncer-admin-credentials"],
  VAULT_DB_PASSWORD: ["vault-db-credentials"],
  ISSUER_CA_CRT: ["issuer-ca"],
  ISSUER_CA_TLS_KEY: ["issuer-ca"],
  DDM_SSH_PRIVATE: ["datadirectormangement-files"],
  DDM_SSH_PUB: ["datadirectormangement-files"],
  LOKI_INGRESS_BASIC_AUTH: ["loki-basic-auth"],
  DOCKER_PULL_JSON: ["docker-pull"],
  DDM_REV: ["datadirectormangement-files"],
  DDM_KEY1: ["datadirectormangement-files"],
  DDM_KEY2: ["datadirectormangement-files"],
  DDM_GPG_CONF: ["datadirectormangement-files"],
  DDM_PASSPHRASE: ["datadirectormangement-files"],
  DDM_PUBRING: ["datadirectormangement-files"],
  DDM_TRUSTDB: ["datadirectormangement-files"],
};

/** Looks up a table entry by name (for components that mount or reference a Secret). */
export function secretSpec<N extends SecretName>(name: N): Extract<SecretTableEntry, { name: N }> {
  const found = SECRET_TABLE.find((s) => s.name === name);
  if (!found) throw new Error(`no secret ${name} in the secrets table`);
  return found as Extract<SecretTableEntry, { name: N }>;
}

/**
 * Problems of a table against the manual: each variable must feed a key of each Secret the manual
 * names for it, and each Secret name must be unique per home. Empty when complete.
 */
export function tableProblems(table: readonly SecretSpec[], manual: Readonly<Record<string, readonly string[]>>): string[] {
  const out: string[] = [];
  for (const [variable, secrets] of Object.entries(manual)) {
    for (const secret of secrets) {
      const entry = table.find((s) => s.name === secret);
      if (!entry) out.push(`${variable}: secret ${secret} is not in the table`);
      else if (!entry.keys.some((k) => k.envVar === variable)) out.push(`${variable}: no key of ${secret} is fed by it`);
    }
  }
  const seen = new Set<string>();
  for (const s of table) {
    const id = `${s.home}/${s.name}`;
    if (seen.has(id)) out.push(`${id} is listed twice`);
    seen.add(id);
    const keys = new Set<string>();
    for (const k of s.keys) {
      if (keys.has(k.key)) out.push(`${id}: key ${k.key} is listed twice`);
      keys.add(k.key);
    }
  }
  return out;
}
