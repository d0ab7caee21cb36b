/**
 * Notary v1 (Debian's notary package: notary-server and notary-signer) for Docker Content Trust
 * on the E3 host. Both keep their data in a local PostgreSQL, each with its own role and a
 * generated password; they talk gRPC over mutual TLS on loopback with certificates from a small
 * CA the Pulumi program makes. Debian ships neither systemd units nor database migrations, so
 * both are rendered here.
 */

export interface NotaryParams {
  /** Loopback address notary-server serves HTTP on (Apache proxies to it). */
  serverListen: string;
  /** Loopback host and port of notary-signer's gRPC endpoint. */
  signerHost: string;
  signerPort: number;
  postgres: { host: string; port: number };
  serverDb: { name: string; user: string; password: string };
  signerDb: { name: string; user: string; password: string };
  /** Alias of the passphrase that encrypts the signer's keys at rest. */
  signerKeyAlias: string;
  /** Paths of the gRPC TLS material. */
  tls: {
    caFile: string;
    signerCertFile: string;
    signerKeyFile: string;
    serverClientCertFile: string;
    serverClientKeyFile: string;
  };
}

const dbUrl = (host: string, port: number, db: { name: string; user: string; password: string }) =>
  `postgres://${encodeURIComponent(db.user)}:${encodeURIComponent(db.password)}@${host}:${port}/${encodeURIComponent(db.name)}?sslmode=disable`;

export function renderNotaryServerConfig(p: NotaryParams): string {
  const config = {
    server: { http_addr: p.serverListen },
    trust_service: {
      type: "remote",
      hostname: p.signerHost,
      port: String(p.signerPort),
      tls_ca_file: p.tls.caFile,
      key_algorithm: "ecdsa",
      tls_client_cert: p.tls.serverClientCertFile,
      tls_client_key: p.tls.serverClientKeyFile,
    },
    logging: { level: "info" },
    storage: { backend: "postgres", db_url: dbUrl(p.postgres.host, p.postgres.port, p.serverDb) },
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}

export function renderNotarySignerConfig(p: NotaryParams): string {
  const config = {
    server: {
      grpc_addr: `${p.signerHost}:${p.signerPort}`,
      tls_cert_file: p.tls.signerCertFile,
      tls_key_file: p.tls.signerKeyFile,
      client_ca_file: p.tls.caFile,
    },
    logging: { level: "info" },
    storage: { backend: "postgres", db_url: dbUrl(p.postgres.host, p.postgres.port, p.signerDb), default_alias: p.signerKeyAlias },
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}

/** notary-signer reads the key passphrase of alias X from NOTARY_SIGNER_X. */
export function renderNotarySignerEnv(alias: string, passphrase: string): string {
  return `NOTARY_SIGNER_${alias.toUpperCase()}=${passphrase}\n`;
}

export function renderNotaryUnit(which: "server" | "signer", configFile: string, envFile?: string): string {
  return `[Unit]
Description=Notary ${which} for Docker Content Trust (EDP)
After=network.target postgresql.service${which === "server" ? " notary-signer.service" : ""}
Requires=postgresql.service

[Service]
User=notary
Group=notary
${envFile ? `EnvironmentFile=${envFile}\n` : ""}ExecStart=/usr/bin/notary-${which} -config ${configFile} -logf logfmt
Restart=on-failure
RestartSec=5
NoNewPrivileges=true
ProtectSystem=strict
ProtectHome=true
PrivateTmp=true

[Install]
WantedBy=multi-user.target
`;
}

const sqlString = (s: string) => `'${s.replace(/'/g, "''")}'`;
const sqlIdent = (s: string) => `"${s.replace(/"/g, '""')}"`;

/**
 * Idempotent SQL, run by the postgres superuser: roles with their current passwords, one database
 * each, and the tables notary's gorm models expect (Debian ships no migrations).
 */
export function renderNotaryDatabaseSql(p: Pick<NotaryParams, "serverDb" | "signerDb">): string {
  const roleAndDb = (db: { name: string; user: string; password: string }) => `DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = ${sqlString(db.user)}) THEN
    CREATE ROLE ${sqlIdent(db.user)} LOGIN;
  END IF;
END $$;
ALTER ROLE ${sqlIdent(db.user)} WITH LOGIN PASSWORD ${sqlString(db.password)};
SELECT 'CREATE DATABASE ${sqlIdent(db.name)} OWNER ${sqlIdent(db.user)}'
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = ${sqlString(db.name)})\\gexec`;
  return `\\set ON_ERROR_STOP on
${roleAndDb(p.serverDb)}
${roleAndDb(p.signerDb)}
\\connect ${sqlIdent(p.serverDb.name)}
SET ROLE ${sqlIdent(p.serverDb.user)};
CREATE TABLE IF NOT EXISTS tuf_files (
  id serial PRIMARY KEY,
  created_at timestamp NULL,
  updated_at timestamp NULL,
  deleted_at timestamp NULL,
  gun varchar(255) NOT NULL,
  role varchar(255) NOT NULL,
  version integer NOT NULL,
  sha256 char(64) NULL,
  data bytea NOT NULL,
  CONSTRAINT idx_gun UNIQUE (gun, role, version)
);
CREATE INDEX IF NOT EXISTS idx_tuf_files_gun ON tuf_files (gun);
CREATE TABLE IF NOT EXISTS changefeed (
  id serial PRIMARY KEY,
  created_at timestamp DEFAULT CURRENT_TIMESTAMP,
  gun varchar(255) NOT NULL,
  version integer NOT NULL,
  sha256 char(64) NULL,
  category varchar(20) NOT NULL DEFAULT 'update'
);
CREATE INDEX IF NOT EXISTS idx_changefeed_gun ON changefeed (gun);
RESET ROLE;
\\connect ${sqlIdent(p.signerDb.name)}
SET ROLE ${sqlIdent(p.signerDb.user)};
CREATE TABLE IF NOT EXISTS private_keys (
  id serial PRIMARY KEY,
  created_at timestamp NULL,
  updated_at timestamp NULL,
  deleted_at timestamp NULL,
  key_id varchar(255) NOT NULL UNIQUE,
  encryption_alg varchar(255) NOT NULL,
  keywrap_alg varchar(255) NOT NULL,
  algorithm varchar(50) NOT NULL,
  passphrase_alias varchar(50) NOT NULL,
  gun varchar(255) NOT NULL,
  role varchar(255) NOT NULL,
  public text NOT NULL,
  private text NOT NULL,
  last_used timestamp NULL DEFAULT NULL
);
RESET ROLE;
`;
}
