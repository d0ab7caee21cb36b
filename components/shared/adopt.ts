/**
 * Turning an `edp:existing` entry into resource options: Pulumi's `import` option with the id
 * the provider's Import section asks for, plus `ignoreChanges` for the properties an adopted
 * resource keeps as the operator made it.
 *
 * Why ignoreChanges at all: since Pulumi 3.174 an import whose declared inputs differ from what
 * the cloud reports no longer fails; the engine imports, then updates the resource to the
 * program's inputs (a change that would replace it is refused while the import id is set). The
 * first `up` must change nothing it does not have to, so each adopted type lists here the
 * properties the program cannot know and has no reason to change (names, descriptions, tags,
 * sizes an operator chose). What it declares, and must match or is deliberately changed, is
 * what the platform depends on (CIDRs, zones, the VPC, ACLs, encryption): README, "Adopting
 * the running platform", lists both per type.
 */
import type * as pulumi from "@pulumi/pulumi";

export interface AdoptedType {
  /** Properties left as the cloud reports them. */
  keep: readonly string[];
  /** Why, in a line (README and `npm run adopt`). */
  why: string;
}

/** Per provider type token: what an adopted resource keeps. */
export const ADOPTED_TYPES: Record<string, AdoptedType> = {
  "alicloud:vpc/network:Network": { keep: ["vpcName", "description", "tags"], why: "names and tags are the operator's; cidrBlock is declared and must be edp:network.vpcCidr" },
  "alicloud:vpc/switch:Switch": { keep: ["vswitchName", "description", "tags"], why: "zoneId, cidrBlock and vpcId are declared and must match the zone's entry of edp:network.zones" },
  "alicloud:vpc/natGateway:NatGateway": {
    keep: ["natGatewayName", "description", "tags", "natType", "paymentType", "internetChargeType", "specification", "vswitchId", "networkType"],
    why: "the program only adds SNAT entries to it; its type, billing and placement stay as they are",
  },
  "alicloud:ecs/eipAddress:EipAddress": {
    keep: ["addressName", "description", "tags", "bandwidth", "paymentType", "internetChargeType", "isp"],
    why: "the address is what matters; bandwidth and billing are the operator's choice",
  },
  "alicloud:ecs/eipAssociation:EipAssociation": { keep: [], why: "allocationId and instanceId are its id" },
  "alicloud:vpc/snatEntry:SnatEntry": { keep: ["snatEntryName"], why: "source vSwitch and SNAT address are declared" },
  "alicloud:ecs/securityGroup:SecurityGroup": { keep: ["securityGroupName", "description", "tags"], why: "vpcId is declared; the program's rules are added as their own resources" },
  "alicloud:cs/managedKubernetes:ManagedKubernetes": {
    keep: ["name", "version", "clusterSpec", "addons", "tags", "vswitchIds", "newNatGateway", "slbInternetEnabled", "securityGroupId", "deleteOptions"],
    why: "adoption never upgrades, re-edits or re-networks a running cluster (addons would install or remove components); podCidr and serviceCidr are declared and must match, deletionProtection is declared",
  },
  "alicloud:cs/nodePool:NodePool": {
    keep: ["nodePoolName", "tags", "labels", "securityGroupIds", "vswitchIds", "systemDiskCategory", "instanceTypes", "systemDiskSize", "management"],
    why: "nodes stay as they are; the pool's scaling bounds are declared from edp:cluster.create.nodePools",
  },
  "alicloud:oss/bucket:Bucket": {
    keep: ["tags", "storageClass", "forceDestroy"],
    why: "encryption, versioning and lifecycle rules are declared: the program's backups and Vault snapshots depend on them",
  },
  "alicloud:oss/bucketAcl:BucketAcl": { keep: [], why: "private ACL is declared" },
  "alicloud:oss/bucketPublicAccessBlock:BucketPublicAccessBlock": { keep: [], why: "blocking public access is declared" },
  "alicloud:kms/key:Key": {
    keep: ["description", "tags", "pendingWindowInDays", "deletionProtectionDescription", "automaticRotation", "rotationInterval"],
    why: "keySpec and keyUsage are declared (Aliyun_AES_256, ENCRYPT/DECRYPT); deletion protection is declared",
  },
  "alicloud:pvtz/zone:Zone": { keep: ["remark", "tags"], why: "zoneName is declared and must be edp:dns.internalZone" },
  "alicloud:pvtz/zoneAttachment:ZoneAttachment": { keep: [], why: "vpcs is declared from edp:existing.dns.privateZone.vpcIds, so no VPC is unbound" },
  "alicloud:pvtz/zoneRecord:ZoneRecord": { keep: ["ttl", "remark", "priority"], why: "rr, type and value are declared: the name must point at the platform" },
  "alicloud:dns/alidnsRecord:AlidnsRecord": { keep: ["ttl", "remark", "line", "priority"], why: "domainName, rr, type and value are declared: the name must point at the platform" },
  "alicloud:ecs/instance:Instance": {
    keep: [
      "instanceName",
      "hostName",
      "description",
      "tags",
      "instanceType",
      "systemDiskCategory",
      "systemDiskSize",
      "internetMaxBandwidthOut",
      "availabilityZone",
      "vswitchId",
      "roleName",
    ],
    why: "the host stays where and as it is, with its RAM role (a type change would stop it); its security group and deletion protection are declared",
  },
  "alicloud:ecs/ecsDisk:EcsDisk": {
    keep: ["diskName", "description", "tags", "zoneId", "category", "size", "encrypted", "performanceLevel"],
    why: "the data disk keeps its size, zone and encryption (an unencrypted disk cannot be encrypted in place); deleteWithInstance false is declared",
  },
  "alicloud:ecs/ecsDiskAttachment:EcsDiskAttachment": { keep: [], why: "diskId and instanceId are its id" },
};

/**
 * Resource options that adopt the resource with import id `id`, or nothing when `id` is
 * undefined (the resource is created). `ignoreChanges` the caller already has are kept.
 */
export function adoptOptions(type: string, id: string | undefined, ignoreChanges: readonly string[] = []): pulumi.CustomResourceOptions {
  if (id === undefined) return ignoreChanges.length > 0 ? { ignoreChanges: [...ignoreChanges] } : {};
  const adopted = ADOPTED_TYPES[type];
  if (!adopted) throw new Error(`adoptOptions: no adoption rules for ${type}; add them to components/shared/adopt.ts`);
  return { import: id, ignoreChanges: [...new Set([...ignoreChanges, ...adopted.keep])] };
}

/** Import ids of types whose id joins two ids (the provider's Import sections). */
export const importIds = {
  /** alicloud_snat_entry: <snat_table_id>:<snat_entry_id>. */
  snatEntry: (snatTableId: string, entryId: string) => `${snatTableId}:${entryId}`,
  /** alicloud_eip_association: <allocation_id>:<instance_id>. */
  eipAssociation: (allocationId: string, instanceId: string) => `${allocationId}:${instanceId}`,
  /** alicloud_cs_kubernetes_node_pool: <cluster_id>:<node_pool_id>. */
  nodePool: (clusterId: string, nodePoolId: string) => `${clusterId}:${nodePoolId}`,
  /** alicloud_pvtz_zone_record: <record_id>:<zone_id> (the provider sets the id so on create). */
  privateZoneRecord: (recordId: string, zoneId: string) => `${recordId}:${zoneId}`,
  /** alicloud_ecs_disk_attachment: <disk_id>:<instance_id>. */
  diskAttachment: (diskId: string, instanceId: string) => `${diskId}:${instanceId}`,
};
