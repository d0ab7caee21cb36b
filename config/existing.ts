/**
 * `edp:existing`: what already runs in the stage's account (the manual's platform) and is to be
 * adopted instead of created. Each entry names a resource by the id its Import section in the
 * Alibaba provider's documentation asks for; the program then registers that resource with
 * Pulumi's `import` option (components/shared/adopt.ts) or, where only a reference is needed,
 * uses it by name. Everything absent is created as before.
 *
 * The schema checks each id's shape; `existingProblems` checks the combinations (an adopted
 * cluster needs the adopted VPC and its vSwitches, an adopted E3 host needs its EIP, …), so a
 * half-adopted stage is refused before anything is registered.
 */
import { z } from "zod";
import { dnsRecordPlan } from "../components/foundation/records";
import type { ConfigProblem } from "./load";
import { stageNames } from "./naming";
import type { StageInput } from "./schema";

const id = (pattern: RegExp, example: string) => z.string().regex(pattern, `is not an id such as ${example}`);

export const EXISTING_IDS = {
  vpc: id(/^vpc-[a-z0-9]{8,32}$/, "vpc-gw8abcdefghijklmnop"),
  vswitch: id(/^vsw-[a-z0-9]{8,32}$/, "vsw-gw8abcdefghijklmnop"),
  natGateway: id(/^ngw-[a-z0-9]{8,32}$/, "ngw-gw8abcdefghijklmnop"),
  snatTable: id(/^stb-[a-z0-9]{8,32}$/, "stb-gw8abcdefghijklmnop"),
  snatEntry: id(/^snat-[a-z0-9]{8,32}$/, "snat-gw8abcdefghijklmnop"),
  eip: id(/^eip-[a-z0-9]{8,32}$/, "eip-gw8abcdefghijklmnop"),
  securityGroup: id(/^sg-[a-z0-9]{8,32}$/, "sg-gw8abcdefghijklmnop"),
  /** ACK cluster ids are a 'c' and 32 hex digits. */
  cluster: id(/^c[a-f0-9]{32}$/, "c0123456789abcdef0123456789abcdef"),
  nodePool: id(/^np[a-f0-9]{32}$/, "np0123456789abcdef0123456789abcdef"),
  instance: id(/^i-[a-z0-9]{8,32}$/, "i-gw8abcdefghijklmnop"),
  disk: id(/^d-[a-z0-9]{8,32}$/, "d-gw8abcdefghijklmnop"),
  /** KMS key ids: a UUID (older keys) or key-<region code><id>. */
  kmsKey: id(/^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|key-[a-z0-9]{8,40})$/, "key-hzz62f1cb66fa42qoxyz0 or a UUID"),
  /** Alibaba DNS and PrivateZone record ids are numbers. */
  record: id(/^[0-9]{1,24}$/, "17234509872123904"),
  privateZone: id(/^[a-z0-9]{8,64}$/, "6d83e3b31aa60ca4aaa7161f1b6baa95"),
} as const;

/**
 * An OSS bucket name as OSS allows it, without dots (Flux and OSS need virtual-hosted
 * addressing, where a dot breaks the TLS wildcard certificate).
 */
const bucketName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/, "is not an OSS bucket name this program can use: 3 to 63 lower-case letters, digits or '-', starting and ending alphanumeric, no dots");

const bucketSchema = z.strictObject({
  name: bucketName.describe("The bucket's name, e.g. the manual's edp-manifests."),
  mode: z
    .enum(["import", "reference"])
    .default("import")
    .describe(
      "import: this stack manages the bucket from now on (ACL, public access block, encryption, lifecycle, versioning); reference: it only uses the name. A bucket several stages share (the manual's edp-postgres-backup with a folder per stage) must be referenced: OSS keeps one lifecycle rule set per bucket, and each stage's would replace the others'.",
    ),
});

export const existingSchema = z.strictObject({
  vpc: z.strictObject({ id: EXISTING_IDS.vpc.describe("VPC id; its CIDR must be edp:network.vpcCidr.") }).optional().describe("The stage's VPC."),
  vswitches: z
    .record(z.string(), EXISTING_IDS.vswitch)
    .optional()
    .describe("vSwitch id by zone id of edp:network.zones (each vSwitch's CIDR must be that zone's vswitchCidr); zones not listed get a new vSwitch."),
  natGateway: z
    .strictObject({
      id: EXISTING_IDS.natGateway.describe("NAT gateway id."),
      snatTableId: EXISTING_IDS.snatTable.describe("Its SNAT table id (SNAT entries are imported as <snatTableId>:<snatEntryId>)."),
      eipId: EXISTING_IDS.eip.describe("Allocation id of the EIP bound to it (the stage's egress address)."),
      snatEntries: z.record(z.string(), EXISTING_IDS.snatEntry).default({}).describe("SNAT entry id by zone id; zones not listed get a new entry."),
    })
    .optional()
    .describe("The NAT gateway, its EIP and SNAT entries."),
  e3Eip: EXISTING_IDS.eip.optional().describe("Allocation id of the E3 host's EIP (the address edge devices know)."),
  buckets: z
    .strictObject({
      manifests: bucketSchema.optional().describe("Edge clusters' desired state (the manual's edp-manifests)."),
      backup: bucketSchema.optional().describe("PostgreSQL dumps under <stage>/ (the manual's edp-postgres-backup)."),
      vaultSnapshots: bucketSchema.optional().describe("Vault raft snapshots."),
    })
    .optional()
    .describe("OSS buckets by purpose."),
  dns: z
    .strictObject({
      publicRecords: z
        .record(z.string(), EXISTING_IDS.record)
        .default({})
        .describe("Alibaba DNS record id by fully qualified name (a public name of the program in edp:dns.publicZone, e.g. edp-portal.api.testing.example-edp.net)."),
      privateZone: z
        .strictObject({
          id: EXISTING_IDS.privateZone.describe("PrivateZone id; its zone name must be edp:dns.internalZone."),
          vpcIds: z
            .array(EXISTING_IDS.vpc)
            .min(1)
            .describe("Every VPC the zone is bound to today (the stage's VPC among them); the binding is declared with exactly these, so none is unbound."),
          records: z.record(z.string(), EXISTING_IDS.record).default({}).describe("PrivateZone record id by fully qualified internal name."),
        })
        .optional()
        .describe("The PrivateZone of edp:dns.internalZone."),
    })
    .optional()
    .describe("DNS records in the existing zones."),
  kms: z
    .strictObject({
      vaultUnseal: EXISTING_IDS.kmsKey.optional().describe("KMS key Vault auto-unseals with (Aliyun_AES_256, ENCRYPT/DECRYPT)."),
      buckets: EXISTING_IDS.kmsKey.optional().describe("KMS key the data buckets are encrypted with (Aliyun_AES_256, ENCRYPT/DECRYPT)."),
    })
    .optional()
    .describe("Customer-managed KMS keys."),
  cluster: z
    .strictObject({
      id: EXISTING_IDS.cluster.describe("ACK managed cluster id."),
      securityGroupId: EXISTING_IDS.securityGroup.optional().describe("Security group of the cluster's nodes; a new one is made when absent."),
      nodePools: z.record(z.string(), EXISTING_IDS.nodePool).default({}).describe("Node pool id by name of edp:cluster.create.nodePools; pools not listed are created."),
    })
    .optional()
    .describe("The stage's ACK cluster; edp:cluster.create then describes what the program manages of it."),
  e3: z
    .strictObject({
      instanceId: EXISTING_IDS.instance.describe("The E3 host's ECS instance id."),
      dataDiskId: EXISTING_IDS.disk.describe("Its data disk (registry, Git, packages)."),
      securityGroupId: EXISTING_IDS.securityGroup.describe("Its security group (kept: the instance is not moved to a new one)."),
      configure: z
        .boolean()
        .default(false)
        .describe(
          "Deliver the program's E3 configuration over SSH. Leave false until the host runs Debian 12 and the deploy key (stack output e3DeployPublicKey) is in the deploy user's authorized_keys: the manual's E3 is CentOS 8 with Ansible.",
        ),
    })
    .optional()
    .describe("The E3 host."),
});

export type ExistingInput = z.infer<typeof existingSchema>;

/** The pieces of the stage config the combination rules read. */
type Facts = Pick<StageInput, "stage" | "bucketPrefix" | "dns" | "network" | "cluster" | "existing">;

/**
 * Combinations of `edp:existing` that cannot work, and entries that name nothing of this stage.
 * `adoptsClusterByKubeconfig`: edp:clusterKubeconfig is set.
 */
export function existingProblems(cfg: Facts, adoptsClusterByKubeconfig: boolean): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  const e = cfg.existing;
  const k = (path: string) => `edp:existing.${path}`;
  const zones = cfg.network.zones.map((z) => z.zoneId);
  const first = zones[0];
  const vswitches = e.vswitches ?? {};
  for (const zone of Object.keys(vswitches)) {
    if (!zones.includes(zone)) out.push({ key: k(`vswitches.${zone}`), message: `names no zone of edp:network.zones (${zones.join(", ")})` });
  }
  if (e.vswitches && !e.vpc) out.push({ key: k("vswitches"), message: "needs edp:existing.vpc: an adopted vSwitch lives in the adopted VPC" });
  if (adoptsClusterByKubeconfig && !e.vpc) {
    out.push({
      key: k("vpc"),
      message: "is required when edp:clusterKubeconfig adopts a cluster: without it a new VPC is made, and E3 and the PrivateZone would land outside the cluster's network",
    });
  }
  if (e.natGateway) {
    if (!e.vpc) out.push({ key: k("natGateway"), message: "needs edp:existing.vpc: an adopted NAT gateway lives in the adopted VPC" });
    if (!vswitches[first]) out.push({ key: k("natGateway"), message: `needs edp:existing.vswitches.${first}: the NAT gateway sits in the first zone's vSwitch` });
    for (const zone of Object.keys(e.natGateway.snatEntries)) {
      if (!zones.includes(zone)) out.push({ key: k(`natGateway.snatEntries.${zone}`), message: `names no zone of edp:network.zones (${zones.join(", ")})` });
      else if (!vswitches[zone]) out.push({ key: k(`natGateway.snatEntries.${zone}`), message: `needs edp:existing.vswitches.${zone}: an adopted SNAT entry serves an adopted vSwitch` });
    }
  }
  if (e.cluster) {
    if (adoptsClusterByKubeconfig) out.push({ key: k("cluster"), message: "and edp:clusterKubeconfig both adopt the cluster; use one (edp:existing.cluster imports it, the kubeconfig only reaches it)" });
    const create = cfg.cluster.create;
    if (!create) out.push({ key: k("cluster"), message: "needs edp:cluster.create: it describes what the program manages of the adopted cluster (version, edition, node pools)" });
    if (!e.vpc) out.push({ key: k("cluster"), message: "needs edp:existing.vpc: an adopted cluster lives in the adopted VPC" });
    const missing = zones.filter((z) => !vswitches[z]);
    if (missing.length > 0) out.push({ key: k("cluster"), message: `needs an adopted vSwitch for every zone (missing: ${missing.map((z) => `edp:existing.vswitches.${z}`).join(", ")})` });
    const pools = (create?.nodePools ?? []).map((p) => p.name);
    for (const pool of Object.keys(e.cluster.nodePools)) {
      if (!pools.includes(pool)) out.push({ key: k(`cluster.nodePools.${pool}`), message: `names no node pool of edp:cluster.create.nodePools (${pools.join(", ") || "none"})` });
    }
  }
  if (e.e3) {
    if (!e.vpc) out.push({ key: k("e3"), message: "needs edp:existing.vpc: the adopted E3 host lives in the adopted VPC" });
    if (!vswitches[first]) out.push({ key: k("e3"), message: `needs edp:existing.vswitches.${first}: the E3 host's vSwitch` });
    if (!e.e3Eip) out.push({ key: k("e3"), message: "needs edp:existing.e3Eip: an adopted host already has its address, and a second EIP cannot be bound to it" });
  }
  const buckets = e.buckets ?? {};
  const seen = new Map<string, string>();
  for (const [kind, b] of Object.entries(buckets)) {
    if (!b) continue;
    const other = seen.get(b.name);
    if (other) out.push({ key: k(`buckets.${kind}.name`), message: `${b.name} is also edp:existing.buckets.${other}.name; each purpose needs its own bucket` });
    seen.set(b.name, kind);
  }
  const dns = e.dns;
  if (dns) {
    const plan = dnsRecordPlan(stageNames(cfg), cfg.dns);
    const publicNames = plan.filter((r) => r.visibility === "public").map((r) => r.fqdn);
    const internalNames = plan.filter((r) => r.visibility === "internal").map((r) => r.fqdn);
    for (const fqdn of Object.keys(dns.publicRecords)) {
      if (!publicNames.includes(fqdn)) out.push({ key: k(`dns.publicRecords.${fqdn}`), message: `is not a public name of this stage (${publicNames.join(", ")})` });
    }
    const zone = dns.privateZone;
    if (zone) {
      for (const fqdn of Object.keys(zone.records)) {
        if (!internalNames.includes(fqdn)) out.push({ key: k(`dns.privateZone.records.${fqdn}`), message: `is not an internal name of this stage (${internalNames.join(", ")})` });
      }
      if (e.vpc && !zone.vpcIds.includes(e.vpc.id)) {
        out.push({ key: k("dns.privateZone.vpcIds"), message: `does not hold edp:existing.vpc.id (${e.vpc.id}); the internal names must resolve in the stage's VPC` });
      }
    }
  }
  return out;
}
