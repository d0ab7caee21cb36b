/** Helm release arguments shared by the platform's charts: the pinned chart and its upstream repository. */
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { ChartPin } from "../versions";

export function releaseArgs(pin: ChartPin, name: string, namespace: pulumi.Input<string>, values: pulumi.Inputs): k8s.helm.v3.ReleaseArgs {
  return {
    name,
    chart: pin.chart,
    version: pin.version,
    repositoryOpts: { repo: pin.repository },
    namespace,
    values,
    // A failed upgrade rolls back instead of leaving half-applied objects behind.
    atomic: true,
    cleanupOnFail: true,
    maxHistory: 5,
    timeout: 900,
  };
}
