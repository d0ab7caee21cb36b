/**
 * The Edge Device Platform, one stack per stage. Config is read and validated first, so an
 * invalid stack file stops the program before any resource is registered.
 *
 * Order of construction follows what each part needs, not a manual's step list: the foundation
 * gives the cluster and the cloud identities; PostgreSQL and Vault make their own namespaces
 * and credentials; the platform builds the manual's secrets table from those credentials and
 * installs ingress, certificates, monitoring, policies, Keycloak and the EDP services; E3 takes
 * the device CA and CRL from Vault; edge clusters read their desired state from OSS.
 */
import * as alicloud from "@pulumi/alicloud";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { PLATFORM_CA_ISSUER } from "./components/certificates";
import { E3 } from "./components/e3";
import { EDGE_STATUS_FILE, EdgeClusters, EdgeFleetStatus } from "./components/edge";
import { INGRESS_CLASSES } from "./components/ingress";
import { nodeExporterScrapeConfig } from "./components/monitoring";
import { Foundation } from "./components/foundation";
import { KubeEdge } from "./components/kubeedge";
import { CentralPlatform } from "./components/platform";
import { Postgres } from "./components/postgres";
import { siteDesiredState, siteEdgeClusters, Sites } from "./components/sites";
import { deferredIngressReady } from "./components/shared/ingress";
import { Vault, vaultAlertRules, vaultDashboard, vaultServiceMonitor } from "./components/vault";
import { installCheapSdkStackTraces } from "./components/shared/stack-traces";
import { EDP_SERVICES, type EdpService, loadStageConfig } from "./config";

// Before the first resource: the SDK's promise bookkeeping formats a stack per promise.
installCheapSdkStackTraces();
const cfg = loadStageConfig();
const foundation = new Foundation("edp", { config: cfg });
const provider = foundation.cluster.provider;

// The running platform's database passwords, when adopted (edp:platformPasswords); generated otherwise.
const takenOver = cfg.secrets.platformPasswords;
const postgres = new Postgres("postgres", {
  config: cfg,
  adminPassword: takenOver.POSTGRES_ADMIN_PASSWORD,
  rolePasswords: Object.fromEntries(
    Object.entries({ keycloak: takenOver.KEYCLOAK_POSTGRES_PASSWORD, vault: takenOver.VAULT_DB_PASSWORD }).filter(([, v]) => v !== undefined),
  ) as Record<string, pulumi.Output<string>>,
  provider,
  backupBucket: foundation.buckets.backup,
  ossEndpoint: foundation.ossInternalEndpoint,
  backupWriter: foundation.identities.backupWriter,
  backupReader: foundation.identities.backupReader,
  stsEndpoint: foundation.stsEndpoint,
});

// Vault's Ingress waits for the platform's ingress controller, built after Vault (the platform
// puts Secrets into Vault's namespace).
const ingressReady = deferredIngressReady();
const vault = new Vault("vault", {
  cfg,
  cluster: foundation.cluster,
  kmsKeyId: foundation.kmsKeyId,
  unsealIdentity: foundation.identities.vaultUnseal,
  snapshotBucket: foundation.buckets.vaultSnapshots,
  snapshotIdentity: foundation.identities.vaultSnapshots,
  stsEndpoint: foundation.stsEndpoint,
  ossInternalEndpoint: foundation.ossInternalEndpoint,
  allowedSourceRanges: [foundation.vpcCidr],
  // Vault is VPC-internal: E3 reaches its CRL and health through the intranet load balancer.
  ingressClassName: INGRESS_CLASSES.internal,
  clusterIssuer: PLATFORM_CA_ISSUER,
  ingressReady: ingressReady.promise,
});

// Each EDP service with a database gets its owner role's login, as a Secret in its own namespace.
const serviceDatabases = Object.fromEntries(
  postgres.databases
    .filter((db): db is EdpService => (EDP_SERVICES as readonly string[]).includes(db))
    .map((db) => [db, { host: postgres.host, port: postgres.port, database: db, username: postgres.roles[db].name, password: postgres.roles[db].password }]),
);

const platform = new CentralPlatform("platform", {
  provider,
  config: cfg,
  e3Address: foundation.e3Eip.ipAddress,
  ingressAddress: foundation.ingressAddress,
  internalIngress: foundation.internalIngress,
  namespaces: { postgres: postgres.namespace, vault: vault.namespace },
  diskStorageClass: foundation.cluster.diskStorageClass,
  serviceDatabases,
  // onboarding signs device CSRs: it logs in with the ServiceAccount Vault's role is bound to.
  vault: {
    service: "onboarding",
    serviceAccount: vault.onboardingLogin.serviceAccount,
    address: vault.address,
    authMount: vault.onboardingLogin.authMount,
    role: vault.onboardingLogin.role,
    signPath: `${vault.pkiMount}/sign/${vault.deviceRole}`,
    caPem: vault.tlsCaPem,
  },
  database: {
    adminPassword: postgres.adminPassword,
    keycloak: {
      host: postgres.host,
      port: postgres.port,
      database: "keycloak",
      username: postgres.roles.keycloak.name,
      password: postgres.roles.keycloak.password,
    },
    vault: { username: postgres.roles.vault.name, password: postgres.roles.vault.password },
  },
});

ingressReady.resolve(platform.ingressReady);

// Edge clusters, and the K3s sites as clusters bootstrapped by their servers' enrolment.
const edge = new EdgeClusters("edge", {
  config: { ...cfg, edgeClusters: [...cfg.edgeClusters, ...siteEdgeClusters(cfg)] },
  foundation,
  extraDesiredState: siteDesiredState(cfg),
});
const sites = new Sites("sites", {
  config: cfg,
  hubAddress: foundation.e3Eip.ipAddress,
  manifestsBucket: foundation.buckets.manifests,
  siteBootstrapScripts: edge.bootstrapScripts,
  // Its own last outputs: a device the registry listed and config no longer has is recorded as removed.
  previousRegistry:
    cfg.sites.length > 0 ? new pulumi.StackReference(`${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`).getOutput("siteRegistry") : undefined,
});

const e3 = new E3(
  "e3",
  {
    cfg,
    foundation,
    deviceCaPem: vault.deviceCaPem,
    crlUrl: vault.crlPemUrl,
    serverCa: platform.issuerCa,
    monitoringNamespace: "monitoring",
    hub: sites.hub,
  },
  // The first configuration run downloads the CRL from Vault.
  { dependsOn: [vault] },
);
// E3's CRL and host alerts, loaded by the platform's Prometheus (its rule selector takes all rules).
new k8s.apiextensions.CustomResource("e3-alerts", e3.alertRule, { provider, dependsOn: [platform.monitoringStack] });
// PostgreSQL's backup alerts, likewise after the monitoring CRDs (the alias keeps the URN it had under the component).
new k8s.apiextensions.CustomResource("postgres-alerts", postgres.alertRule, { provider, dependsOn: [platform.monitoringStack], aliases: [{ parent: postgres }] });
// E3's node exporter carries the CRL freshness metrics those alerts read: Prometheus scrapes it at
// E3's private address (the security group admits the VPC on the node exporter's port).
const e3PrivateAddress = alicloud.ecs.getInstancesOutput({ ids: [e3.instanceId] }).apply((r) => {
  const ip = r.instances[0]?.privateIp;
  if (!ip) throw new Error("the E3 instance has no private address to scrape");
  return ip;
});
new k8s.apiextensions.CustomResource(
  "e3-node-exporter-scrape",
  nodeExporterScrapeConfig("e3", "monitoring", pulumi.interpolate`${e3PrivateAddress}:${cfg.e3.nodeExporterPort}`),
  { provider, dependsOn: [platform.monitoringStack] },
);
// Vault's metrics, alerts (sealed, no leader) and dashboard, once the monitoring stack's CRDs exist.
new k8s.apiextensions.CustomResource("vault-servicemonitor", vaultServiceMonitor(), { provider, dependsOn: [platform.monitoringStack, vault] });
new k8s.apiextensions.CustomResource("vault-alerts", vaultAlertRules("vault", cfg.stage), { provider, dependsOn: [platform.monitoringStack, vault] });
new k8s.core.v1.ConfigMap("vault-dashboard", vaultDashboard("monitoring"), { provider, dependsOn: [platform.monitoringStack] });

sites.openHubPort(e3.securityGroupId);
// The fleet's status reports, counted for Prometheus and alerted on (components/edge/fleet-exporter.ts).
// The K3s sites report like any edge cluster (they are bootstrapped by their servers' enrolment).
const reportingClusters = [...cfg.edgeClusters, ...siteEdgeClusters(cfg)];
if (reportingClusters.length > 0) {
  const clustersPrefix = cfg.names.edgeClusterPrefix("").replace(/\/$/, "");
  new EdgeFleetStatus("edge-fleet-status", {
    stage: cfg.stage,
    provider,
    namespace: "monitoring",
    bucket: foundation.buckets.manifests,
    endpoint: foundation.ossInternalEndpoint,
    clustersPrefix,
    clusters: reportingClusters.map((c) => ({ cluster: c.name, key: `${cfg.names.edgeClusterPrefix(c.name)}${EDGE_STATUS_FILE}` })),
    statusIntervalMinutes: cfg.edgeStatusIntervalMinutes,
    userName: `${cfg.names.prefix}-edgefleet-status`,
    rrsa: foundation.rrsa,
    stsEndpoint: foundation.stsEndpoint,
    monitoringStack: platform.monitoringStack,
  });
}

// KubeEdge edge nodes (seed 003), when the stage has edp:kubeEdge.
const kubeEdgeConfig = cfg.kubeEdge;
const kubeEdge = kubeEdgeConfig
  ? new KubeEdge("kubeedge", {
      config: { ...cfg, kubeEdge: kubeEdgeConfig },
      provider,
      kubeconfig: foundation.cluster.kubeconfig,
      platformCa: platform.issuerCa,
      stageLoadBalancerAddress: foundation.ingressAddress,
      nodeSecurityGroupId: foundation.securityGroupIds.cluster,
    })
  : undefined;

export const stage = cfg.stage;

// Where things are (manual §3.5.2 and §4.3).
export const portalUrl = `https://${cfg.names.publicHost("edp-portal")}/device-management`;
export const grafanaUrl = platform.grafanaUrl;
export const keycloakUrl = platform.keycloakUrl;
export const keycloakAdminUrl = platform.keycloakAdminUrl;
export const lokiUrl = platform.lokiUrl;
export const edpServiceUrl = platform.internalUrl;
export const e3Urls = e3.urls;
export const dnsNames = foundation.dnsNames;
export const images = platform.images;

/** The manual's checks, as commands to paste (the internal ones from inside the VPC, e.g. on E3). */
export const healthChecks = {
  portal: `curl -fsS -o /dev/null -w '%{http_code}\\n' ${portalUrl}`,
  vault: `curl -i ${vault.healthUrl}`,
  onboarding: `curl -i https://${cfg.names.internalHost("edp-service")}/onboarding/health`,
  monitoring: `curl -X POST -i -d {} https://${cfg.names.internalHost("edp-service")}/monitoring/api/v1/monitoring/container`,
  vaultStatus: "kubectl exec -n vault vault-0 -- vault status",
};

// Cloud foundation.
export const vpcId = foundation.vpcId;
export const buckets = foundation.buckets;
export const ossEndpoint = foundation.ossEndpoint;
export const e3Address = foundation.e3Eip.ipAddress;
export const ingressAddress = foundation.ingressAddress;
/** Private address of the intranet load balancer the VPC-internal names resolve to. */
export const internalIngressAddress = foundation.internalIngress.address;
export const egressAddress = foundation.egressAddress;
/** Secret. */
export const kubeconfig = foundation.cluster.kubeconfig;

// PostgreSQL: connection, and the one command that restores a database from its latest backup.
export const postgresHost = postgres.host;
export const postgresPoolerHost = postgres.poolerHost;
export const postgresDatabases = postgres.databases;
export const postgresRestoreCommand = postgres.restoreCommand;
export const postgresRestoreCommands = postgres.restoreCommands;

// Vault and the device PKI.
export const vaultHealthUrl = vault.healthUrl;
export const vaultCrlUrl = vault.crlUrl;
export const deviceCaPem = vault.deviceCaPem;
/** Secret: the unseal (testing) or recovery keys; they exist nowhere else. */
export const vaultKeys = pulumi.secret(vault.keys);

// Platform credentials an operator may need (secret) and the platform CA an E3 host trusts.
export const grafanaAdminPassword = pulumi.secret(platform.grafanaAdminPassword);
export const keycloakAdminPassword = pulumi.secret(platform.keycloakAdminPassword);
export const lokiBasicAuthPassword = pulumi.secret(platform.lokiBasicAuthPassword);
export const issuerCaCertificate = platform.issuerCaCertificate;

// E3: the public key DAIM adds to the Debian master repository (replaces the manual's e-mail, §4.7.1).
export const e3PackagesPublicKey = e3.packagesPublicKey;
/** The key E3's configuration command logs in with; an adopted host (edp:existing.e3) needs it before `configure: true`. */
export const e3DeployPublicKey = e3.deployPublicKey;

// Edge clusters.
/** What edge-fleet shard stacks (fleet/) read through a StackReference; no secret in it. */
export const edgeFleet = {
  stage: cfg.stage,
  region: cfg.region,
  manifestsBucket: foundation.buckets.manifests,
  ossEndpoint: foundation.ossEndpoint,
  centralClusters: cfg.edgeClusters.map((c) => c.name),
};
export const edgeSealedSecretsCerts = edge.sealedSecretsCertificates;
/** Secret: each script carries its cluster's bucket credentials. */
export const edgeBootstrapScripts = edge.bootstrapScripts;
export const edgeBootstrapCommands = edge.bootstrapCommands;

// K3s sites (seed 004): the WireGuard hub on E3, enrolment per device, the device registry.
/** Secret: each script carries its site's join token (and a generated device key). */
export const siteEnrolmentScripts = sites.enrolmentScripts;
export const siteEnrolmentCommands = sites.enrolmentCommands;
export const siteRegistry = sites.registry;
export const siteHubPublicKey = sites.hubPublicKey;
export const siteAccess = {
  host: cfg.names.publicHost("edp-access"),
  port: cfg.e3.sshPort,
  /** %h is the device name; only devices open for maintenance answer. */
  sshCommand: `ssh -o ProxyCommand='ssh -p ${cfg.e3.sshPort} edp-access@${cfg.names.publicHost("edp-access")} %h' root@<device>`,
};

// KubeEdge nodes (components/kubeedge/README.md).
export const kubeEdgeCloudCoreHost = kubeEdge?.cloudCoreHost;
export const kubeEdgeCloudCoreAddress = kubeEdge?.cloudCoreAddress;
/** Secret: CloudCore's current join token (renewed every 12 hours; each valid 24). */
export const kubeEdgeToken = pulumi.secret(kubeEdge?.token);
/** Secret: per node, the `keadm join` command to run on the device as root. */
export const kubeEdgeJoinCommands = pulumi.secret(kubeEdge?.joinCommands);
