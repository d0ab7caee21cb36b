/**
 * The EDP services (manual §2.4.2) on the central cluster: per service a Deployment, a Service
 * and (with two replicas) a PodDisruptionBudget; one Ingress for the public edp-portal host and
 * one for the VPC-internal edp-service host. Image tags come from the stage's config, so a
 * promotion (scripts/promote.ts) is a config change reviewed like any other.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { EDP_SERVICES, type EdpService, type StageConfig } from "../../config";
import { type Exposure, issuerFor } from "../certificates/issuers";
import { HTTP_PORT, ROUTE_HOSTS } from "./catalog";
import {
  databaseSecretData,
  databaseSecretName,
  deploymentArgs,
  imageFor,
  ingressArgs,
  replicasFor,
  routeHost,
  routeTable,
  selectorLabels,
  serviceArgs,
  type VaultClient,
} from "./render";
import { afterIngressReady, type IngressReady } from "../shared/ingress";

/** A database login as the PostgreSQL component hands it over (password secret). */
export interface ServiceDatabase {
  host: pulumi.Input<string>;
  port: pulumi.Input<number>;
  database: pulumi.Input<string>;
  username: pulumi.Input<string>;
  password: pulumi.Input<string>;
}

/** Vault's side of a Vault client: where it is, its TLS CA, and the role bound to the client's ServiceAccount. */
export interface ServiceVaultAccess extends Omit<VaultClient, "caConfigMap"> {
  /** PEM of the CA of Vault's TLS certificate. */
  caPem: pulumi.Input<string>;
}

export interface EdpServicesArgs {
  /** Provider of the central cluster (foundation.cluster.provider). */
  provider: k8s.Provider;
  /** Namespace of the services (PlatformNamespaces.names.edp). */
  namespace: pulumi.Input<string>;
  /** The stage's config: stage, images, names and ingress.acmeEmail are read. */
  config: Pick<StageConfig, "stage" | "images" | "names" | "ingress">;
  /** Address of the stage's E3 host (foundation.e3Eip.ipAddress), the services' E3_HOST. */
  e3Host: pulumi.Input<string>;
  /** OpenID issuer URL of the platform realm (Keycloak component: issuerUrl). */
  oidcIssuerUrl: pulumi.Input<string>;
  /** Registry pull Secret in the namespace; docker-pull by default (secrets table). */
  pullSecretName?: string;
  /** What the Ingresses wait for: the ingress controller and cert-manager (CentralPlatform.ingressReady). */
  ingressReady?: IngressReady;
  /** Database login per service that keeps state in PostgreSQL; each gets a Secret in the services' namespace. */
  databases?: Partial<Record<EdpService, ServiceDatabase>>;
  /** Vault access of the service that signs device certificates (onboarding). */
  vault?: ServiceVaultAccess;
}

export class EdpServices extends pulumi.ComponentResource {
  /** URL of the device management UI (manual §3.5.2). */
  public readonly portalUrl: pulumi.Output<string>;
  /** Base URL of the VPC-internal host E3 calls (manual §4.3). */
  public readonly internalUrl: pulumi.Output<string>;
  /** Image per service, as deployed. */
  public readonly images: pulumi.Output<Record<string, string>>;

  constructor(name: string, args: EdpServicesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("edp:services:EdpServices", name, {}, opts);
    const cfg = args.config;
    const child = { parent: this, provider: args.provider };
    const databases = Object.entries(args.databases ?? {}) as [EdpService, ServiceDatabase][];
    const dbSecrets: pulumi.Resource[] = databases.map(
      ([service, db]) =>
        new k8s.core.v1.Secret(
          `${name}-${service}-database`,
          {
            metadata: { name: databaseSecretName(service), namespace: args.namespace, labels: { "app.kubernetes.io/name": service, "app.kubernetes.io/part-of": "edp" } },
            type: "Opaque",
            stringData: pulumi.secret(
              pulumi
                .all([db.host, db.port, db.database, db.username, db.password])
                .apply(([host, port, database, username, password]) => databaseSecretData({ host, port, database, username, password })),
            ),
          },
          child,
        ),
    );
    let vault: VaultClient | undefined;
    const vaultObjects: pulumi.Resource[] = [];
    if (args.vault) {
      const { caPem, ...access } = args.vault;
      // The token Vault's Kubernetes auth reviews is this ServiceAccount's; its role is bound to exactly it.
      vaultObjects.push(
        new k8s.core.v1.ServiceAccount(
          `${name}-${access.service}-sa`,
          { metadata: { name: access.serviceAccount, namespace: args.namespace, labels: { "app.kubernetes.io/name": access.service } }, automountServiceAccountToken: true },
          child,
        ),
      );
      const caMap = new k8s.core.v1.ConfigMap(`${name}-vault-ca`, { metadata: { name: "vault-ca", namespace: args.namespace }, data: { "ca.crt": caPem } }, child);
      vaultObjects.push(caMap);
      vault = { ...access, caConfigMap: "vault-ca" };
    }
    const ctx = {
      stage: cfg.stage,
      databases: databases.map(([service]) => service),
      vault,
      namespace: args.namespace,
      registry: cfg.images.registry,
      tags: cfg.images.tags,
      e3Host: args.e3Host,
      oidcIssuerUrl: args.oidcIssuerUrl,
      pullSecret: args.pullSecretName ?? "docker-pull",
    };
    const images: Record<string, string> = {};
    for (const service of EDP_SERVICES) {
      const deployment = deploymentArgs(service, ctx);
      new k8s.apps.v1.Deployment(`${name}-${service}`, deployment, { ...child, dependsOn: [...dbSecrets, ...vaultObjects] });
      new k8s.core.v1.Service(`${name}-${service}`, serviceArgs(service, ctx), child);
      if (replicasFor(cfg.stage) > 1) {
        new k8s.policy.v1.PodDisruptionBudget(
          `${name}-${service}`,
          { metadata: { name: service, namespace: args.namespace }, spec: { minAvailable: 1, selector: { matchLabels: selectorLabels(service) } } },
          child,
        );
      }
      images[service] = imageFor(cfg.images.registry, service, cfg.images.tags);
    }

    const routes = routeTable();
    for (const exposure of ["public", "internal"] as Exposure[]) {
      new k8s.networking.v1.Ingress(
        `${name}-${ROUTE_HOSTS[exposure]}`,
        ingressArgs({
          name: ROUTE_HOSTS[exposure],
          namespace: args.namespace,
          host: routeHost(exposure, cfg.names),
          exposure,
          issuer: issuerFor(exposure, cfg.ingress.acmeEmail),
          paths: routes[exposure].map((r) => ({ path: r.path, service: r.service, port: HTTP_PORT })),
        }),
        { ...child, dependsOn: afterIngressReady(args.ingressReady) },
      );
    }

    this.portalUrl = pulumi.output(`https://${routeHost("public", cfg.names)}/device-management`);
    this.internalUrl = pulumi.output(`https://${routeHost("internal", cfg.names)}`);
    this.images = pulumi.output(images);
    this.registerOutputs({ portalUrl: this.portalUrl, internalUrl: this.internalUrl, images: this.images });
  }
}
