/**
 * The stage's network: a VPC with one vSwitch per configured zone, a NAT gateway whose EIP is
 * the stage's only egress address (SNAT for every vSwitch), and the security groups of the
 * cluster nodes (the E3 host's firewall belongs to the E3 component).
 */
import * as alicloud from "@pulumi/alicloud";
import type * as pulumi from "@pulumi/pulumi";
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

function securityGroup(scope: Scope, id: string, description: string, vpcId: pulumi.Input<string>, rules: IngressRule[]) {
  const { name, parent, cfg, tags } = scope;
  const group = new alicloud.ecs.SecurityGroup(
    `${name}-${id}-sg`,
    { securityGroupName: `${cfg.names.prefix}-${id}`, description, vpcId, innerAccessPolicy: "Accept", tags },
    { parent },
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
  const vpc = new alicloud.vpc.Network(
    `${name}-vpc`,
    { vpcName: prefix, cidrBlock: cfg.network.vpcCidr, description: `Edge Device Platform, stage ${cfg.stage}`, tags },
    { parent },
  );
  const vswitches = cfg.network.zones.map(
    (z) =>
      new alicloud.vpc.Switch(
        `${name}-vsw-${z.zoneId}`,
        { vswitchName: `${prefix}-${z.zoneId}`, vpcId: vpc.id, zoneId: z.zoneId, cidrBlock: z.vswitchCidr, tags },
        { parent },
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
    { parent },
  );
  const natEip = new alicloud.ecs.EipAddress(
    `${name}-nat-eip`,
    { addressName: `${prefix}-nat`, paymentType: "PayAsYouGo", internetChargeType: "PayByTraffic", bandwidth: "200", tags },
    { parent },
  );
  const association = new alicloud.ecs.EipAssociation(
    `${name}-nat-eip`,
    { allocationId: natEip.id, instanceId: natGateway.id, instanceType: "Nat" },
    { parent },
  );
  const snatEntries = cfg.network.zones.map(
    (z, i) =>
      new alicloud.vpc.SnatEntry(
        `${name}-snat-${z.zoneId}`,
        { snatTableId: natGateway.snatTableIds, sourceVswitchId: vswitches[i].id, snatIp: natEip.ipAddress, snatEntryName: `${prefix}-${z.zoneId}` },
        { parent, dependsOn: [association] },
      ),
  );
  const clusterSecurityGroup = securityGroup(scope, "cluster", "Central Kubernetes cluster nodes", vpc.id, clusterIngressRules(cfg));
  return { vpc, vswitches, natGateway, natEip, snatEntries, clusterSecurityGroup };
}
