/** The E3 host's inbound firewall (manual §4.3) as data, so tests can read it without a cloud. */

export interface IngressRule {
  /** Stable suffix of the rule's resource name. */
  key: string;
  port: number;
  cidr: string;
  description: string;
}

export interface FirewallInput {
  sshPort: number;
  nodeExporterPort: number;
  adminCidrs: string[];
  vpcCidr: string;
}

const slug = (cidr: string) => cidr.replace(/[./]/g, "-");

/**
 * 443 (devices) and 80 (ACME challenges, redirects) from anywhere; SSH maintenance and the node
 * exporter only from the admin networks and the VPC (where the platform's Prometheus scrapes).
 */
export function e3IngressRules(p: FirewallInput): IngressRule[] {
  const restricted = [...new Set([...p.adminCidrs, p.vpcCidr])];
  return [
    { key: "https-any", port: 443, cidr: "0.0.0.0/0", description: "HTTPS for edge devices" },
    { key: "http-any", port: 80, cidr: "0.0.0.0/0", description: "HTTP: ACME challenges and redirects to HTTPS" },
    ...restricted.map((cidr) => ({ key: `ssh-${slug(cidr)}`, port: p.sshPort, cidr, description: `SSH maintenance from ${cidr}` })),
    ...restricted.map((cidr) => ({ key: `node-exporter-${slug(cidr)}`, port: p.nodeExporterPort, cidr, description: `Prometheus node exporter for ${cidr}` })),
  ];
}
