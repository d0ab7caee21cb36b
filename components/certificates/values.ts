/** Values of the cert-manager chart and the ClusterIssuers, as pure functions. */
import type { Stage } from "../../config";
import { ACME_ISSUER, ACME_SERVER, PLATFORM_CA_ISSUER } from "./issuers";

const small = { requests: { cpu: "10m", memory: "64Mi" }, limits: { cpu: "200m", memory: "256Mi" } };

export function certManagerValues(stage: Stage, serviceMonitor: boolean) {
  const replicas = stage === "testing" ? 1 : 2;
  return {
    // The chart installs and upgrades the CRDs; keep them when the release is removed, or every
    // Certificate in the cluster would be deleted with it.
    crds: { enabled: true, keep: true },
    replicaCount: replicas,
    // With more than one replica, a PDB keeps one running through a drain (the chart's default
    // minAvailable is 1); with one, a PDB would block every drain, so there is none.
    podDisruptionBudget: { enabled: replicas > 1 },
    resources: { requests: { cpu: "20m", memory: "128Mi" }, limits: { cpu: "500m", memory: "512Mi" } },
    webhook: { replicaCount: replicas, podDisruptionBudget: { enabled: replicas > 1 }, resources: small },
    cainjector: { resources: small },
    startupapicheck: { resources: small },
    prometheus: { enabled: true, servicemonitor: { enabled: serviceMonitor } },
  };
}

export interface ClusterIssuerObject {
  apiVersion: "cert-manager.io/v1";
  kind: "ClusterIssuer";
  metadata: { name: string };
  spec: Record<string, unknown>;
}

/** Signs with the issuer-ca Secret, which lives in cert-manager's own namespace as ClusterIssuers require. */
export function caIssuer(caSecretName: string): ClusterIssuerObject {
  return { apiVersion: "cert-manager.io/v1", kind: "ClusterIssuer", metadata: { name: PLATFORM_CA_ISSUER }, spec: { ca: { secretName: caSecretName } } };
}

/** Let's Encrypt via http01 answered through ingress-nginx. */
export function acmeIssuer(email: string, ingressClassName: string, server = ACME_SERVER): ClusterIssuerObject {
  return {
    apiVersion: "cert-manager.io/v1",
    kind: "ClusterIssuer",
    metadata: { name: ACME_ISSUER },
    spec: {
      acme: {
        server,
        email,
        privateKeySecretRef: { name: `${ACME_ISSUER}-account-key` },
        solvers: [{ http01: { ingress: { ingressClassName } } }],
      },
    },
  };
}
