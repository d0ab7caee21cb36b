/**
 * cert-manager (chart, with its CRDs) and the platform's ClusterIssuers: the platform CA from the
 * issuer-ca Secret, and ACME for public names where the stage has an ACME e-mail.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { StageConfig } from "../../config";
import { releaseArgs } from "../shared/helm";
import { CHARTS } from "../versions";
import { ACME_ISSUER, PLATFORM_CA_ISSUER } from "./issuers";
import { acmeIssuer, caIssuer, certManagerValues } from "./values";

export interface CertManagerArgs {
  /** Provider of the central cluster (foundation.cluster.provider). */
  provider: k8s.Provider;
  /** cert-manager's namespace (PlatformNamespaces.names.certManager); the issuer-ca Secret lives there. */
  namespace: pulumi.Input<string>;
  /** stage and ingress.acmeEmail are read. */
  config: Pick<StageConfig, "stage" | "ingress">;
  /** Name of the CA Secret (issuer-ca, created by PlatformSecrets). */
  caSecretName: string;
  /** Ingress class that answers ACME http01 challenges. */
  ingressClassName: pulumi.Input<string>;
  /** Create a ServiceMonitor; pass the monitoring stack in opts.dependsOn when true. */
  serviceMonitor: boolean;
}

export class CertManager extends pulumi.ComponentResource {
  /** Names of the ClusterIssuers created. */
  public readonly issuers: pulumi.Output<string[]>;
  public readonly release: k8s.helm.v3.Release;

  constructor(name: string, args: CertManagerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("edp:certificates:CertManager", name, {}, opts);
    const child = { parent: this, provider: args.provider };
    this.release = new k8s.helm.v3.Release(
      name,
      releaseArgs(CHARTS.certManager, "cert-manager", args.namespace, certManagerValues(args.config.stage, args.serviceMonitor)),
      child,
    );
    // ClusterIssuers need the CRDs the release installs.
    const afterRelease = { ...child, dependsOn: [this.release] };
    const ca = caIssuer(args.caSecretName);
    new k8s.apiextensions.CustomResource(`${name}-${PLATFORM_CA_ISSUER}`, ca, afterRelease);
    const issuers = [PLATFORM_CA_ISSUER];
    const email = args.config.ingress.acmeEmail;
    if (email !== undefined) {
      const acme = pulumi.output(args.ingressClassName).apply((cls) => acmeIssuer(email, cls).spec);
      new k8s.apiextensions.CustomResource(
        `${name}-${ACME_ISSUER}`,
        { apiVersion: "cert-manager.io/v1", kind: "ClusterIssuer", metadata: { name: ACME_ISSUER }, spec: acme },
        afterRelease,
      );
      issuers.push(ACME_ISSUER);
    }
    this.issuers = pulumi.output(issuers);
    this.registerOutputs({ issuers: this.issuers });
  }
}
