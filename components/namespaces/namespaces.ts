/**
 * The namespaces of the central platform that this repository's platform components own, with
 * their Pod Security Admission level. PostgreSQL and Vault bring their own namespaces.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

export type PodSecurityLevel = "privileged" | "baseline" | "restricted";

/** Role of a namespace → its name and the Pod Security level enforced in it. */
export const PLATFORM_NAMESPACES = {
  ingress: { name: "ingress-nginx", enforce: "baseline" },
  certManager: { name: "cert-manager", enforce: "baseline" },
  // node-exporter needs the host's network and PID namespaces.
  monitoring: { name: "monitoring", enforce: "privileged" },
  // promtail reads the nodes' log directories through hostPath volumes.
  loki: { name: "loki", enforce: "privileged" },
  kyverno: { name: "kyverno", enforce: "baseline" },
  keycloak: { name: "keycloak", enforce: "restricted" },
  edp: { name: "edp", enforce: "restricted" },
} as const satisfies Record<string, { name: string; enforce: PodSecurityLevel }>;

export type NamespaceRole = keyof typeof PLATFORM_NAMESPACES;
export const NAMESPACE_ROLES = Object.keys(PLATFORM_NAMESPACES) as NamespaceRole[];

/** Pod Security Admission labels: enforce the namespace's level, warn and audit at restricted. */
export function podSecurityLabels(enforce: PodSecurityLevel): Record<string, string> {
  return {
    "pod-security.kubernetes.io/enforce": enforce,
    "pod-security.kubernetes.io/warn": "restricted",
    "pod-security.kubernetes.io/audit": "restricted",
  };
}

export interface PlatformNamespacesArgs {
  /** Provider of the central cluster (foundation.cluster.provider). */
  provider: k8s.Provider;
}

export class PlatformNamespaces extends pulumi.ComponentResource {
  /** Namespace name per role, as outputs so that objects placed in them wait for the namespace. */
  public readonly names: Record<NamespaceRole, pulumi.Output<string>>;

  constructor(name: string, args: PlatformNamespacesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("edp:namespaces:PlatformNamespaces", name, {}, opts);
    const names = {} as Record<NamespaceRole, pulumi.Output<string>>;
    for (const role of NAMESPACE_ROLES) {
      const spec = PLATFORM_NAMESPACES[role];
      const ns = new k8s.core.v1.Namespace(
        `${name}-${spec.name}`,
        { metadata: { name: spec.name, labels: { "app.kubernetes.io/part-of": "edp-platform", ...podSecurityLabels(spec.enforce) } } },
        { parent: this, provider: args.provider },
      );
      names[role] = ns.metadata.name;
    }
    this.names = names;
    this.registerOutputs({ names });
  }
}
