/**
 * Creates every Secret of the secrets table (table.ts), filled from generated values, database
 * passwords handed over by the PostgreSQL component, and secret config. Other components refer
 * to these Secrets by name; values never appear in a ConfigMap, manifest or stack file.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import type { StageSecrets } from "../../config";
import { htpasswdLine, safePassword } from "./passwords";
import { SECRET_TABLE, type SecretHome, type SecretTableEntry } from "./table";

/** The database side of the table: what the PostgreSQL component hands over. */
export interface DatabaseCredentials {
  /** Password of the PostgreSQL superuser `postgres` (postgres component: adminPassword). */
  adminPassword: pulumi.Input<string>;
  /** Keycloak's database and role. */
  keycloak: DatabaseLogin;
  /** Vault's database role. */
  vault: { username: pulumi.Input<string>; password: pulumi.Input<string> };
}

export interface DatabaseLogin {
  host: pulumi.Input<string>;
  port: pulumi.Input<number>;
  database: pulumi.Input<string>;
  username: pulumi.Input<string>;
  password: pulumi.Input<string>;
}

export interface PlatformSecretsArgs {
  /** Provider of the central cluster (foundation.cluster.provider). */
  provider: k8s.Provider;
  /** Namespace name per home; pass the namespace resources' outputs so Secrets wait for them. */
  namespaces: Record<SecretHome, pulumi.Input<string>>;
  /** Secret config (cfg.secrets): dockerPullJson and ddmFiles are required, issuerCa is generated when absent. */
  secrets: Pick<StageSecrets, "dockerPullJson" | "ddmFiles" | "issuerCa"> & Partial<Pick<StageSecrets, "platformPasswords">>;
  /** Database passwords and Keycloak's connection. */
  database: DatabaseCredentials;
  /** Common name of a generated platform CA. */
  caCommonName: string;
  /** Protect generated keys against deletion (cfg.protect: production). */
  protect: boolean;
}

/** Every key of every Secret, as the compiler checks against the table. */
export type SecretValues = {
  [E in SecretTableEntry as E["name"]]: Record<E["keys"][number]["key"], pulumi.Input<string>>;
};

/** User name in the htpasswd of loki-basic-auth. */
export const LOKI_BASIC_AUTH_USER = "loki";

export class PlatformSecrets extends pulumi.ComponentResource {
  /** Grafana's admin password (secret). */
  public readonly grafanaAdminPassword: pulumi.Output<string>;
  /** Keycloak's bootstrap admin password (secret). */
  public readonly keycloakAdminPassword: pulumi.Output<string>;
  /** Password of the `loki` user at Loki's ingress (secret); clients outside the cluster need it. */
  public readonly lokiBasicAuthPassword: pulumi.Output<string>;
  /** PEM of the platform CA: hosts that call the platform's names trust it (manual §4.4). */
  public readonly issuerCaCertificate: pulumi.Output<string>;
  /** The platform CA's certificate and (secret) key, for certificates issued outside cert-manager (E3). */
  public readonly issuerCa: { certPem: pulumi.Output<string>; keyPem: pulumi.Output<string> };
  /** Values of keycloak-realm-secrets by key (the realm's `${ENV}` references), secret; keycloak-config-cli applies them. */
  public readonly realmSecretValues: pulumi.Output<Record<string, string>>;
  /** Name → namespace of each Secret created. */
  public readonly secretNamespaces: pulumi.Output<Record<string, string>>;

  constructor(name: string, args: PlatformSecretsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("edp:secrets:PlatformSecrets", name, {}, opts);
    const { dockerPullJson, ddmFiles, issuerCa } = args.secrets;
    // Both come from people, not from a generator: the registry's pull credentials and DAIM's GPG key.
    if (dockerPullJson === undefined) {
      throw new pulumi.ResourceError("edp:dockerPullJson (secret) is required: the docker-pull Secret holds the registry's pull credentials (manual §3.2.2)", this);
    }
    if (ddmFiles === undefined) {
      throw new pulumi.ResourceError("edp:ddmFiles (secret) is required: datadirectormangement-files needs DAIM's GPG values (manual §3.2.2)", this);
    }
    const child = { parent: this };
    // Replacing the CA re-issues every platform certificate and breaks E3's trust; replacing the
    // SSH key locks datadirectormanagement out of the edge repositories.
    const keep = { parent: this, protect: args.protect };

    // The running platform's passwords (edp:platformPasswords) are taken over, never regenerated over.
    const given = args.secrets.platformPasswords ?? {};
    const grafanaAdmin = given.GRAFANA_ADMIN_PASSWORD ?? safePassword(`${name}-grafana-admin`, child).result;
    const grafanaClient = safePassword(`${name}-grafana-oauth-client`, child, 40);
    const keycloakAdmin = given.KEYCLOAK_ADMIN_PASSWORD ?? safePassword(`${name}-keycloak-admin`, child).result;
    const edpAdmin = safePassword(`${name}-edp-admin`, child);
    const givenLoki = given.LOKI_INGRESS_BASIC_AUTH;
    const loki = givenLoki === undefined ? safePassword(`${name}-loki-basic-auth`, child) : undefined;

    let caCrt: pulumi.Output<string>;
    let caKey: pulumi.Output<string>;
    if (issuerCa !== undefined) {
      caCrt = issuerCa.apply((c) => c.crt);
      caKey = issuerCa.apply((c) => c.key);
    } else {
      const key = new tls.PrivateKey(`${name}-issuer-ca`, { algorithm: "ECDSA", ecdsaCurve: "P384" }, keep);
      const cert = new tls.SelfSignedCert(
        `${name}-issuer-ca`,
        {
          privateKeyPem: key.privateKeyPem,
          isCaCertificate: true,
          subject: { commonName: args.caCommonName, organization: "Edge Device Platform" },
          validityPeriodHours: 10 * 365 * 24,
          // Renewing the CA re-issues every platform certificate; start that a year ahead.
          earlyRenewalHours: 365 * 24,
          allowedUses: ["cert_signing", "crl_signing", "digital_signature"],
        },
        keep,
      );
      caCrt = cert.certPem;
      caKey = key.privateKeyPem;
    }

    const hasSsh = ddmFiles.apply((f) => f.DDM_SSH_PRIVATE !== undefined);
    // Generated only when config does not carry the pair; a stage's pair is then kept in state.
    const sshKey = new tls.PrivateKey(`${name}-ddm-ssh`, { algorithm: "ED25519" }, keep);
    const ddm = (variable: string) => ddmFiles.apply((f) => f[variable] ?? "");
    const sshPrivate = pulumi.all([hasSsh, ddm("DDM_SSH_PRIVATE"), sshKey.privateKeyOpenssh]).apply(([has, cfg, gen]) => (has ? cfg : gen));
    const sshPublic = pulumi.all([hasSsh, ddm("DDM_SSH_PUB"), sshKey.publicKeyOpenssh]).apply(([has, cfg, gen]) => (has ? cfg : gen));

    const db = args.database;
    const values: SecretValues = {
      "grafana-credentials": { "admin-user": "admin", "admin-password": grafanaAdmin, "oauth-client-secret": grafanaClient.result },
      "credential-keycloak": { ADMIN_USERNAME: "admin", ADMIN_PASSWORD: keycloakAdmin },
      "keycloak-db-secret": {
        POSTGRES_EXTERNAL_ADDRESS: db.keycloak.host,
        POSTGRES_EXTERNAL_PORT: pulumi.output(db.keycloak.port).apply(String),
        POSTGRES_DATABASE: db.keycloak.database,
        POSTGRES_USERNAME: db.keycloak.username,
        POSTGRES_PASSWORD: db.keycloak.password,
      },
      "postgres-admin-credentials": { username: "postgres", password: db.adminPassword },
      "pgbouncer-admin-credentials": { username: "postgres", password: db.adminPassword },
      "vault-db-credentials": { username: db.vault.username, password: db.vault.password },
      "issuer-ca": { "tls.crt": caCrt, "tls.key": caKey },
      "datadirectormangement-files": {
        DDM_SSH_PRIVATE: sshPrivate,
        DDM_SSH_PUB: sshPublic,
        DDM_REV: ddm("DDM_REV"),
        DDM_KEY1: ddm("DDM_KEY1"),
        DDM_KEY2: ddm("DDM_KEY2"),
        DDM_GPG_CONF: ddm("DDM_GPG_CONF"),
        DDM_PASSPHRASE: ddm("DDM_PASSPHRASE"),
        DDM_PUBRING: ddm("DDM_PUBRING"),
        DDM_TRUSTDB: ddm("DDM_TRUSTDB"),
      },
      "loki-basic-auth": { auth: loki ? loki.bcryptHash.apply((h) => htpasswdLine(LOKI_BASIC_AUTH_USER, h)) : pulumi.output(givenLoki ?? "").apply((line) => `${line}\n`) },
      "docker-pull": { ".dockerconfigjson": dockerPullJson },
      "keycloak-realm-secrets": { GRAFANA_CLIENT_SECRET: grafanaClient.result, EDP_ADMIN_PASSWORD: edpAdmin.result },
    };

    const placed: Record<string, pulumi.Input<string>> = {};
    for (const spec of SECRET_TABLE) {
      const namespace = args.namespaces[spec.home];
      const data = values[spec.name] as Record<string, pulumi.Input<string>>;
      const stringData = Object.fromEntries(spec.keys.map((k) => [k.key, pulumi.secret(data[k.key])]));
      new k8s.core.v1.Secret(
        `${name}-${spec.name}`,
        {
          metadata: { name: spec.name, namespace, labels: { "app.kubernetes.io/managed-by": "pulumi", "edp.daim.io/secret-table": "true" } },
          type: spec.type,
          stringData,
        },
        { parent: this, provider: args.provider },
      );
      placed[spec.name] = namespace;
    }

    this.grafanaAdminPassword = pulumi.secret(grafanaAdmin);
    this.keycloakAdminPassword = pulumi.secret(keycloakAdmin);
    this.realmSecretValues = pulumi.secret(pulumi.output(values["keycloak-realm-secrets"] as Record<string, pulumi.Input<string>>));
    // A taken-over htpasswd line holds only a hash: its password stays with the operators.
    this.lokiBasicAuthPassword = pulumi.secret(loki ? loki.result : pulumi.output("(held by the operators: edp:platformPasswords.LOKI_INGRESS_BASIC_AUTH)"));
    // A certificate is public; only its key is secret.
    this.issuerCaCertificate = pulumi.unsecret(caCrt);
    this.issuerCa = { certPem: this.issuerCaCertificate, keyPem: pulumi.secret(caKey) };
    this.secretNamespaces = pulumi.output(placed);
    this.registerOutputs({
      grafanaAdminPassword: this.grafanaAdminPassword,
      keycloakAdminPassword: this.keycloakAdminPassword,
      lokiBasicAuthPassword: this.lokiBasicAuthPassword,
      issuerCaCertificate: this.issuerCaCertificate,
      secretNamespaces: this.secretNamespaces,
    });
  }
}
