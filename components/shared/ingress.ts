/**
 * Ingress objects of the platform: the class of the controller for the host's exposure (public
 * names on the internet-facing load balancer, VPC-internal names on the intranet one), TLS from
 * a cert-manager ClusterIssuer.
 */
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { Exposure } from "../certificates/issuers";
import { INGRESS_CLASSES } from "../ingress/values";

export interface IngressInput {
  name: string;
  namespace: pulumi.Input<string>;
  host: string;
  /** Which controller serves the host: public or internal (VPC only). */
  exposure: Exposure;
  issuer: string;
  paths: { path: string; service: string; port: number }[];
  annotations?: Record<string, string>;
}

/** An Ingress of its exposure's class with a cert-manager certificate for its host. */
export function ingressArgs(input: IngressInput): k8s.networking.v1.IngressArgs {
  return {
    metadata: {
      name: input.name,
      namespace: input.namespace,
      annotations: { "cert-manager.io/cluster-issuer": input.issuer, ...(input.annotations ?? {}) },
    },
    spec: {
      ingressClassName: INGRESS_CLASSES[input.exposure],
      tls: [{ hosts: [input.host], secretName: `${input.name}-tls` }],
      rules: [
        {
          host: input.host,
          http: {
            paths: input.paths.map((p) => ({
              path: p.path,
              pathType: "Prefix",
              backend: { service: { name: p.service, port: { number: p.port } } },
            })),
          },
        },
      ],
    },
  };
}


/**
 * What an Ingress waits for: the ingress-nginx release and cert-manager. Pulumi waits at most
 * ten minutes for an Ingress to get an address, and an Ingress created while the controller's
 * admission webhook is registered but not yet serving is refused; both need the controller
 * first. A promise, because the platform builds the controller after components whose Ingresses
 * wait for it (it needs the monitoring CRDs, and they need Keycloak's issuer): the component
 * registers its Ingresses once the promise gives the resources.
 */
export type IngressReady = Promise<pulumi.Resource[]> | pulumi.Resource[];

/** dependsOn for an Ingress: `others` and, when given, what the ingress controller's readiness is. */
export function afterIngressReady(ready: IngressReady | undefined, ...others: pulumi.Resource[]): pulumi.Input<pulumi.Resource[]> {
  return ready === undefined ? others : Promise.resolve(ready).then((r) => [...others, ...r]);
}

/** A promise and its resolve function, for an IngressReady known only after the components that wait on it. */
export function deferredIngressReady(): { promise: Promise<pulumi.Resource[]>; resolve: (r: pulumi.Resource[]) => void } {
  let resolve: (r: pulumi.Resource[]) => void = () => undefined;
  const promise = new Promise<pulumi.Resource[]>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}
