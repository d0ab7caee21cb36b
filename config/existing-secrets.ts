/**
 * Secrets of the running platform that the program takes over instead of generating new ones
 * (README, "Adopting the running platform"): the passwords of the manual's secrets table
 * (§3.2.2) in `edp:platformPasswords`, and Vault's unseal or recovery keys in `edp:vaultKeys`.
 * Checked before anything is registered; messages name the key, never the value.
 */
import { passwordProblem } from "../components/secrets/passwords";
import type { ConfigProblem } from "./load";

/** The manual's variables a stage may hand over, and where each goes. */
export const PLATFORM_PASSWORDS = {
  GRAFANA_ADMIN_PASSWORD: "grafana-credentials admin-password",
  KEYCLOAK_ADMIN_PASSWORD: "credential-keycloak ADMIN_PASSWORD",
  KEYCLOAK_POSTGRES_PASSWORD: "keycloak-db-secret POSTGRES_PASSWORD and the keycloak database role",
  POSTGRES_ADMIN_PASSWORD: "postgres-admin-credentials, pgbouncer-admin-credentials and the postgres superuser",
  VAULT_DB_PASSWORD: "vault-db-credentials and the vault database role",
  LOKI_INGRESS_BASIC_AUTH: "loki-basic-auth auth: the htpasswd line (user:bcrypt hash, htpasswd -B) Loki's clients log in with",
} as const;
export type PlatformPasswordVariable = keyof typeof PLATFORM_PASSWORDS;

/** An htpasswd line with a bcrypt hash, the form ingress-nginx's basic auth reads. */
const HTPASSWD_BCRYPT = /^[A-Za-z0-9._-]+:\$2[aby]\$[0-9]{2}\$[./A-Za-z0-9]{53}$/;

export function platformPasswordProblems(values: Record<string, string>): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  const key = (name: string) => `edp:platformPasswords.${name}`;
  for (const [name, value] of Object.entries(values)) {
    if (!(name in PLATFORM_PASSWORDS)) {
      out.push({ key: key(name), message: `is not a password of the manual's secrets table this program takes over (expected ${Object.keys(PLATFORM_PASSWORDS).join(", ")})` });
      continue;
    }
    if (name === "LOKI_INGRESS_BASIC_AUTH") {
      if (!HTPASSWD_BCRYPT.test(value.trim())) out.push({ key: key(name), message: "is not one htpasswd line user:hash with a bcrypt hash (htpasswd -nB <user>)" });
      continue;
    }
    // The same rule as a generated password: these end up in JDBC URLs and connection strings.
    const problem = passwordProblem(value);
    if (problem) out.push({ key: key(name), message: `${problem} (manual §3.2.2: no \\n \\r @ : & ?, and only characters valid unencoded in a JDBC URL)` });
  }
  return out;
}

/** Vault's keys as `vault operator init` printed them: one base64 key per line (the manual's unseal_keys file). */
export function parseVaultKeys(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== "");
}

export function vaultKeysProblem(text: string): string | undefined {
  const keys = parseVaultKeys(text);
  if (keys.length === 0) return "holds no key: one base64 unseal or recovery key per line";
  const bad = keys.findIndex((k) => !/^[A-Za-z0-9+/]{20,}={0,2}$/.test(k));
  if (bad >= 0) return `line ${bad + 1} is not a base64 key (one unseal or recovery key per line, as vault operator init prints them with -format=json's unseal_keys_b64)`;
  if (new Set(keys).size !== keys.length) return "lists a key twice";
  return undefined;
}
