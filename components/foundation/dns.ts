/**
 * DNS: the public platform names point at the stage's internet-facing ingress load balancer,
 * the E3 names at the E3 EIP (public Alibaba DNS), and the VPC-internal names at the intranet
 * load balancer inside a PrivateZone bound to the VPC, so they resolve, and are reachable, only there.
 */
import * as alicloud from "@pulumi/alicloud";
import type * as pulumi from "@pulumi/pulumi";
import { adoptOptions, importIds } from "../shared/adopt";
import { dnsRecordPlan, type RecordPlan } from "./records";
import type { Scope } from "./scope";

/** Alibaba DNS's smallest TTL on the free edition. */
export const PUBLIC_TTL = 600;
export const INTERNAL_TTL = 60;

type Balancer = Pick<alicloud.types.output.slb.GetApplicationLoadBalancersBalancer, "id" | "loadBalancerId" | "address" | "addressType">;

/**
 * The public address of the ingress load balancer among the lookup's results. The platform's
 * public names point at it, so an intranet balancer (a private address) is a configuration error.
 */
export function ingressAddressOf(balancers: Balancer[], id: string, region: string): string {
  const lb = balancers.find((b) => b.id === id || b.loadBalancerId === id);
  if (!lb) throw new Error(`edp:ingress.loadBalancerId: no load balancer ${id} in region ${region}`);
  if (lb.addressType !== "internet") {
    throw new Error(`edp:ingress.loadBalancerId: ${id} is an ${lb.addressType} load balancer (${lb.address}); the public platform names need an internet-facing one`);
  }
  return lb.address;
}

/** Address of the stage's existing ingress load balancer, looked up by id (manual §3.3.1). */
export function lookupIngressAddress(scope: Scope): pulumi.Output<string> {
  const id = scope.cfg.ingress.loadBalancerId;
  const found = alicloud.slb.getApplicationLoadBalancersOutput({ ids: [id] }, { parent: scope.parent });
  return found.apply((r) => ingressAddressOf(r.balancers, id, scope.cfg.region));
}

/**
 * The VPCs the PrivateZone is bound to. An adopted zone keeps every VPC it is bound to (the
 * attachment declares the whole list, so none is unbound); a new stage VPC is added to it, since
 * the internal names must resolve there. edp:existing.vpc, when adopted, is in the list already
 * (config/existing.ts checks it).
 */
export function zoneBindings<T>(adoptedZoneVpcIds: readonly string[] | undefined, stageVpc: T, stageVpcAdopted: boolean): { vpcId: string | T }[] {
  if (adoptedZoneVpcIds === undefined) return [{ vpcId: stageVpc }];
  const kept = adoptedZoneVpcIds.map((id) => ({ vpcId: id as string | T }));
  return stageVpcAdopted ? kept : [...kept, { vpcId: stageVpc }];
}

export interface DnsRecords {
  plan: RecordPlan[];
  internalZone: alicloud.pvtz.Zone;
}

export interface RecordAddresses {
  /** Public address of the internet-facing ingress load balancer. */
  ingress: pulumi.Input<string>;
  /** Private address of the intranet ingress load balancer. */
  internalIngress: pulumi.Input<string>;
  e3: pulumi.Input<string>;
}

export function createDnsRecords(scope: Scope, vpcId: pulumi.Input<string>, addresses: RecordAddresses): DnsRecords {
  const { name, parent, cfg } = scope;
  const plan = dnsRecordPlan(cfg.names, cfg.dns);
  // edp:existing.dns: the PrivateZone and records given are imported; the public zone is the operator's either way.
  const existing = cfg.existing.dns;
  const zone = existing?.privateZone;
  const internalZone = new alicloud.pvtz.Zone(
    `${name}-internal-zone`,
    { zoneName: cfg.dns.internalZone, remark: `${cfg.names.prefix}: VPC-internal names` },
    { parent, ...adoptOptions("alicloud:pvtz/zone:Zone", zone?.id) },
  );
  const vpcs = zoneBindings(zone?.vpcIds, vpcId, cfg.existing.vpc !== undefined);
  const attachment = new alicloud.pvtz.ZoneAttachment(`${name}-internal-zone`, { zoneId: internalZone.id, vpcs }, { parent, ...adoptOptions("alicloud:pvtz/zoneAttachment:ZoneAttachment", zone?.id) });
  for (const r of plan) {
    const value = r.target === "ingress" ? addresses.ingress : r.target === "internal-ingress" ? addresses.internalIngress : addresses.e3;
    if (r.visibility === "public") {
      const adopted = existing?.publicRecords[r.fqdn];
      new alicloud.dns.AlidnsRecord(
        `${name}-dns-${r.key}`,
        { domainName: r.zone, rr: r.rr, type: "A", value, ttl: PUBLIC_TTL },
        { parent, ...adoptOptions("alicloud:dns/alidnsRecord:AlidnsRecord", adopted) },
      );
    } else {
      new alicloud.pvtz.ZoneRecord(
        `${name}-dns-${r.key}`,
        { zoneId: internalZone.id, rr: r.rr, type: "A", value, ttl: INTERNAL_TTL },
        { parent, dependsOn: [attachment], ...adoptOptions("alicloud:pvtz/zoneRecord:ZoneRecord", zone?.records[r.fqdn] ? importIds.privateZoneRecord(zone.records[r.fqdn], zone.id) : undefined) },
      );
    }
  }
  return { plan, internalZone };
}
