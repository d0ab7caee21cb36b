/**
 * The schema of a stage's configuration: every `edp:*` key of Pulumi.<stage>.yaml, its type and
 * the rules it must obey. Rules that need no other key live on the field; rules that relate keys
 * (CIDR overlaps, references between edge clusters and deployments, stage-dependent rules) live
 * in `crossChecks`, so every problem is reported at once with the key path it concerns.
 */
import { z } from "zod";
import { EDP_SERVICES, STAGES } from "./stages";
import {
  ALICLOUD_REGIONS,
  cronProblem,
  IMAGE_TAG,
  isDns1123Label,
  isDomainName,
  LOAD_BALANCER_ID,
  parseIpv4Cidr,
} from "./validators";

const domain = z.string().refine(isDomainName, { message: "is not a lower-case DNS domain such as example.net" });
const cidr = z.string().superRefine((v, ctx) => {
  const parsed = parseIpv4Cidr(v);
  if (typeof parsed === "string") ctx.addIssue({ code: "custom", message: `${JSON.stringify(v)} ${parsed}` });
});
const cron = z.string().superRefine((v, ctx) => {
  const problem = cronProblem(v);
  if (problem) ctx.addIssue({ code: "custom", message: `${JSON.stringify(v)} ${problem}` });
});
const port = z.number().int().min(1, "must be a port between 1 and 65535").max(65535, "must be a port between 1 and 65535");
const dnsLabel = z.string().refine(isDns1123Label, {
  message: "must be a DNS-1123 label: lower-case letters, digits and '-', at most 63 characters, starting and ending alphanumeric",
});
const positiveInt = z.number().int().positive("must be a whole number greater than 0");

const zoneSchema = z.strictObject({
  /** Availability zone id, e.g. eu-central-1a. */
  zoneId: z.string().regex(/^[a-z]{2}-[a-z]+(-[0-9]+[a-z]|-[a-z])$/, "is not an Alibaba zone id such as eu-central-1a"),
  /** CIDR of this zone's vSwitch; must lie inside the VPC CIDR. */
  vswitchCidr: cidr,
});

const nodePoolSchema = z.strictObject({
  name: dnsLabel,
  instanceTypes: z.array(z.string().regex(/^ecs\.[a-z0-9-]+\.[a-z0-9]+$/, "is not an ECS instance type such as ecs.g7.xlarge")).min(1),
  minSize: z.number().int().min(0),
  maxSize: positiveInt,
  diskSizeGb: z.number().int().min(40, "must be at least 40 GiB").max(2048),
});

const clusterCreateSchema = z.strictObject({
  /** ACK Kubernetes version, e.g. 1.33.3-aliyun.1. */
  kubernetesVersion: z.string().regex(/^1\.[0-9]+\.[0-9]+-aliyun\.[0-9]+$/, "is not an ACK version such as 1.33.3-aliyun.1"),
  /** ACK managed cluster edition: ack.standard or ack.pro.small. */
  clusterSpec: z.enum(["ack.standard", "ack.pro.small"]),
  nodePools: z.array(nodePoolSchema).min(1, "needs at least one node pool"),
});

const imagesSchema = z.strictObject({
  /** Registry and namespace the EDP images are pulled from. */
  registry: z.string().regex(/^[a-z0-9.-]+(:[0-9]+)?(\/[a-z0-9._-]+)+$/, "is not a registry path such as registry.example.net/edp"),
  /** Image tag of each EDP service. */
  tags: z.record(z.string(), z.string().regex(IMAGE_TAG, "is not a valid image tag")),
});

const backupSchema = z.strictObject({
  /** When the pgbackup CronJob runs (manual: every 3 hours). */
  schedule: cron,
  /** Days a dump is kept in the backup bucket before it expires. */
  retentionDays: positiveInt,
  /** When the restore drill runs (weekly). */
  drillSchedule: cron,
});

const postgresSchema = z.strictObject({
  instances: z.number().int().min(1).max(5),
  storageGb: z.number().int().min(1),
  backup: backupSchema,
});

const vaultSchema = z.strictObject({
  replicas: z.number().int().min(1).max(7),
  /** shamir (testing only) or alicloudkms auto-unseal. */
  seal: z.enum(["shamir", "alicloudkms"]),
  storageGb: z.number().int().min(1),
  /** When a raft snapshot is written to the snapshot bucket. */
  snapshotSchedule: cron,
  /** How long a CRL Vault publishes stays valid, in hours; must exceed E3's refresh period. */
  crlExpiryHours: positiveInt,
  /** Maximum lifetime of a device certificate, in days. */
  deviceCertTtlDays: positiveInt,
});

const e3Schema = z.strictObject({
  instanceType: z.string().regex(/^ecs\.[a-z0-9-]+\.[a-z0-9]+$/, "is not an ECS instance type such as ecs.g7.large"),
  systemDiskGb: z.number().int().min(20),
  dataDiskGb: z.number().int().min(20),
  /** SSH maintenance port (manual §4.3: 2222). */
  sshPort: port,
  /** Prometheus node exporter port (manual §4.3: 9100). */
  nodeExporterPort: port,
  /** Source CIDRs allowed to reach the SSH and node exporter ports, besides the VPC. */
  adminCidrs: z.array(cidr),
  /** Minutes between CRL downloads from Vault. */
  crlRefreshMinutes: z.number().int().min(1).max(1440),
  /** PEM bundle of a custom CA the E3 host must trust (manual §4.4), if the EDP services use one. */
  customCaBundle: z
    .string()
    .refine((v) => /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.test(v), { message: "is not a PEM bundle of CA certificates" })
    .optional(),
  /** rsync source of the Debian master repository E3 mirrors over SSH (manual §4.7): user@host:/path. */
  packagesUpstream: z
    .string()
    .regex(/^[a-z_][a-z0-9_-]*@[a-z0-9]([a-z0-9.-]*[a-z0-9])?:\/[A-Za-z0-9._/-]*$/, "is not an rsync source such as packages@repo.example.net:/srv/debian"),
  /** SSH port of the master repository (manual §4.3: 22). */
  packagesUpstreamPort: port.default(22),
});

const monitoringSchema = z.strictObject({
  prometheusRetention: z.string().regex(/^[0-9]+[hdwy]$/, "is not a duration such as 15d"),
  prometheusStorageGb: positiveInt,
  lokiStorageGb: positiveInt,
  lokiRetentionHours: positiveInt,
});

const alertingSchema = z.strictObject({
  /** E-mail receiver: recipients, sender, SMTP server (host:port, STARTTLS); the password is edp:alertingSecrets.smtpPassword. */
  email: z
    .strictObject({
      to: z.array(z.email({ error: "is not an e-mail address" })).min(1, "needs at least one recipient"),
      from: z.email({ error: "is not an e-mail address" }),
      smarthost: z.string().regex(/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?:[0-9]{1,5}$/, "is not host:port such as smtp.example.net:587"),
      username: z.string().min(1).optional(),
    })
    .optional(),
  /** Webhook receiver; its URL (which carries a token) is edp:alertingSecrets.webhookUrl. */
  webhook: z.strictObject({ sendResolved: z.boolean().default(true) }).optional(),
  /** Dead man's switch: the always-firing Watchdog alert goes to edp:alertingSecrets.deadMansSwitchUrl this often. */
  deadMansSwitch: z.strictObject({ repeatInterval: z.string().regex(/^[0-9]+[mh]$/, "is not a duration such as 5m").default("5m") }).optional(),
});

const edgeClusterSchema = z.strictObject({
  name: dnsLabel,
  /** direct: the program reaches the cluster with a kubeconfig; script: it emits a bootstrap script. */
  bootstrap: z.enum(["direct", "script"]),
  /** Host names of the cluster's nodes; pinned deployments name one of them. */
  hosts: z.array(dnsLabel).default([]),
  /** Raise to rotate the cluster's sealed-secrets key. */
  sealedSecretsKeyVersion: positiveInt.default(1),
  /** How often Flux on the edge polls its bucket prefix. */
  syncInterval: z.string().regex(/^[0-9]+[smh]$/, "is not a duration such as 5m").default("5m"),
});

const chartTemplateSchema = z.strictObject({
  chart: z.string().min(1),
  repository: z.url({ protocol: /^(https|oci)$/, error: "is not an https:// or oci:// repository URL" }),
  version: z.string().min(1),
  values: z.record(z.string(), z.unknown()).default({}),
});

const deploymentSchema = z.strictObject({
  name: dnsLabel,
  template: z.string(),
  cluster: z.string(),
  /** Pins the deployment to this host; without it, the deployment floats. */
  hostname: z.string().optional(),
  /** Extra values merged over the template's values. */
  values: z.record(z.string(), z.unknown()).default({}),
});

/** Every non-secret `edp:*` key. Secret keys are listed in SECRET_KEYS and read separately. */
export const stageSchema = z.strictObject({
  stage: z.enum(STAGES, { error: `must be one of ${STAGES.join(", ")}` }),
  region: z.enum(ALICLOUD_REGIONS, { error: `must be an Alibaba Cloud region id such as eu-central-1` }),
  /** Prefix of every OSS bucket name (globally unique in Alibaba Cloud; no dots, see DESIGN). */
  bucketPrefix: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$/, "must be 3 to 40 lower-case letters, digits or '-', without dots, starting and ending alphanumeric"),
  dns: z.strictObject({
    /** Public zone; platform names are <name>.api.<stage>.<publicZone>. */
    publicZone: domain,
    /** VPC-private zone for names only the E3 host and the cluster resolve (edp-service). */
    internalZone: domain,
  }),
  network: z.strictObject({
    vpcCidr: cidr,
    zones: z.array(zoneSchema).min(2, "needs at least two zones so the cluster survives the loss of one"),
    podCidr: cidr,
    serviceCidr: cidr,
  }),
  cluster: z.strictObject({ create: clusterCreateSchema.optional() }).default({}),
  ingress: z.strictObject({
    /** Id of the stage's existing Alibaba load balancer (manual §3.3.1). */
    loadBalancerId: z.string().regex(LOAD_BALANCER_ID, "is not a load balancer id such as lb-gw8abcdefghijklmnop"),
    /** E-mail for an ACME (Let's Encrypt) issuer for the public names; omit to use the platform CA only. */
    acmeEmail: z.email({ error: "is not an e-mail address" }).optional(),
  }),
  images: imagesSchema,
  postgres: postgresSchema,
  vault: vaultSchema,
  e3: e3Schema,
  monitoring: monitoringSchema,
  /** Where Alertmanager sends alerts (receivers) and the dead man's switch. */
  alerting: alertingSchema,
  edgeClusters: z.array(edgeClusterSchema).default([]),
  chartTemplates: z.record(z.string(), chartTemplateSchema).default({}),
  deployments: z.array(deploymentSchema).default([]),
});

export type StageInput = z.infer<typeof stageSchema>;

/**
 * Secret keys, set by the operator with `pulumi config set --secret`. Each is optional unless
 * another key requires it (cross checks say which).
 */
export const SECRET_KEYS = {
  /** Kubeconfig of an existing central cluster to adopt instead of creating one. */
  clusterKubeconfig: "string",
  /** Kubeconfig per edge cluster with bootstrap: direct, keyed by cluster name. */
  edgeKubeconfigs: "object",
  /** Docker config JSON for pulling EDP images (the manual's DOCKER_PULL_JSON). */
  dockerPullJson: "string",
  /** The datadirectormangement-files values (the manual's DDM_* variables), keyed by variable name. */
  ddmFiles: "object",
  /** The platform CA (the manual's issuer-ca) as { crt, key } PEM; generated when absent. */
  issuerCa: "object",
  /** The edge-device CA as { crt, key } PEM; Vault generates one when absent. */
  deviceCa: "object",
  /** Alertmanager's credentials: { smtpPassword, webhookUrl, deadMansSwitchUrl }, as edp:alerting needs them. */
  alertingSecrets: "object",
} as const;
export type SecretKey = keyof typeof SECRET_KEYS;

export const REQUIRED_IMAGE_SERVICES = EDP_SERVICES;

/**
 * The datadirectormangement-files values (manual §3.2.2). The GPG values belong to the key the EDP
 * signs edge-device repository commits with: not stage-specific, supplied by DAIM, required in
 * edp:ddmFiles. The SSH pair is stage-specific and generated when edp:ddmFiles does not carry it.
 */
export const DDM_GPG_VARIABLES = ["DDM_REV", "DDM_KEY1", "DDM_KEY2", "DDM_GPG_CONF", "DDM_PASSPHRASE", "DDM_PUBRING", "DDM_TRUSTDB"] as const;
export const DDM_SSH_VARIABLES = ["DDM_SSH_PRIVATE", "DDM_SSH_PUB"] as const;
export type DdmVariable = (typeof DDM_GPG_VARIABLES)[number] | (typeof DDM_SSH_VARIABLES)[number];
