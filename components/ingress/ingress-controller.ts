/** ingress-nginx from its upstream chart, bound to the stage's existing load balancer. */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { StageConfig } from "../../config";
import { releaseArgs } from "../shared/helm";
import { CHARTS } from "../versions";
import { INGRESS_CLASS, ingressNginxValues } from "./values";

export interface IngressControllerArgs {
  /** Provider of the central cluster (foundation.cluster.provider). */
  provider: k8s.Provider;
  /** Namespace (PlatformNamespaces.names.ingress). */
  namespace: pulumi.Input<string>;
  /** stage and ingress.loadBalancerId are read. */
  config: Pick<StageConfig, "stage" | "ingress">;
  /** Create a ServiceMonitor; pass the monitoring stack in opts.dependsOn when true. */
  serviceMonitor: boolean;
}

export class IngressController extends pulumi.ComponentResource {
  public readonly ingressClassName: pulumi.Output<string>;
  public readonly release: k8s.helm.v3.Release;

  constructor(name: string, args: IngressControllerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("edp:ingress:IngressController", name, {}, opts);
    const values = ingressNginxValues({ stage: args.config.stage, loadBalancerId: args.config.ingress.loadBalancerId, serviceMonitor: args.serviceMonitor });
    this.release = new k8s.helm.v3.Release(name, releaseArgs(CHARTS.ingressNginx, "ingress-nginx", args.namespace, values), {
      parent: this,
      provider: args.provider,
    });
    this.ingressClassName = pulumi.output(INGRESS_CLASS);
    this.registerOutputs({ ingressClassName: this.ingressClassName });
  }
}
