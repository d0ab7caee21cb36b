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

const port = (p: number) => `${p}/${p}`;
const slug = (cidr: string) => cidr.replace(/[./]/g, "-");

/**
 * Cluster nodes: the VPC (E3, the ingress load balancer's health checks, the control plane) and
 * the pod network (Flannel routes pod traffic between nodes) reach every port. Traffic among the
 * nodes themselves is allowed by the group's inner-access policy.
 */
export function clusterIngressRules(cfg: Pick<StageConfig, "network">): IngressRule[] {
  return [
    { id: "vpc", protocol: "all", portRange: "-1/-1", cidr: cfg.network.vpcCidr, description: "Everything inside the stage's VPC" },
    { id: "pods", protocol: "all", portRange: "-1/-1", cidr: cfg.network.podCidr, description: "Pod network (Flannel)" },
  ];
}

/**
 * The E3 host (manual §4.3): HTTPS for the edge devices and HTTP for ACME validation from
 * anywhere; SSH and the node exporter only from the VPC (Prometheus) and the admin networks.
 */
export function e3IngressRules(cfg: Pick<StageConfig, "network" | "e3">): IngressRule[] {
  const { sshPort, nodeExporterPort, adminCidrs } = cfg.e3;
  const maintenance = [cfg.network.vpcCidr, ...adminCidrs];
  return [
    { id: "https", protocol: "tcp", portRange: port(443), cidr: "0.0.0.0/0", description: "Edge devices (mTLS)" },
    { id: "http", protocol: "tcp", portRange: port(80), cidr: "0.0.0.0/0", description: "Let's Encrypt HTTP-01 validation" },
    ...maintenance.map((cidr) => ({ id: `ssh-${slug(cidr)}`, protocol: "tcp" as const, portRange: port(sshPort), cidr, description: "SSH maintenance access" })),
    ...maintenance.map((cidr) => ({
      id: `node-exporter-${slug(cidr)}`,
      protocol: "tcp" as const,
      portRange: port(nodeExporterPort),
      cidr,
      description: "Prometheus node exporter",
    })),
  ];
}
