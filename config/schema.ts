/**
 * The schema of a stage's configuration: every `edp:*` key of Pulumi.<stage>.yaml, its type and
 * the rules it must obey. Rules that need no other key live on the field; rules that relate keys
 * (CIDR overlaps, references between edge clusters and deployments, stage-dependent rules) live
 * in `crossChecks`, so every problem is reported at once with the key path it concerns.
 */
import { z } from "zod";
import {
  CSI_DISK_MIN_GB,
  DNS1123_LABEL_MAX,
  ESSD_PL1,
  HELM_CHART_NAME,
  LOKI_MIN_RETENTION_HOURS,
  MAX_NAME_LENGTH,
  NODE_POOL_MIN_SYSTEM_DISK_GB,
  POSTGRES_INSTANCES,
  VAULT_REPLICAS,
} from "./limits";
import { existingSchema } from "./existing";
import { kubeEdgeSchema } from "./kubeedge";
import { EDP_SERVICES, STAGES } from "./stages";
import {
  ALICLOUD_REGIONS,
  cronProblem,
  IMAGE_TAG,
  isWireGuardKey,
  isDns1123Label,
  isDomainName,
  LOAD_BALANCER_ID,
  parseIpv4Cidr,
  pemCertificatesParse,
  SEMVER,
  SSH_PUBLIC_KEY,
} from "./validators";

/** A value as a message may quote it: JSON, cut short (hostile or pasted values can be huge). */
const show = (v: string) => (v.length > 80 ? `${JSON.stringify(v.slice(0, 80))}… (${v.length} characters)` : JSON.stringify(v));

const domain = z.string().refine(isDomainName, { message: "is not a lower-case DNS domain such as example.net" });
const cidr = z.string().superRefine((v, ctx) => {
  const parsed = parseIpv4Cidr(v);
  if (typeof parsed === "string") ctx.addIssue({ code: "custom", message: `${show(v)} ${parsed}` });
});
const cron = z.string().superRefine((v, ctx) => {
  const problem = cronProblem(v);
  if (problem) ctx.addIssue({ code: "custom", message: `${show(v)} ${problem}` });
});
const port = z.number().int().min(1, "must be a port between 1 and 65535").max(65535, "must be a port between 1 and 65535");
const dnsLabel = z.string().refine(isDns1123Label, {
  message: `must be a DNS-1123 label: lower-case letters, digits and '-', at most ${DNS1123_LABEL_MAX} characters, starting and ending alphanumeric`,
});
/** A chart template's name: only a key in the stack file (it reaches no Kubernetes or cloud name). */
const templateName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, "must be 1 to 63 letters, digits, '_', '.' or '-', starting with a letter or digit");
const positiveInt = z.number().int().positive("must be a whole number greater than 0");
/** GiB of an ECS disk or a persistent volume (cloud_essd PL1, config/limits.ts). */
const volumeGb = z.number().int().min(CSI_DISK_MIN_GB, `must be at least ${CSI_DISK_MIN_GB} GiB, the smallest ESSD`).max(ESSD_PL1.maxDataGb, `must be at most ${ESSD_PL1.maxDataGb} GiB, the largest ESSD`);

const zoneSchema = z.strictObject({
  zoneId: z.string().regex(/^[a-z]{2}-[a-z]+(-[0-9]+[a-z]|-[a-z])$/, "is not an Alibaba zone id such as eu-central-1a").describe("Availability zone id, e.g. eu-central-1a; a zone of alicloud:region."),
  vswitchCidr: cidr.describe("CIDR of this zone's vSwitch (/16 to /29); inside the VPC CIDR, disjoint from the other zones'."),
});

const nodePoolSchema = z.strictObject({
  name: dnsLabel.describe("Node pool name (unique)."),
  instanceTypes: z.array(z.string().regex(/^ecs\.[a-z0-9-]+\.[a-z0-9]+$/, "is not an ECS instance type such as ecs.g7.xlarge")).min(1).describe("ECS instance types, in order of preference."),
  minSize: z.number().int().min(0).describe("Fewest nodes; at most maxSize."),
  maxSize: positiveInt.describe("Most nodes the pool scales to; the pod CIDR needs a /24 per node."),
  diskSizeGb: z
    .number()
    .int()
    .min(NODE_POOL_MIN_SYSTEM_DISK_GB, `must be at least ${NODE_POOL_MIN_SYSTEM_DISK_GB} GiB`)
    .max(ESSD_PL1.maxSystemGb, `must be at most ${ESSD_PL1.maxSystemGb} GiB, the largest ECS system disk`)
    .describe("System disk of each node (cloud_essd), GiB."),
});

const clusterCreateSchema = z.strictObject({
  kubernetesVersion: z.string().regex(/^1\.[0-9]+\.[0-9]+-aliyun\.[0-9]+$/, "is not an ACK version such as 1.33.3-aliyun.1").describe("ACK Kubernetes version, e.g. 1.33.3-aliyun.1."),
  clusterSpec: z.enum(["ack.standard", "ack.pro.small"]).describe("ACK managed cluster edition."),
  nodePools: z.array(nodePoolSchema).min(1, "needs at least one node pool").describe("Worker node pools (at least one)."),
  apiServerCidrs: z
    .array(cidr)
    .min(1, "needs at least one admin network: the API server's access list would admit only the VPC")
    .describe("Admin networks (operators, the CI runner that runs pulumi up) allowed to reach the API server, besides the VPC and ACK's control plane; none larger than a /8."),
});

const clusterRrsaSchema = z.strictObject({
  oidcProviderArn: z
    .string()
    .regex(/^acs:ram::[0-9]{16}:oidc-provider\/[A-Za-z0-9._-]{1,128}$/, "is not a RAM OIDC provider ARN such as acs:ram::1234567890123456:oidc-provider/ack-rrsa-c0123456789abcdef")
    .describe("ARN of the cluster's RRSA OIDC provider in RAM (ACK console: cluster information, RRSA; usually ack-rrsa-<cluster id>)."),
  issuer: z
    .string()
    .regex(/^https:\/\/[a-z0-9.-]+(\/[A-Za-z0-9._-]+)*$/, "is not an https issuer URL such as https://oidc-ack-eu-central-1.oss-eu-central-1.aliyuncs.com/c0123456789abcdef")
    .describe("Issuer URL of the cluster's ServiceAccount tokens (the provider's issuer, oidc:iss in the roles' trust policies)."),
});

const imagesSchema = z.strictObject({
  registry: z
    .string()
    .max(MAX_NAME_LENGTH)
    .regex(/^[a-z0-9.-]+(:[0-9]+)?(\/[a-z0-9._-]+)+$/, "is not a registry path such as registry.example.net/edp")
    .describe("Registry and namespace the EDP images are pulled from; edp:dockerPullJson must hold credentials for its host."),
  tags: z
    .record(z.string(), z.string().regex(IMAGE_TAG, "is not a valid image tag (at most 128 of A-Z a-z 0-9 _ . -, not starting with . or -)"))
    .describe("Image tag of each EDP service (all ten required); \"latest\" only in testing."),
});

const backupSchema = z.strictObject({
  schedule: cron.describe("When the pgbackup CronJob runs (manual: every 3 hours); Kubernetes cron, runs at least 15 minutes apart."),
  retentionDays: positiveInt.describe("Days a dump is kept in the backup bucket before it expires."),
  drillSchedule: cron.describe("When the restore drill runs (weekly); Kubernetes cron, runs at least 15 minutes apart."),
});

const postgresSchema = z.strictObject({
  instances: z.number().int().min(POSTGRES_INSTANCES.min).max(POSTGRES_INSTANCES.max).describe("CloudNativePG instances (primary plus standbys)."),
  storageGb: volumeGb.describe("Volume of each instance (cloud_essd PL1), GiB."),
  backup: backupSchema.describe("pg_dump backups to OSS and the restore drill."),
});

const vaultSchema = z.strictObject({
  replicas: z.number().int().min(VAULT_REPLICAS.min).max(VAULT_REPLICAS.max).describe("Vault pods (raft voters); odd."),
  seal: z.enum(["shamir", "alicloudkms"]).describe("shamir (testing only) or alicloudkms auto-unseal (staging, production)."),
  storageGb: volumeGb.describe("Raft volume of each pod, GiB."),
  snapshotSchedule: cron.describe("When a raft snapshot is written to the snapshot bucket (Kubernetes cron)."),
  crlExpiryHours: positiveInt.describe("How long a CRL Vault publishes stays valid, in hours; at least four E3 refresh periods."),
  deviceCertTtlDays: positiveInt.describe("Maximum lifetime of a device certificate, in days; not beyond the device CA's expiry (10 years when generated)."),
});

const e3Schema = z.strictObject({
  instanceType: z.string().regex(/^ecs\.[a-z0-9-]+\.[a-z0-9]+$/, "is not an ECS instance type such as ecs.g7.large").describe("ECS instance type of the E3 VM."),
  systemDiskGb: z
    .number()
    .int()
    .min(ESSD_PL1.minGb, `must be at least ${ESSD_PL1.minGb} GiB, the smallest ESSD`)
    .max(ESSD_PL1.maxSystemGb, `must be at most ${ESSD_PL1.maxSystemGb} GiB, the largest ECS system disk`)
    .describe("System disk (cloud_essd), GiB."),
  dataDiskGb: volumeGb.describe("Data disk (cloud_essd): registry, Git, package mirror; GiB."),
  sshPort: port.describe("SSH maintenance port (manual §4.3: 2222); not a port of E3's own services."),
  nodeExporterPort: port.describe("Prometheus node exporter port (manual §4.3: 9100); unprivileged, not a port of E3's own services."),
  adminCidrs: z.array(cidr).describe("Source CIDRs allowed to reach the SSH and node exporter ports, besides the VPC; none larger than a /8."),
  crlRefreshMinutes: z.number().int().min(1).max(1440).describe("Minutes between CRL downloads from Vault."),
  customCaBundle: z
    .string()
    .refine((v) => /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.test(v), { message: "is not a PEM bundle of CA certificates" })
    .refine((v) => pemCertificatesParse(v), { message: "holds a PEM block that is not a parsable certificate" })
    .optional()
    .describe("PEM bundle of a custom CA the E3 host must trust (manual §4.4), if the EDP services use one."),
  packagesUpstream: z
    .string()
    .max(MAX_NAME_LENGTH)
    .regex(/^[a-z_][a-z0-9_-]*@[a-z0-9]([a-z0-9.-]*[a-z0-9])?:\/[A-Za-z0-9._/-]*$/, "is not an rsync source such as packages@repo.example.net:/srv/debian")
    .describe("rsync source of the Debian master repository E3 mirrors over SSH (manual §4.7): user@host:/path."),
  packagesUpstreamPort: port.default(22).describe("SSH port of the master repository (manual §4.3: 22)."),
  delivery: z
    .enum(["cloud-assistant", "ssh"])
    .default("cloud-assistant")
    .describe("How the configuration reaches the VM: cloud-assistant (Alibaba Cloud Assistant, no inbound port; works from a hosted CI runner) or ssh (the deployer must be in adminCidrs)."),
  acme: z
    .strictObject({
      directoryUrl: z
        .string()
        .max(MAX_NAME_LENGTH)
        .regex(/^https:\/\/[^\s/]+(\/\S*)?$/, "is not an https URL of an ACME directory")
        .describe("ACME directory URL E3 renews its server certificate from (HTTP-01 on port 80)."),
      email: z
        .string()
        .max(MAX_NAME_LENGTH)
        .regex(/^[^\s@]+@[^\s@]+\.[^\s@]+$/, "is not an e-mail address")
        .optional()
        .describe("Contact address of the ACME account."),
    })
    .default({ directoryUrl: "https://acme-v02.api.letsencrypt.org/directory" })
    .describe("ACME account E3 renews its server certificate with (default: Let's Encrypt)."),
});

const monitoringSchema = z.strictObject({
  prometheusRetention: z.string().regex(/^[1-9][0-9]{0,5}[hdwy]$/, "is not a duration such as 15d").describe("How long Prometheus keeps samples, e.g. 15d."),
  prometheusStorageGb: volumeGb.describe("Prometheus volume, GiB."),
  lokiStorageGb: volumeGb.describe("Loki volume, GiB."),
  lokiRetentionHours: z
    .number()
    .int()
    .min(LOKI_MIN_RETENTION_HOURS, `must be at least ${LOKI_MIN_RETENTION_HOURS} hours: Loki refuses a shorter retention`)
    .describe("How long Loki keeps logs, in hours (Loki's minimum: 24)."),
});

/** A Kubernetes label value (also the value of the specialised taint). */
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;
const LABEL_VALUE_MESSAGE = "is not a Kubernetes label value (at most 63 letters, digits, '-', '_' or '.', starting and ending alphanumeric)";
/** A qualified label/taint key such as factoryplus.app.amrc.co.uk/specialised. */
const QUALIFIED_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const alertingSchema = z.strictObject({
  email: z
    .strictObject({
      to: z.array(z.email({ error: "is not an e-mail address" }).max(MAX_NAME_LENGTH)).min(1, "needs at least one recipient").describe("Recipients of every alert."),
      from: z.email({ error: "is not an e-mail address" }).max(MAX_NAME_LENGTH).describe("Sender address of Alertmanager's mails."),
      smarthost: z
        .string()
        .regex(/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?:[0-9]{1,5}$/, "is not host:port such as smtp.example.net:587")
        .describe("SMTP server as host:port (STARTTLS)."),
      username: z.string().min(1).max(MAX_NAME_LENGTH).optional().describe("SMTP login; its password is edp:alertingSecrets.smtpPassword."),
    })
    .optional()
    .describe("E-mail receiver; at least one of email or webhook."),
  webhook: z
    .strictObject({ sendResolved: z.boolean().default(true).describe("Also notify when an alert resolves.") })
    .optional()
    .describe("Webhook receiver; its URL (it carries a token) is edp:alertingSecrets.webhookUrl."),
  deadMansSwitch: z
    .strictObject({
      repeatInterval: z
        .string()
        .regex(/^[1-9][0-9]{0,3}[mh]$/, "is not a duration such as 5m")
        .default("5m")
        .describe("How often the always-firing Watchdog alert is sent."),
    })
    .optional()
    .describe("Dead man's switch: Watchdog goes to edp:alertingSecrets.deadMansSwitchUrl; required beyond testing."),
});

const edgeClusterSchema = z.strictObject({
  name: dnsLabel.describe("Edge cluster name (unique)."),
  bootstrap: z
    .enum(["direct", "script"])
    .describe("direct: the program reaches the cluster with edp:edgeKubeconfigs.<name>; script: it emits a bootstrap script."),
  hosts: z.array(dnsLabel).default([]).describe("Host names of the cluster's nodes; pinned deployments name one of them."),
  sealedSecretsKeyVersion: positiveInt.default(1).describe("Raise to rotate the cluster's sealed-secrets key."),
  syncInterval: z.string().regex(/^[1-9][0-9]{0,4}[smh]$/, "is not a duration such as 5m").default("5m").describe("How often Flux on the edge polls its bucket prefix."),
  specialisedHosts: z
    .record(dnsLabel, z.string().regex(LABEL_VALUE, LABEL_VALUE_MESSAGE))
    .default({})
    .describe("Hosts reserved for pinned deployments (seed 002's specialised hosts), host → specialisation: the bootstrap labels and taints each <edp:edgeSpecialisedTaintKey>=<value>:NoSchedule."),
  sealedSecrets: z.array(z.string().min(1)).default([]).describe("SealedSecret manifests (files, relative to the project root) put in the cluster's desired state."),
});

const chartTemplateSchema = z.strictObject({
  chart: z
    .string()
    .regex(HELM_CHART_NAME, "is not a Helm chart name: lower-case letters, digits and '-', at most 63 characters, starting and ending alphanumeric")
    .describe("Chart name in the repository."),
  repository: z
    .url({ protocol: /^(https|oci)$/, error: "is not an https:// or oci:// repository URL" })
    .max(MAX_NAME_LENGTH)
    .describe("https:// Helm repository or oci:// registry path."),
  version: z.string().regex(SEMVER, "is not a SemVer 2 version such as 1.4.2 (Helm chart versions are SemVer)").describe("Exact chart version (SemVer 2)."),
  values: z
    .record(z.string(), z.unknown())
    .default({})
    .describe("Helm values; strings may hold {{uuid}}, {{name}}, {{hostname}} (pinned deployments only); no other placeholder."),
});

const deploymentSchema = z.strictObject({
  name: dnsLabel.describe("Deployment name (the HelmRelease; at most 53 characters, Helm's limit)."),
  template: templateName.describe("Key of edp:chartTemplates."),
  cluster: dnsLabel.describe("Name of an edge cluster in edp:edgeClusters."),
  hostname: dnsLabel.optional().describe("Pins the deployment to this host of the cluster; without it, the deployment floats."),
  values: z.record(z.string(), z.unknown()).default({}).describe("Extra values merged over the template's values (same placeholders)."),
  sealedSecrets: z.array(z.string().min(1)).default([]).describe("SealedSecret manifests (files, relative to the project root) this deployment needs, put in its cluster's desired state."),
});

/** A Kubernetes label key (optional DNS prefix, name of at most 63) and value. */
const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const wireGuardKey = z.string().refine(isWireGuardKey, { message: "is not a WireGuard public key: the base64 of 32 bytes, 44 characters ending in '=' (what `wg pubkey` prints)" });

const siteDeviceSchema = z.strictObject({
  name: dnsLabel.describe("Device name: its K3s node name and hostname (unique across every site)."),
  role: z.enum(["server", "agent"]).describe("server: runs the site's K3s control plane; agent: a worker."),
  labels: z
    .record(z.string().regex(LABEL_KEY, "is not a Kubernetes label key"), z.string().regex(LABEL_VALUE, "is not a Kubernetes label value (at most 63 of A-Z a-z 0-9 - _ .)"))
    .default({})
    .describe("Kubernetes labels of the device's node."),
  workerTaint: z.boolean().default(true).describe("Whether the site's worker taint applies to this device (agents only); it is applied once edp:sites[].workerTaint.enabled is true."),
  publicKey: wireGuardKey.optional().describe("WireGuard public key the device made itself (`wg genkey | tee /etc/wireguard/edp0.key | wg pubkey`): preferred, the private key never leaves the device."),
  generateKey: z.boolean().default(false).describe("Generate the device's WireGuard key pair centrally instead (the private key then travels in the secret enrolment script); exclusive with publicKey."),
  tunnelAddress: z.string().optional().describe("Pins the device's tunnel address (inside edp:siteHub.tunnelCidr); by default the program derives a stable one from the site and device name."),
  maintenance: z.boolean().default(false).describe("Open for maintenance: operators of edp:siteHub.operators may reach its SSH (port 22) over the tunnel through edp-access (manual §5.2)."),
});

const siteSchema = z.strictObject({
  name: dnsLabel.describe("Site name (unique, and not the name of an edge cluster): deployments target it like an edge cluster."),
  k3sVersion: z
    .string()
    .regex(/^v1\.[0-9]+\.[0-9]+\+k3s[0-9]+$/, "is not a pinned K3s release such as v1.31.4+k3s1")
    .describe("Exact K3s release every device of the site installs, e.g. v1.31.4+k3s1."),
  clusterCidr: cidr.default("10.42.0.0/16").describe("Pod CIDR of the site's K3s (Calico IP pool); disjoint from the tunnel range and the service CIDR."),
  serviceCidr: cidr.default("10.43.0.0/16").describe("Service CIDR of the site's K3s."),
  deviceTraffic: z
    .enum(["hub-only", "site"])
    .default("hub-only")
    .describe("hub-only: devices reach the hub and nothing else over the tunnel; site: the hub also forwards between the devices of this site."),
  serverLanAddress: z
    .string()
    .refine((v) => isDomainName(v) || /^(\d{1,3}\.){3}\d{1,3}$/.test(v), { message: "is not an IPv4 address or a DNS name" })
    .optional()
    .describe("Address at which agents reach the server over the site's LAN; without it they join over the tunnel, which needs deviceTraffic: site."),
  workerTaint: z
    .strictObject({
      key: z.string().regex(LABEL_KEY, "is not a Kubernetes taint key").default("edp.daim.de/worker").describe("Taint key."),
      value: z.string().regex(LABEL_VALUE, "is not a Kubernetes taint value").default("true").describe("Taint value."),
      effect: z.enum(["NoSchedule", "PreferNoSchedule", "NoExecute"]).default("NoSchedule").describe("Taint effect."),
      enabled: z
        .boolean()
        .default(false)
        .describe("Apply the taint (seed 004: declare it first, roll out the tolerations, then enable it); even then a node is tainted only once every DaemonSet tolerates it."),
    })
    .default({ key: "edp.daim.de/worker", value: "true", effect: "NoSchedule", enabled: false })
    .describe("The worker taint that keeps core services off worker devices (seed 004)."),
  devices: z.array(siteDeviceSchema).min(1, "needs at least one device").describe("The site's devices; exactly one server."),
});

const siteHubSchema = z.strictObject({
  listenPort: port.default(51820).describe("UDP port of the WireGuard hub on E3; not a port of E3's own services."),
  tunnelCidr: cidr.default("10.250.0.0/22").describe("Tunnel addresses (/16 to /29): the hub takes the first host address, devices the others; disjoint from the VPC, pod, service and site CIDRs."),
  deviceSourceCidrs: z
    .array(cidr)
    .min(1, "needs at least one range (0.0.0.0/0 for devices behind NAT anywhere)")
    .default(["0.0.0.0/0"])
    .describe("Source ranges allowed to reach the hub's UDP port; devices behind NAT anywhere need 0.0.0.0/0."),
  operators: z
    .array(
      z.strictObject({
        name: z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, "must be 1 to 32 lower-case letters, digits or '-', starting with a letter").describe("Operator name, written to every session log line."),
        sshPublicKey: z.string().max(16384).regex(SSH_PUBLIC_KEY, "is not an OpenSSH public key line such as 'ssh-ed25519 AAAA… alice'").describe("The operator's own SSH public key."),
      }),
    )
    .default([])
    .describe("Operators allowed to open maintenance sessions through edp-access, each with their own key (no shared password)."),
});

/** Every non-secret `edp:*` key. Secret keys are listed in SECRET_KEYS and read separately. */
export const stageSchema = z.strictObject({
  stage: z.enum(STAGES, { error: `must be one of ${STAGES.join(", ")}` }).describe("The stage this stack deploys; must equal the stack name."),
  region: z
    .enum(ALICLOUD_REGIONS, { error: `must be an Alibaba Cloud region id such as eu-central-1` })
    .describe("alicloud:region — the Alibaba Cloud region of the stage."),
  bucketPrefix: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$/, "must be 3 to 40 lower-case letters, digits or '-', without dots, starting and ending alphanumeric")
    .describe("Prefix of every OSS bucket name (globally unique in Alibaba Cloud; no dots); the longest bucket name must stay within 63 characters."),
  dns: z
    .strictObject({
      publicZone: domain.describe("Public zone; platform names are <name>.api.<stage>.<publicZone>."),
      internalZone: domain.describe("VPC-private zone for names only the E3 host and the cluster resolve (edp-service)."),
    })
    .describe("DNS zones of the stage."),
  network: z
    .strictObject({
      vpcCidr: cidr.describe("VPC CIDR (/8 to /28), outside the ranges Alibaba Cloud reserves."),
      zones: z.array(zoneSchema).min(2, "needs at least two zones so the cluster survives the loss of one").describe("At least two zones, each with its vSwitch."),
      podCidr: cidr.describe("Pod CIDR, disjoint from the VPC and service CIDRs; used by an adopted cluster's checks only: a created cluster runs Terway, whose pods take vSwitch addresses."),
      serviceCidr: cidr.describe("Service CIDR (/16 to /24), disjoint from the VPC and pod CIDRs."),
    })
    .describe("The stage's VPC, vSwitches and cluster address ranges; all disjoint."),
  cluster: z
    .strictObject({
      create: clusterCreateSchema.optional().describe("Create an ACK managed cluster; omit to adopt one from edp:clusterKubeconfig."),
      rrsa: clusterRrsaSchema
        .optional()
        .describe("RRSA of an adopted cluster (edp:clusterKubeconfig): its OIDC provider, so the backup and snapshot Jobs assume RAM roles instead of holding access keys; omit to keep access keys. A created cluster has RRSA enabled and needs none."),
    })
    .default({})
    .describe("The central Kubernetes cluster."),
  ingress: z
    .strictObject({
      loadBalancerId: z.string().regex(LOAD_BALANCER_ID, "is not a load balancer id such as lb-gw8abcdefghijklmnop").describe("Id of the stage's existing Alibaba load balancer (manual §3.3.1)."),
      acmeEmail: z
        .email({ error: "is not an e-mail address" })
        .max(MAX_NAME_LENGTH)
        .optional()
        .describe("E-mail for an ACME (Let's Encrypt) issuer for the public names; omit to use the platform CA only."),
    })
    .describe("Ingress of the central cluster."),
  images: imagesSchema.describe("The EDP service images."),
  postgres: postgresSchema.describe("The platform's PostgreSQL (CloudNativePG)."),
  vault: vaultSchema.describe("Vault and the device PKI."),
  e3: e3Schema.describe("The E3 endpoint VM."),
  monitoring: monitoringSchema.describe("Prometheus and Loki."),
  alerting: alertingSchema.describe("Where Alertmanager sends alerts (receivers) and the dead man's switch."),
  edgeClusters: z.array(edgeClusterSchema).default([]).describe("Edge Kubernetes clusters that pull their desired state."),
  chartTemplates: z
    .record(templateName, chartTemplateSchema)
    .default({})
    .describe("Helm chart templates for edge deployments, by name."),
  deployments: z.array(deploymentSchema).default([]).describe("Edge deployments: a chart template on an edge cluster, pinned to a host or floating."),
  sites: z.array(siteSchema).default([]).describe("K3s edge sites (seed 004): devices joined to the WireGuard hub on E3, enrolled by script, listed in the device registry."),
  siteHub: siteHubSchema.default({ listenPort: 51820, tunnelCidr: "10.250.0.0/22", deviceSourceCidrs: ["0.0.0.0/0"], operators: [] }).describe("The WireGuard hub on E3 and the maintenance operators (used when edp:sites is not empty)."),
  existing: existingSchema
    .default({})
    .describe("What already runs in the stage's account and is adopted (Pulumi import, or a reference) instead of created; README, \"Adopting the running platform\"."),
  edgeSpecialisedTaintKey: z
    .string()
    .regex(QUALIFIED_KEY, "is not a qualified taint key such as factoryplus.app.amrc.co.uk/specialised")
    .default("factoryplus.app.amrc.co.uk/specialised")
    .describe("Taint and label key of specialised edge hosts; seed 001/002's own key by default."),
  edgeStatusIntervalMinutes: z
    .number()
    .int()
    .min(1, "must be 1 to 60 minutes")
    .max(60, "must be 1 to 60 minutes")
    .default(5)
    .describe("Minutes between two status reports of an edge cluster (its status writer CronJob)."),
  kubeEdge: kubeEdgeSchema.optional().describe("KubeEdge edge nodes (seed 003): CloudCore on the central cluster and the devices that join it; omit for none."),
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
  /** Passwords of the manual's secrets table the running platform uses, keyed by variable (config/existing-secrets.ts). */
  platformPasswords: "object",
  /** Vault's unseal or recovery keys, one per line, of a Vault that is already initialised. */
  vaultKeys: "string",
  /** Alertmanager's credentials: { smtpPassword, webhookUrl, deadMansSwitchUrl }, as edp:alerting needs them. */
  alertingSecrets: "object",
  /** EdgeMesh's pre-shared key (edp:kubeEdge.edgeMesh); generated when absent. */
  edgeMeshPsk: "string",
} as const;
export type SecretKey = keyof typeof SECRET_KEYS;

/** What each secret key holds and when it is needed (docs/config.md). */
export const SECRET_KEY_DOCS: Record<SecretKey, string> = {
  clusterKubeconfig: "Kubeconfig of an existing central cluster to adopt instead of edp:cluster.create; an https server and an embedded token or client certificate (the Vault bootstrap uses it).",
  edgeKubeconfigs: "Kubeconfig per edge cluster with bootstrap: direct, keyed by cluster name.",
  dockerPullJson: "Required. Docker config JSON for pulling the EDP images (the manual's DOCKER_PULL_JSON); must hold credentials for the host of edp:images.registry.",
  ddmFiles: "Required. The datadirectormangement-files values (the manual's DDM_* variables): every GPG value; the SSH pair both or neither.",
  issuerCa: "The platform CA { crt, key } in PEM: a CA certificate, valid now, and its own unencrypted key; generated when absent.",
  deviceCa: "The edge-device CA { crt, key } in PEM, as issuerCa; edp:vault.deviceCertTtlDays must end before it expires; Vault generates one (10 years) when absent.",
  platformPasswords:
    "Adopting: the running platform's passwords of the manual's secrets table, keyed GRAFANA_ADMIN_PASSWORD, KEYCLOAK_ADMIN_PASSWORD, KEYCLOAK_POSTGRES_PASSWORD, POSTGRES_ADMIN_PASSWORD, VAULT_DB_PASSWORD (the password rules of §3.2.2), LOKI_INGRESS_BASIC_AUTH (an htpasswd line with a bcrypt hash); each given is used instead of a generated one.",
  vaultKeys:
    "Adopting: the unseal (Shamir) or recovery (KMS seal) keys of a Vault whose storage is already initialised, one base64 key per line; the bootstrap unseals with them, makes a root token with them to apply its configuration, and revokes it.",
  alertingSecrets:
    "Alertmanager's credentials { smtpPassword, webhookUrl, deadMansSwitchUrl }: each one edp:alerting needs (smtpPassword when email.username is set, webhookUrl for webhook, deadMansSwitchUrl for deadMansSwitch); the URLs https://.",
  edgeMeshPsk:
    "EdgeMesh's pre-shared key (edp:kubeEdge.edgeMesh: true): every agent and relay must hold the same one to connect; one line of at least 32 characters (`openssl rand -base64 32`); generated (random, 32 bytes) when absent.",
};

export const REQUIRED_IMAGE_SERVICES = EDP_SERVICES;

/**
 * The datadirectormangement-files values (manual §3.2.2). The GPG values belong to the key the EDP
 * signs edge-device repository commits with: not stage-specific, supplied by DAIM, required in
 * edp:ddmFiles. The SSH pair is stage-specific and generated when edp:ddmFiles does not carry it.
 */
export const DDM_GPG_VARIABLES = ["DDM_REV", "DDM_KEY1", "DDM_KEY2", "DDM_GPG_CONF", "DDM_PASSPHRASE", "DDM_PUBRING", "DDM_TRUSTDB"] as const;
export const DDM_SSH_VARIABLES = ["DDM_SSH_PRIVATE", "DDM_SSH_PUB"] as const;
export type DdmVariable = (typeof DDM_GPG_VARIABLES)[number] | (typeof DDM_SSH_VARIABLES)[number];
