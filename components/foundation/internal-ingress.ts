/**
 * The intranet load balancer of the internal ingress controller. VPC-internal names (edp-service,
 * the Keycloak admin console, Loki, Vault for E3) resolve to its private address through the
 * PrivateZone, so they are reachable from the VPC only and never by a Host header sent to the
 * internet-facing load balancer. The program owns it (unlike the public one, which the stage
 * brings): its address is known before any Kubernetes object exists, so the DNS records do not
 * wait for the controller's Service.
 */
import * as alicloud from "@pulumi/alicloud";
import type * as pulumi from "@pulumi/pulumi";
import type { Network } from "./network";
import type { Scope } from "./scope";

export interface InternalIngressBalancer {
  /** Id, for the internal controller's Service annotation. */
  loadBalancerId: pulumi.Output<string>;
  /** Private address in the first zone's vSwitch; the PrivateZone records point here. */
  address: pulumi.Output<string>;
}

export function createInternalIngressBalancer(scope: Scope, network: Network): InternalIngressBalancer {
  const { name, parent, cfg, tags } = scope;
  const [primary, standby] = cfg.network.zones;
  const lb = new alicloud.slb.ApplicationLoadBalancer(
    `${name}-internal-ingress`,
    {
      loadBalancerName: `${cfg.names.prefix}-internal-ingress`,
      addressType: "intranet",
      vswitchId: network.vswitches[0].id,
      // Primary and standby in two zones, like the cluster: losing one zone keeps the internal names up.
      masterZoneId: primary.zoneId,
      slaveZoneId: standby?.zoneId,
      loadBalancerSpec: "slb.s2.small",
      paymentType: "PayAsYouGo",
      internetChargeType: "PayByTraffic",
      deleteProtection: cfg.protect ? "on" : "off",
      tags,
    },
    // E3 and the PrivateZone records know this address; keeping it keeps them working.
    { parent, protect: cfg.protect },
  );
  return { loadBalancerId: lb.id, address: lb.address };
}
