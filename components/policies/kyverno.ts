/** Kyverno (chart) and the platform's ClusterPolicies. */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { Stage } from "../../config";
import { releaseArgs } from "../shared/helm";
import { CHARTS } from "../versions";
import { type PolicyScopes, platformPolicies } from "./policies";
import { kyvernoValues } from "./values";

export interface KyvernoArgs {
  /** Provider of the central cluster (foundation.cluster.provider). */
  provider: k8s.Provider;
  /** Kyverno's namespace (PlatformNamespaces.names.kyverno). */
  namespace: pulumi.Input<string>;
  stage: Stage;
  /** Which namespaces each policy covers. */
  scopes: PolicyScopes;
  /** ServiceMonitors and dashboard; pass the monitoring stack in opts.dependsOn when true. */
  monitoring: boolean;
  /** Namespace of Grafana's dashboard ConfigMaps. */
  dashboardNamespace: string;
}

export class Kyverno extends pulumi.ComponentResource {
  /** Names of the ClusterPolicies. */
  public readonly policies: pulumi.Output<string[]>;

  constructor(name: string, args: KyvernoArgs, opts?: pulumi.ComponentResourceOptions) {
    super("edp:policies:Kyverno", name, {}, opts);
    const child = { parent: this, provider: args.provider };
    const release = new k8s.helm.v3.Release(
      name,
      releaseArgs(CHARTS.kyverno, "kyverno", args.namespace, kyvernoValues({ stage: args.stage, monitoring: args.monitoring, dashboardNamespace: args.dashboardNamespace })),
      child,
    );
    const policies = platformPolicies(args.stage, args.scopes);
    for (const p of policies) {
      new k8s.apiextensions.CustomResource(`${name}-${p.metadata.name}`, { ...p }, { ...child, dependsOn: [release] });
    }
    this.policies = pulumi.output(policies.map((p) => p.metadata.name));
    this.registerOutputs({ policies: this.policies });
  }
}
