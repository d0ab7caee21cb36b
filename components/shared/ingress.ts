/** Ingress objects of the platform: the nginx class, TLS from a cert-manager ClusterIssuer. */
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";

export interface IngressInput {
  name: string;
  namespace: pulumi.Input<string>;
  host: string;
  issuer: string;
  paths: { path: string; service: string; port: number }[];
  annotations?: Record<string, string>;
}

/** An Ingress of the nginx class with a cert-manager certificate for its host. */
export function ingressArgs(input: IngressInput): k8s.networking.v1.IngressArgs {
  return {
    metadata: {
      name: input.name,
      namespace: input.namespace,
      annotations: { "cert-manager.io/cluster-issuer": input.issuer, ...(input.annotations ?? {}) },
    },
    spec: {
      ingressClassName: "nginx",
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

