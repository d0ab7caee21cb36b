/** ingress-nginx from its upstream chart, bound to one of the stage's load balancers (values.ts). */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { Stage } from "../../config";
import type { Exposure } from "../certificates/issuers";
import { releaseArgs } from "../shared/helm";
import { CHARTS } from "../versions";
import { INGRESS_CLASSES, INGRESS_RELEASES, ingressNginxValues } from "./values";

export interface IngressControllerArgs {
  /** Provider of the central cluster (foundation.cluster.provider). */
  provider: k8s.Provider;
  /** Namespace (PlatformNamespaces.names.ingress). */
  namespace: pulumi.Input<string>;
  /** The stage (replicas). */
  stage: Stage;
  /** public: the stage's internet-facing load balancer; internal: the intranet one. */
  exposure: Exposure;
  /** Id of the load balancer the controller's Service binds to. */
  loadBalancerId: pulumi.Input<string>;
  /** Create a ServiceMonitor; pass the monitoring stack in opts.dependsOn when true. */
  serviceMonitor: boolean;
}

export class IngressController extends pulumi.ComponentResource {
  public readonly ingressClassName: pulumi.Output<string>;
  public readonly release: k8s.helm.v3.Release;

  constructor(name: string, args: IngressControllerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("edp:ingress:IngressController", name, {}, opts);
    const values = pulumi
      .output(args.loadBalancerId)
      .apply((loadBalancerId) => ingressNginxValues({ stage: args.stage, exposure: args.exposure, loadBalancerId, serviceMonitor: args.serviceMonitor }));
    this.release = new k8s.helm.v3.Release(name, releaseArgs(CHARTS.ingressNginx, INGRESS_RELEASES[args.exposure], args.namespace, values), {
      parent: this,
      provider: args.provider,
    });
    this.ingressClassName = pulumi.output(INGRESS_CLASSES[args.exposure]);
    this.registerOutputs({ ingressClassName: this.ingressClassName });
  }
}
