/**
 * Pure rendering of the EDP services' Kubernetes objects from typed input. The component only
 * creates what these functions return.
 */
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { EDP_SERVICES, type EdpService, type Stage } from "../../config";
import type { Exposure } from "../certificates/issuers";
export { type IngressInput, ingressArgs } from "../shared/ingress";
import { HTTP_PORT, MANAGEMENT_PORT, ROUTE_HOSTS, type Runtime, SERVICE_CATALOG, type ServiceSpec } from "./catalog";

type Container = k8s.types.input.core.v1.Container;
type EnvVar = k8s.types.input.core.v1.EnvVar;
type ResourceRequirements = k8s.types.input.core.v1.ResourceRequirements;

export interface ServiceContext {
  stage: Stage;
  namespace: pulumi.Input<string>;
  /** cfg.images.registry */
  registry: string;
  /** cfg.images.tags */
  tags: Record<string, string>;
  /** Address of the stage's E3 host (foundation.e3Eip.ipAddress). */
  e3Host: pulumi.Input<string>;
  /** OpenID issuer of the platform realm, for services that validate tokens. */
  oidcIssuerUrl: pulumi.Input<string>;
  /** Name of the registry pull Secret. */
  pullSecret: string;
  /** Services with a database: their connection Secret (databaseSecretName) is in the namespace. */
  databases?: readonly EdpService[];
  /** The service that talks to Vault, and how (onboarding signs device CSRs). */
  vault?: VaultClient;
}

/** How a service logs in to Vault with its Kubernetes service account (Spring Cloud Vault's settings). */
export interface VaultClient {
  service: EdpService;
  /** ServiceAccount the Vault role is bound to; the Deployment runs as it, with its token mounted. */
  serviceAccount: string;
  /** In-cluster address of the active Vault node, https://vault-active.vault.svc:8200. */
  address: string;
  /** Kubernetes auth mount and role. */
  authMount: string;
  role: string;
  /** ConfigMap in the service's namespace with Vault's TLS CA under ca.crt. */
  caConfigMap: string;
  /** PKI path the service signs device CSRs at, e.g. pki-devices/sign/device. */
  signPath: string;
}

/** Where the Vault CA is mounted in the Vault client's container. */
export const VAULT_CA_MOUNT = "/etc/edp/vault-ca";

/** Secret with a service's database connection, in the service's namespace. */
export const databaseSecretName = (service: EdpService) => `${service}-database`;

/** A database login as PostgreSQL hands it over. */
export interface DatabaseConnection {
  host: string;
  port: number;
  database: string;
  username: string;
  password: string;
}

/**
 * The connection as Spring Boot reads it from the environment (relaxed binding of
 * spring.datasource.*): a JDBC URL, user name and password.
 */
export function databaseSecretData(c: DatabaseConnection): Record<string, string> {
  return {
    SPRING_DATASOURCE_URL: `jdbc:postgresql://${c.host}:${c.port}/${c.database}`,
    SPRING_DATASOURCE_USERNAME: c.username,
    SPRING_DATASOURCE_PASSWORD: c.password,
  };
}

/** Spring Cloud Vault's settings for Kubernetes auth (spring.cloud.vault.*), as environment. */
export function vaultEnv(v: VaultClient): { name: string; value: string }[] {
  return [
    { name: "SPRING_CLOUD_VAULT_ENABLED", value: "true" },
    { name: "SPRING_CLOUD_VAULT_URI", value: v.address },
    { name: "SPRING_CLOUD_VAULT_AUTHENTICATION", value: "KUBERNETES" },
    { name: "SPRING_CLOUD_VAULT_KUBERNETES_ROLE", value: v.role },
    { name: "SPRING_CLOUD_VAULT_KUBERNETES_KUBERNETES_PATH", value: v.authMount },
    { name: "SPRING_CLOUD_VAULT_KUBERNETES_SERVICE_ACCOUNT_TOKEN_FILE", value: "/var/run/secrets/kubernetes.io/serviceaccount/token" },
    { name: "SPRING_CLOUD_VAULT_SSL_TRUST_STORE", value: `file:${VAULT_CA_MOUNT}/ca.crt` },
    { name: "SPRING_CLOUD_VAULT_SSL_TRUST_STORE_TYPE", value: "PEM" },
    { name: "EDP_VAULT_PKI_SIGN_PATH", value: v.signPath },
  ];
}

/** Label every EDP service's objects carry; network policies and the ServiceMonitor select on it. */
export const PART_OF_LABEL = { "app.kubernetes.io/part-of": "edp" } as const;
/** Label of Services whose management port serves Prometheus metrics. */
export const METRICS_LABEL = { "edp.daim.io/metrics": "spring-actuator" } as const;

export function imageFor(registry: string, service: EdpService, tags: Record<string, string>): string {
  const tag = tags[service];
  if (tag === undefined) throw new Error(`edp:images.tags.${service} is missing`);
  return `${registry}/${service}:${tag}`;
}

/** Two replicas where an outage costs most, so a node drain never takes a service down. */
export function replicasFor(stage: Stage): number {
  return stage === "production" ? 2 : 1;
}

export function resourcesFor(runtime: Runtime): ResourceRequirements {
  return runtime === "spring"
    ? { requests: { cpu: "100m", memory: "512Mi" }, limits: { cpu: "1", memory: "1Gi" } }
    : { requests: { cpu: "25m", memory: "64Mi" }, limits: { cpu: "200m", memory: "128Mi" } };
}

export function selectorLabels(service: EdpService): Record<string, string> {
  return { "app.kubernetes.io/name": service };
}

export function labelsFor(service: EdpService): Record<string, string> {
  return { ...selectorLabels(service), ...PART_OF_LABEL };
}

export function serviceEnv(service: EdpService, ctx: ServiceContext): EnvVar[] {
  const spec = SERVICE_CATALOG[service];
  // The manual patched E3_HOST in as the first variable of every app (§3.3.1).
  const env: EnvVar[] = [
    { name: "E3_HOST", value: ctx.e3Host },
    { name: "EDP_STAGE", value: ctx.stage },
  ];
  if (spec.runtime === "spring") {
    env.push(
      { name: "SPRING_PROFILES_ACTIVE", value: ctx.stage },
      { name: "SERVER_PORT", value: String(HTTP_PORT) },
      { name: "MANAGEMENT_SERVER_PORT", value: String(MANAGEMENT_PORT) },
      { name: "MANAGEMENT_ENDPOINT_HEALTH_PROBES_ENABLED", value: "true" },
      { name: "MANAGEMENT_ENDPOINTS_WEB_EXPOSURE_INCLUDE", value: "health,info,prometheus" },
      // The registry runs in the same namespace, so its short name resolves.
      { name: "EUREKA_CLIENT_SERVICEURL_DEFAULTZONE", value: `http://servicemanagement:${HTTP_PORT}/eureka/` },
      { name: "SPRING_SECURITY_OAUTH2_RESOURCESERVER_JWT_ISSUER_URI", value: ctx.oidcIssuerUrl },
      // Lets the JVM size its heap from the container's memory limit.
      { name: "JAVA_TOOL_OPTIONS", value: "-XX:MaxRAMPercentage=75 -Djava.io.tmpdir=/tmp" },
    );
  }
  if (ctx.vault?.service === service) env.push(...vaultEnv(ctx.vault));
  return env;
}

function probes(spec: ServiceSpec): Pick<Container, "livenessProbe" | "readinessProbe" | "startupProbe"> {
  if (spec.runtime === "spring") {
    const get = (path: string) => ({ httpGet: { path, port: "management" } });
    return {
      // Spring Boot starts slowly; the startup probe keeps liveness from killing a booting JVM.
      startupProbe: { ...get("/actuator/health/liveness"), periodSeconds: 5, failureThreshold: 60 },
      livenessProbe: { ...get("/actuator/health/liveness"), periodSeconds: 10, failureThreshold: 3 },
      readinessProbe: { ...get("/actuator/health/readiness"), periodSeconds: 5, failureThreshold: 3 },
    };
  }
  const path = spec.routes[0]?.path ?? "/";
  return {
    livenessProbe: { httpGet: { path: `${path}/`, port: "http" }, periodSeconds: 10 },
    readinessProbe: { httpGet: { path: `${path}/`, port: "http" }, periodSeconds: 5 },
  };
}

/** Paths a read-only root filesystem must still write to. */
function writablePaths(runtime: Runtime): string[] {
  return runtime === "spring" ? ["/tmp"] : ["/tmp", "/var/cache/nginx", "/var/run"];
}

export function deploymentArgs(service: EdpService, ctx: ServiceContext): k8s.apps.v1.DeploymentArgs {
  const spec = SERVICE_CATALOG[service];
  const writable = writablePaths(spec.runtime);
  const volumeName = (p: string) => `rw${p.replace(/\//g, "-")}`;
  const ports = [{ name: "http", containerPort: HTTP_PORT, protocol: "TCP" }];
  if (spec.runtime === "spring") ports.push({ name: "management", containerPort: MANAGEMENT_PORT, protocol: "TCP" });
  const vault = ctx.vault?.service === service ? ctx.vault : undefined;
  const envFromSecrets = [...spec.envFromSecrets, ...(ctx.databases?.includes(service) ? [databaseSecretName(service)] : [])];
  return {
    metadata: { name: service, namespace: ctx.namespace, labels: labelsFor(service) },
    spec: {
      replicas: replicasFor(ctx.stage),
      revisionHistoryLimit: 5,
      selector: { matchLabels: selectorLabels(service) },
      strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: { labels: labelsFor(service) },
        spec: {
          // Only the Vault client needs a token (Vault's Kubernetes auth reviews it); no service calls the Kubernetes API.
          ...(vault ? { serviceAccountName: vault.serviceAccount, automountServiceAccountToken: true } : { automountServiceAccountToken: false }),
          imagePullSecrets: [{ name: ctx.pullSecret }],
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 10001,
            runAsGroup: 10001,
            fsGroup: 10001,
            seccompProfile: { type: "RuntimeDefault" },
          },
          topologySpreadConstraints: [
            { maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: selectorLabels(service) } },
          ],
          containers: [
            {
              name: service,
              image: imageFor(ctx.registry, service, ctx.tags),
              imagePullPolicy: "IfNotPresent",
              ports,
              env: serviceEnv(service, ctx),
              envFrom: envFromSecrets.map((name) => ({ secretRef: { name } })),
              resources: resourcesFor(spec.runtime),
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ["ALL"] },
              },
              volumeMounts: [
                ...writable.map((mountPath) => ({ name: volumeName(mountPath), mountPath })),
                ...(vault ? [{ name: "vault-ca", mountPath: VAULT_CA_MOUNT, readOnly: true }] : []),
              ],
              ...probes(spec),
            },
          ],
          volumes: [
            ...writable.map((p) => ({ name: volumeName(p), emptyDir: { sizeLimit: "256Mi" } })),
            ...(vault ? [{ name: "vault-ca", configMap: { name: vault.caConfigMap } }] : []),
          ],
        },
      },
    },
  };
}

export function serviceArgs(service: EdpService, ctx: Pick<ServiceContext, "namespace">): k8s.core.v1.ServiceArgs {
  const spring = SERVICE_CATALOG[service].runtime === "spring";
  const ports = [{ name: "http", port: HTTP_PORT, targetPort: "http", protocol: "TCP" }];
  if (spring) ports.push({ name: "management", port: MANAGEMENT_PORT, targetPort: "management", protocol: "TCP" });
  return {
    metadata: { name: service, namespace: ctx.namespace, labels: { ...labelsFor(service), ...(spring ? METRICS_LABEL : {}) } },
    spec: { type: "ClusterIP", selector: selectorLabels(service), ports },
  };
}

export interface RoutePath {
  path: string;
  service: EdpService;
}

/** Routed paths per exposure, sorted by path; throws when two services claim one path. */
export function routeTable(catalog: Record<EdpService, ServiceSpec> = SERVICE_CATALOG): Record<Exposure, RoutePath[]> {
  const out: Record<Exposure, RoutePath[]> = { public: [], internal: [] };
  for (const service of EDP_SERVICES) {
    for (const r of catalog[service].routes) {
      const clash = out[r.exposure].find((p) => p.path === r.path);
      if (clash) throw new Error(`${r.exposure} path ${r.path} is claimed by ${clash.service} and ${service}`);
      if (!/^\/[a-z0-9-/]*[a-z0-9-]$/.test(r.path)) throw new Error(`${service}: route path ${JSON.stringify(r.path)} must start with / and not end with /`);
      out[r.exposure].push({ path: r.path, service });
    }
  }
  for (const e of Object.keys(out) as Exposure[]) out[e].sort((a, b) => a.path.localeCompare(b.path));
  return out;
}

/** Host of an exposure, from the stage's naming functions. */
export function routeHost(exposure: Exposure, names: { publicHost(n: string): string; internalHost(n: string): string }): string {
  return exposure === "public" ? names.publicHost(ROUTE_HOSTS.public) : names.internalHost(ROUTE_HOSTS.internal);
}
