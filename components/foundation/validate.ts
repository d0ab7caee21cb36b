/**
 * The foundation's own preconditions on the stage config. config/checks.ts reports the same
 * problems for a stack file; these guard a Foundation built from a StageConfig assembled any
 * other way, before a single resource is registered.
 */
import type { StageConfig } from "../../config";
import type { ConfigProblem } from "../../config/load";
import { cidrsOverlap, type Ipv4Cidr, parseIpv4Cidr } from "../../config/validators";

type FoundationInput = Pick<StageConfig, "clusterMode" | "cluster" | "network" | "secrets">;

export function foundationProblems(cfg: FoundationInput): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  const create = cfg.cluster.create !== undefined;
  const adopt = cfg.secrets.clusterKubeconfig !== undefined;
  if (create && adopt) out.push({ key: "edp:cluster.create", message: "and edp:clusterKubeconfig are mutually exclusive: create an ACK cluster or adopt one, not both" });
  else if (!create && !adopt) out.push({ key: "edp:cluster.create", message: "is missing: set edp:cluster.create, or edp:clusterKubeconfig (secret) to adopt a cluster" });
  else if ((cfg.clusterMode === "create") !== create) out.push({ key: "edp:cluster.create", message: `does not match the cluster mode ${JSON.stringify(cfg.clusterMode)}` });
  if (cfg.network.zones.length < 2) out.push({ key: "edp:network.zones", message: `lists ${cfg.network.zones.length} zone(s); the cluster needs at least two` });
  const ranges: [string, string][] = [
    ["edp:network.vpcCidr", cfg.network.vpcCidr],
    ["edp:network.podCidr", cfg.network.podCidr],
    ["edp:network.serviceCidr", cfg.network.serviceCidr],
  ];
  const parsed = ranges.map(([key, text]) => [key, parseIpv4Cidr(text)] as const);
  parsed.forEach(([key, cidr], i) => {
    if (typeof cidr === "string") {
      out.push({ key, message: cidr });
      return;
    }
    for (const [otherKey, other] of parsed.slice(0, i)) {
      if (typeof other !== "string" && cidrsOverlap(other as Ipv4Cidr, cidr)) out.push({ key, message: `${cidr.text} overlaps ${otherKey} (${other.text})` });
    }
  });
  return out;
}
