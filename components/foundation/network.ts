/**
 * The stage's network: a VPC with one vSwitch per configured zone, a NAT gateway whose EIP is
 * the stage's only egress address (SNAT for every vSwitch), and the security groups of the
 * cluster nodes (the E3 host's firewall belongs to the E3 component).
 */
import * as alicloud from "@pulumi/alicloud";
import type * as pulumi from "@pulumi/pulumi";
import { adoptOptions, importIds } from "../shared/adopt";
import { clusterIngressRules, type IngressRule } from "./firewall";
import type { Scope } from "./scope";

export interface Network {
  vpc: alicloud.vpc.Network;
  vswitches: alicloud.vpc.Switch[];
  natGateway: alicloud.vpc.NatGateway;
  natEip: alicloud.ecs.EipAddress;
  /** SNAT entries: anything that needs egress (node pools) waits for them. */
  snatEntries: alicloud.vpc.SnatEntry[];
  clusterSecurityGroup: alicloud.ecs.SecurityGroup;
}

function securityGroup(scope: Scope, id: string, description: string, vpcId: pulumi.Input<string>, rules: IngressRule[], existingId?: string) {
  const { name, parent, cfg, tags } = scope;
  const group = new alicloud.ecs.SecurityGroup(
    `${name}-${id}-sg`,
    { securityGroupName: `${cfg.names.prefix}-${id}`, description, vpcId, innerAccessPolicy: "Accept", tags },
    { parent, ...adoptOptions("alicloud:ecs/securityGroup:SecurityGroup", existingId) },
  );
  for (const r of rules) {
    new alicloud.ecs.SecurityGroupRule(
      `${name}-${id}-sg-${r.id}`,
      {
        securityGroupId: group.id,
        type: "ingress",
        ipProtocol: r.protocol,
        portRange: r.portRange,
        cidrIp: r.cidr,
        policy: "accept",
        nicType: "intranet",
        priority: 1,
        description: r.description,
      },
      { parent },
    );
  }
  return group;
}

export function createNetwork(scope: Scope): Network {
  const { name, parent, cfg, tags } = scope;
  const prefix = cfg.names.prefix;
  // edp:existing: each entry given is imported (components/shared/adopt.ts); the rest is created.
  const existing = cfg.existing;
  const nat = existing.natGateway;
  const vpc = new alicloud.vpc.Network(
    `${name}-vpc`,
    { vpcName: prefix, cidrBlock: cfg.network.vpcCidr, description: `Edge Device Platform, stage ${cfg.stage}`, tags },
    { parent, ...adoptOptions("alicloud:vpc/network:Network", existing.vpc?.id) },
  );
  const vswitches = cfg.network.zones.map(
    (z) =>
      new alicloud.vpc.Switch(
        `${name}-vsw-${z.zoneId}`,
        { vswitchName: `${prefix}-${z.zoneId}`, vpcId: vpc.id, zoneId: z.zoneId, cidrBlock: z.vswitchCidr, tags },
        { parent, ...adoptOptions("alicloud:vpc/switch:Switch", existing.vswitches?.[z.zoneId]) },
      ),
  );
  const natGateway = new alicloud.vpc.NatGateway(
    `${name}-nat`,
    {
      natGatewayName: `${prefix}-nat`,
      vpcId: vpc.id,
      vswitchId: vswitches[0].id,
      natType: "Enhanced",
      networkType: "internet",
      paymentType: "PayAsYouGo",
      internetChargeType: "PayByLcu",
      tags,
    },
    { parent, ...adoptOptions("alicloud:vpc/natGateway:NatGateway", nat?.id) },
  );
  const natEip = new alicloud.ecs.EipAddress(
    `${name}-nat-eip`,
    { addressName: `${prefix}-nat`, paymentType: "PayAsYouGo", internetChargeType: "PayByTraffic", bandwidth: "200", tags },
    { parent, ...adoptOptions("alicloud:ecs/eipAddress:EipAddress", nat?.eipId) },
  );
  const association = new alicloud.ecs.EipAssociation(
    `${name}-nat-eip`,
    { allocationId: natEip.id, instanceId: natGateway.id, instanceType: "Nat" },
    { parent, ...adoptOptions("alicloud:ecs/eipAssociation:EipAssociation", nat ? importIds.eipAssociation(nat.eipId, nat.id) : undefined) },
  );
  const snatEntries = cfg.network.zones.map(
    (z, i) =>
      new alicloud.vpc.SnatEntry(
        `${name}-snat-${z.zoneId}`,
        { snatTableId: natGateway.snatTableIds, sourceVswitchId: vswitches[i].id, snatIp: natEip.ipAddress, snatEntryName: `${prefix}-${z.zoneId}` },
        {
          parent,
          dependsOn: [association],
          ...adoptOptions("alicloud:vpc/snatEntry:SnatEntry", nat?.snatEntries[z.zoneId] ? importIds.snatEntry(nat.snatTableId, nat.snatEntries[z.zoneId]) : undefined),
        },
      ),
  );
  const clusterSecurityGroup = securityGroup(scope, "cluster", "Central Kubernetes cluster nodes", vpc.id, clusterIngressRules(cfg), existing.cluster?.securityGroupId);
  return { vpc, vswitches, natGateway, natEip, snatEntries, clusterSecurityGroup };
}
