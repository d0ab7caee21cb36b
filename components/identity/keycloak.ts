/**
 * Keycloak from the official image (not Bitnami's, whose versioned images stopped receiving
 * updates in August 2025), as a Deployment on the platform PostgreSQL. The realm is applied by
 * keycloak-config-cli in a Job whose pod template carries the realm's checksum: any change of the
 * realm (a redirect URI, a rotated client secret) makes a new Job that applies it to the running
 * Keycloak on that `pulumi up`. (`--import-realm` would skip a realm that already exists.) The
 * realm, with its secrets filled in, lives only in a Secret. The public host serves only what
 * browsers and clients need (realms, resources); the admin console is on the VPC-internal host.
 */
import { createHash } from "node:crypto";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { StageConfig } from "../../config";
import { issuerFor } from "../certificates/issuers";
import { afterIngressReady, type IngressReady, ingressArgs } from "../shared/ingress";
import { IMAGES } from "../versions";
import { REALM, realmJson, resolveRealm } from "./realm";

export const KEYCLOAK_HTTP_PORT = 8080;
export const KEYCLOAK_MANAGEMENT_PORT = 9000;
/** Paths Keycloak's guide recommends exposing publicly; /admin is not among them. */
export const PUBLIC_PATHS = ["/realms", "/resources"] as const;

export interface KeycloakArgs {
  /** Provider of the central cluster (foundation.cluster.provider). */
  provider: k8s.Provider;
  /** Keycloak's namespace (PlatformNamespaces.names.keycloak). */
  namespace: pulumi.Input<string>;
  /** stage, names and ingress.acmeEmail are read. */
  config: Pick<StageConfig, "stage" | "names" | "ingress">;
  /** Secrets of the secrets table (PlatformSecrets creates them). */
  secrets?: { admin: string; database: string; realm: string };
  /** What the Ingresses wait for: the ingress controller and cert-manager (CentralPlatform.ingressReady). */
  ingressReady?: IngressReady;
  /** Values of the realm's `${ENV}` references (PlatformSecrets.realmSecretValues), secret. */
  realmSecretValues: pulumi.Input<Record<string, string>>;
}

/** The realm file's name in the Secret, and the directory keycloak-config-cli reads. */
export const REALM_FILE = `${REALM}-realm.json`;
const REALM_DIR = "/config";

/** Short checksum of the applied realm; it names the realm's version in the Job's pod template. */
export const realmChecksum = (json: string) => createHash("sha256").update(json).digest("hex").slice(0, 16);

export interface RealmApplyJobInput {
  namespace: pulumi.Input<string>;
  /** Secret holding the resolved realm file, and Secret with the bootstrap admin's credentials. */
  realmSecret: pulumi.Input<string>;
  adminSecret: string;
  /** realmChecksum of the realm file: a new value makes a new Job. */
  checksum: pulumi.Input<string>;
}

/**
 * The keycloak-config-cli Job. Jobs are immutable, and Pulumi replaces one whose pod template
 * changes; the checksum annotation makes every realm change such a replacement, so the new
 * Job runs and applies the realm. Users and groups made in the console are left alone
 * (`no-delete`); clients, roles and realm settings are as the code says.
 */
export function realmApplyJob(i: RealmApplyJobInput): k8s.types.input.batch.v1.Job {
  const labels = { "app.kubernetes.io/name": "keycloak-config-cli", "app.kubernetes.io/part-of": "edp-platform" };
  return {
    // No name: Pulumi names each Job, so the new one is created before the old one is deleted.
    metadata: { namespace: i.namespace, labels },
    spec: {
      backoffLimit: 6,
      activeDeadlineSeconds: 1200,
      template: {
        metadata: { labels, annotations: { "edp/realm-checksum": i.checksum } },
        spec: {
          restartPolicy: "Never",
          automountServiceAccountToken: false,
          securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, seccompProfile: { type: "RuntimeDefault" } },
          containers: [
            {
              name: "keycloak-config-cli",
              image: IMAGES.keycloakConfigCli,
              env: [
                // In-cluster: the admin API is not on the public host.
                { name: "KEYCLOAK_URL", value: pulumi.interpolate`http://keycloak.${i.namespace}.svc:${KEYCLOAK_HTTP_PORT}` },
                fromSecret("KEYCLOAK_USER", i.adminSecret, "ADMIN_USERNAME"),
                fromSecret("KEYCLOAK_PASSWORD", i.adminSecret, "ADMIN_PASSWORD"),
                // A first deployment starts Keycloak and this Job together: wait for Keycloak.
                { name: "KEYCLOAK_AVAILABILITYCHECK_ENABLED", value: "true" },
                { name: "KEYCLOAK_AVAILABILITYCHECK_TIMEOUT", value: "600s" },
                { name: "IMPORT_FILES_LOCATIONS", value: `${REALM_DIR}/*` },
                { name: "IMPORT_MANAGED_USER", value: "no-delete" },
                { name: "IMPORT_MANAGED_GROUP", value: "no-delete" },
              ],
              // A JVM that runs for a minute; the limits keep a stuck run from starving Keycloak's nodes.
              resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { cpu: "1", memory: "512Mi" } },
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
              volumeMounts: [
                { name: "realm", mountPath: REALM_DIR, readOnly: true },
                { name: "tmp", mountPath: "/tmp" },
              ],
            },
          ],
          volumes: [
            { name: "realm", secret: { secretName: i.realmSecret, defaultMode: 0o440 } },
            { name: "tmp", emptyDir: {} },
          ],
        },
      },
    },
  };
}

/** Public Keycloak host for a stage. */
export const keycloakHost = (names: StageConfig["names"]) => names.publicHost("keycloak");
/** OpenID issuer of the platform realm. */
export const issuerUrlFor = (names: StageConfig["names"]) => `https://${keycloakHost(names)}/realms/${REALM}`;

const fromSecret = (name: string, secret: string, key: string) => ({ name, valueFrom: { secretKeyRef: { name: secret, key } } });

export function keycloakEnv(publicHost: string, adminHost: string, secrets: { admin: string; database: string }) {
  return [
    { name: "KC_DB", value: "postgres" },
    fromSecret("KC_DB_URL_HOST", secrets.database, "POSTGRES_EXTERNAL_ADDRESS"),
    fromSecret("KC_DB_URL_PORT", secrets.database, "POSTGRES_EXTERNAL_PORT"),
    fromSecret("KC_DB_URL_DATABASE", secrets.database, "POSTGRES_DATABASE"),
    fromSecret("KC_DB_USERNAME", secrets.database, "POSTGRES_USERNAME"),
    fromSecret("KC_DB_PASSWORD", secrets.database, "POSTGRES_PASSWORD"),
    fromSecret("KC_BOOTSTRAP_ADMIN_USERNAME", secrets.admin, "ADMIN_USERNAME"),
    fromSecret("KC_BOOTSTRAP_ADMIN_PASSWORD", secrets.admin, "ADMIN_PASSWORD"),
    { name: "KC_HOSTNAME", value: `https://${publicHost}` },
    { name: "KC_HOSTNAME_ADMIN", value: `https://${adminHost}` },
    // TLS ends at ingress-nginx, which sets X-Forwarded-* headers.
    { name: "KC_HTTP_ENABLED", value: "true" },
    { name: "KC_PROXY_HEADERS", value: "xforwarded" },
    { name: "KC_HEALTH_ENABLED", value: "true" },
    { name: "KC_METRICS_ENABLED", value: "true" },
  ];
}

export class Keycloak extends pulumi.ComponentResource {
  public readonly url: pulumi.Output<string>;
  public readonly adminUrl: pulumi.Output<string>;
  /** OpenID issuer URL of the platform realm (Grafana, EDP services). */
  public readonly issuerUrl: pulumi.Output<string>;

  constructor(name: string, args: KeycloakArgs, opts?: pulumi.ComponentResourceOptions) {
    super("edp:identity:Keycloak", name, {}, opts);
    const cfg = args.config;
    const child = { parent: this, provider: args.provider };
    const secrets = args.secrets ?? { admin: "credential-keycloak", database: "keycloak-db-secret", realm: "keycloak-realm-secrets" };
    const publicHost = keycloakHost(cfg.names);
    const adminHost = cfg.names.internalHost("keycloak");
    const replicas = cfg.stage === "testing" ? 1 : 2;
    const labels = { "app.kubernetes.io/name": "keycloak", "app.kubernetes.io/part-of": "edp-platform" };
    const selector = { "app.kubernetes.io/name": "keycloak" };

    // The realm with its secrets filled in: a Secret, never a ConfigMap.
    const realmFile = pulumi
      .output(args.realmSecretValues)
      .apply((values) => resolveRealm(realmJson({ grafanaHost: cfg.names.publicHost("grafana"), portalHost: cfg.names.publicHost("edp-portal") }), values));
    const realm = new k8s.core.v1.Secret(
      `${name}-realm`,
      { metadata: { name: "keycloak-realm", namespace: args.namespace, labels }, stringData: { [REALM_FILE]: pulumi.secret(realmFile) } },
      child,
    );

    const deployment = new k8s.apps.v1.Deployment(
      name,
      {
        metadata: { name: "keycloak", namespace: args.namespace, labels },
        spec: {
          replicas,
          selector: { matchLabels: selector },
          template: {
            metadata: { labels },
            spec: {
              automountServiceAccountToken: false,
              securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, seccompProfile: { type: "RuntimeDefault" } },
              containers: [
                {
                  name: "keycloak",
                  image: IMAGES.keycloak,
                  // No --import-realm: it skips a realm that exists; the Job below applies every change.
                  args: ["start"],
                  env: keycloakEnv(publicHost, adminHost, secrets),
                  ports: [
                    { name: "http", containerPort: KEYCLOAK_HTTP_PORT },
                    { name: "management", containerPort: KEYCLOAK_MANAGEMENT_PORT },
                    // Cluster members find each other through the database (jdbc-ping) and talk on 7800.
                    { name: "jgroups", containerPort: 7800 },
                  ],
                  resources: { requests: { cpu: "250m", memory: "768Mi" }, limits: { cpu: "2", memory: "1536Mi" } },
                  securityContext: {
                    allowPrivilegeEscalation: false,
                    capabilities: { drop: ["ALL"] },
                    // `start` re-augments the server into its own install directory.
                    readOnlyRootFilesystem: false,
                  },
                  startupProbe: { httpGet: { path: "/health/started", port: "management" }, periodSeconds: 5, failureThreshold: 60 },
                  readinessProbe: { httpGet: { path: "/health/ready", port: "management" }, periodSeconds: 10 },
                  livenessProbe: { httpGet: { path: "/health/live", port: "management" }, periodSeconds: 10, failureThreshold: 3 },
                },
              ],
            },
          },
        },
      },
      child,
    );

    // Pulumi waits for the Deployment's rollout, so the Job starts against a running Keycloak.
    new k8s.batch.v1.Job(
      `${name}-realm`,
      realmApplyJob({ namespace: args.namespace, realmSecret: realm.metadata.name, adminSecret: secrets.admin, checksum: pulumi.secret(realmFile.apply(realmChecksum)) }),
      { ...child, dependsOn: [deployment, realm] },
    );

    new k8s.core.v1.Service(
      name,
      {
        metadata: { name: "keycloak", namespace: args.namespace, labels: { ...labels, "edp.daim.io/metrics": "keycloak" } },
        spec: {
          selector,
          ports: [
            { name: "http", port: KEYCLOAK_HTTP_PORT, targetPort: "http" },
            { name: "management", port: KEYCLOAK_MANAGEMENT_PORT, targetPort: "management" },
          ],
        },
      },
      child,
    );
    if (replicas > 1) {
      new k8s.policy.v1.PodDisruptionBudget(name, { metadata: { name: "keycloak", namespace: args.namespace }, spec: { minAvailable: 1, selector: { matchLabels: selector } } }, child);
    }

    new k8s.networking.v1.Ingress(
      `${name}-public`,
      ingressArgs({
        name: "keycloak",
        namespace: args.namespace,
        host: publicHost,
        exposure: "public",
        issuer: issuerFor("public", cfg.ingress.acmeEmail),
        paths: PUBLIC_PATHS.map((path) => ({ path, service: "keycloak", port: KEYCLOAK_HTTP_PORT })),
      }),
      { ...child, dependsOn: afterIngressReady(args.ingressReady) },
    );
    new k8s.networking.v1.Ingress(
      `${name}-admin`,
      ingressArgs({ name: "keycloak-admin", namespace: args.namespace, host: adminHost, exposure: "internal", issuer: issuerFor("internal", undefined), paths: [{ path: "/", service: "keycloak", port: KEYCLOAK_HTTP_PORT }] }),
      { ...child, dependsOn: afterIngressReady(args.ingressReady) },
    );

    this.url = pulumi.output(`https://${publicHost}`);
    this.adminUrl = pulumi.output(`https://${adminHost}/admin/`);
    this.issuerUrl = pulumi.output(issuerUrlFor(cfg.names));
    this.registerOutputs({ url: this.url, adminUrl: this.adminUrl, issuerUrl: this.issuerUrl });
  }
}
