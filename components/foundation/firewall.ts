/**
 * Security group rules as data. Pure: the component registers one SecurityGroupRule per entry,
 * and tests read the table.
 */
import type { StageConfig } from "../../config";

export interface IngressRule {
  /** Short, stable id used in the resource name. */
  id: string;
  protocol: "tcp" | "udp" | "icmp" | "all";
  /** Alibaba's port range syntax: "443/443"; "-1/-1" for all. */
  portRange: string;
  cidr: string;
  description: string;
}


/**
 * Cluster nodes: the VPC (E3, the ingress load balancers' health checks, the control plane, and
 * the pods: Terway gives them addresses of the nodes' vSwitches) reaches every port. Traffic among
 * the nodes themselves is allowed by the group's inner-access policy. Which pod may reach which is
 * the NetworkPolicies' business (Terway enforces them).
 */
export function clusterIngressRules(cfg: Pick<StageConfig, "network">): IngressRule[] {
  return [
    { id: "vpc", protocol: "all", portRange: "-1/-1", cidr: cfg.network.vpcCidr, description: "Everything inside the stage's VPC" },
  ];
}
