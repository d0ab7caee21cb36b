/**
 * From one run of the real program (under the mock runtime) with a stage's `edp:existing`: the
 * `pulumi import` file for every resource the program adopts, and what it does not import and
 * why. Pure: the import file is derived from the resources that carry the `import` option, so it
 * can never name a resource the program does not declare, nor miss one it adopts.
 *
 * The file follows the CLI's schema (pkg/cmd/pulumi/operations/import.go, `importFile`):
 * `resources[]` of `{ type, name, id, parent, component, logicalName }`, where `parent` names
 * another entry of the same file (Pulumi 3.94+) and `component: true` makes the empty component
 * a child is imported under (3.94+); `logicalName` (3.98+) is the name the program registers,
 * when the entry's `name` must differ from it to stay unique in the file.
 */
import type { RecordedResource, RunResult } from "./mock-runtime";

export interface ImportEntry {
  type: string;
  name: string;
  id?: string;
  parent?: string;
  component?: boolean;
  logicalName?: string;
}

export interface ImportFile {
  resources: ImportEntry[];
}

export interface NotImported {
  type: string;
  name: string;
  why: string;
}

export interface AdoptPlan {
  file: ImportFile;
  /** Resources the program creates although edp:existing may name something of the kind, and why. */
  notImported: NotImported[];
  /** What stays outside the program altogether. */
  outside: string[];
}

/** Why a resource of a type without an adoption path is created rather than imported. */
const NOT_IMPORTABLE: Record<string, string> = {
  "alicloud:cs/autoscalingConfig:AutoscalingConfig": "the provider has no import for it (no Import section); it is a cluster setting the first `up` writes over the cluster's autoscaler settings",
  "alicloud:ecs/securityGroupRule:SecurityGroupRule":
    "each rule is its own resource and edp:existing does not list rule ids; the program's rules are added to the (adopted) group. A rule already in the group with the same protocol, port and source collides: delete it first, or import it by hand with its rule id",
  "alicloud:kms/alias:Alias": "the aliases alias/edp-<stage>-* are the program's own names; they point at the adopted keys",
  "alicloud:ram/user:User": "the program's least-privilege identities are new; the manual's OSS credentials stay untouched (delete them after the switch)",
  "alicloud:ram/policy:Policy": "belongs to one of the program's new RAM users",
  "alicloud:ram/userPolicyAttachment:UserPolicyAttachment": "belongs to one of the program's new RAM users",
  "alicloud:ram/accessKey:AccessKey": "an access key's secret is returned only when it is created, so an existing key cannot be imported with it",
  "alicloud:ram/role:Role": "E3's instance role is new; nothing in the manual's platform corresponds to it",
  "alicloud:kms/ciphertext:Ciphertext": "the program's own encryption of Vault's keys with the (adopted) unseal key; nothing to import",
  "alicloud:oss/bucketObject:BucketObject": "the program's own desired-state object of an edge cluster, written under <stage>/clusters/<name>/ of the (adopted) manifests bucket",
};

/** Types edp:existing can adopt, and the key that does it. */
const ADOPTABLE_BY: Record<string, string> = {
  "alicloud:vpc/network:Network": "edp:existing.vpc",
  "alicloud:vpc/switch:Switch": "edp:existing.vswitches",
  "alicloud:vpc/natGateway:NatGateway": "edp:existing.natGateway",
  "alicloud:vpc/snatEntry:SnatEntry": "edp:existing.natGateway.snatEntries",
  "alicloud:ecs/eipAddress:EipAddress": "edp:existing.natGateway.eipId / edp:existing.e3Eip",
  "alicloud:ecs/eipAssociation:EipAssociation": "edp:existing.natGateway / edp:existing.e3",
  "alicloud:ecs/securityGroup:SecurityGroup": "edp:existing.cluster.securityGroupId / edp:existing.e3.securityGroupId",
  "alicloud:cs/managedKubernetes:ManagedKubernetes": "edp:existing.cluster",
  "alicloud:cs/nodePool:NodePool": "edp:existing.cluster.nodePools",
  "alicloud:oss/bucket:Bucket": "edp:existing.buckets",
  "alicloud:oss/bucketAcl:BucketAcl": "edp:existing.buckets",
  "alicloud:oss/bucketPublicAccessBlock:BucketPublicAccessBlock": "edp:existing.buckets",
  "alicloud:kms/key:Key": "edp:existing.kms",
  "alicloud:pvtz/zone:Zone": "edp:existing.dns.privateZone",
  "alicloud:pvtz/zoneAttachment:ZoneAttachment": "edp:existing.dns.privateZone",
  "alicloud:pvtz/zoneRecord:ZoneRecord": "edp:existing.dns.privateZone.records",
  "alicloud:dns/alidnsRecord:AlidnsRecord": "edp:existing.dns.publicRecords",
  "alicloud:ecs/instance:Instance": "edp:existing.e3",
  "alicloud:ecs/ecsDisk:EcsDisk": "edp:existing.e3.dataDiskId",
  "alicloud:ecs/ecsDiskAttachment:EcsDiskAttachment": "edp:existing.e3",
};

/** Things the program references or leaves alone, whatever edp:existing says. */
export const OUTSIDE = [
  "The stage's internet-facing SLB (edp:ingress.loadBalancerId): looked up by id for its address and named in ingress-nginx's Service annotation; never imported, so nothing in the program can change or delete it.",
  "The public DNS zone itself (edp:dns.publicZone): only the records the program names are managed.",
  "Kubernetes objects and Helm releases already in an adopted cluster (the manual's Flux-managed infrastructure and apps): not imported; README, \"Adopting the running platform\", says how they are handed over.",
];

export function buildAdoptPlan(result: RunResult): AdoptPlan {
  const byUrn = new Map(result.resources.map((r) => [r.urn, r]));
  const adopted = result.resources.filter((r) => r.options.import !== undefined);
  // Components that are parents of adopted resources are imported as empty components first.
  const needed = new Set<string>();
  for (const r of adopted) {
    for (let p = r.parent ? byUrn.get(r.parent) : undefined; p && !p.custom; p = p.parent ? byUrn.get(p.parent) : undefined) needed.add(p.urn);
  }
  const components = result.resources.filter((r) => needed.has(r.urn));
  const ordered = [...components, ...adopted];
  // Entry names must be unique in the file; the program reuses a logical name across types (an EIP and its association).
  const counts = new Map<string, number>();
  for (const r of ordered) counts.set(r.name, (counts.get(r.name) ?? 0) + 1);
  const entryName = (r: RecordedResource) => ((counts.get(r.name) ?? 0) > 1 ? `${r.name}:${r.type.split(":").pop() ?? r.type}` : r.name);
  const resources = ordered.map((r): ImportEntry => {
    const parent = r.parent ? byUrn.get(r.parent) : undefined;
    const entry: ImportEntry = { type: r.type, name: entryName(r) };
    if (r.custom) entry.id = r.options.import;
    else entry.component = true;
    if (parent && needed.has(parent.urn)) entry.parent = entryName(parent);
    if (entry.name !== r.name) entry.logicalName = r.name;
    return entry;
  });
  const notImported: NotImported[] = [];
  for (const r of result.resources) {
    if (!r.custom || r.options.import !== undefined || !r.type.startsWith("alicloud:")) continue;
    const fixed = NOT_IMPORTABLE[r.type];
    const key = ADOPTABLE_BY[r.type];
    const why = fixed ?? (key ? `created: ${key} does not name it` : "created: the program has no adoption path for this type");
    notImported.push({ type: r.type, name: r.name, why });
  }
  return { file: { resources }, notImported, outside: OUTSIDE };
}

/** The steps, in order, an operator runs with the file (README, "Adopting the running platform"). */
export function adoptSteps(stage: string, fileName: string): string[] {
  return [
    `pulumi stack select <org>/${stage}`,
    `pulumi import --file ${fileName} --generate-code=false --protect=false --yes   # state only; the program declares these resources already`,
    "pulumi preview --diff   # read it: no delete, no replace; updates only where README lists them",
    "pulumi up",
  ];
}
