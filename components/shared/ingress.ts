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

