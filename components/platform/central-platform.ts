/**
 * Everything the manual's cluster-infrastructure, app-infrastructure and apps kustomizations
 * deployed, as one component on the central cluster, wired in the order the pieces need:
 * namespaces → secrets → Keycloak → monitoring (its CRDs) → ingress, cert-manager, Kyverno →
 * EDP services → network policies. PostgreSQL and Vault are separate components; this one takes
 * their namespaces and the database credentials they hand over.
 */
import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { StageConfig } from "../../config";
import { CertManager, PLATFORM_CA_ISSUER } from "../certificates";
import { GRAFANA_CLIENT_ID, Keycloak } from "../identity";
import { IngressController } from "../ingress";
import { Monitoring } from "../monitoring";
import { PLATFORM_NAMESPACES as NS, PlatformNamespaces } from "../namespaces";
import { PlatformNetworkPolicies } from "../network-policies";
import { Kyverno, PLATFORM_POLICY_SCOPES } from "../policies";
import { type DatabaseCredentials, PlatformSecrets } from "../secrets";
import { EdpServices, type ServiceDatabase, type ServiceVaultAccess } from "../services";
import { deferredIngressReady } from "../shared/ingress";
import type { EdpService } from "../../config";

export interface CentralPlatformArgs {
  /** Provider of the central cluster (foundation.cluster.provider). */
  provider: k8s.Provider;
  /** The stage's config (loadStageConfig()). */
  config: StageConfig;
  /** Address of the stage's E3 host (foundation.e3Eip.ipAddress). */
  e3Address: pulumi.Input<string>;
  /** Public address of the ingress load balancer (foundation.ingressAddress). */
  ingressAddress: pulumi.Input<string>;
  /** The intranet load balancer of the internal ingress controller (foundation.internalIngress). */
  internalIngress: { loadBalancerId: pulumi.Input<string>; address: pulumi.Input<string> };
  /** Database passwords and Keycloak's connection, from the PostgreSQL component. */
  database: DatabaseCredentials;
  /** Database login of each EDP service with a database (PostgreSQL component's roles); a Secret each in edp. */
  serviceDatabases?: Partial<Record<EdpService, ServiceDatabase>>;
  /** Vault access of the onboarding service (Vault component: address, TLS CA, Kubernetes auth role). */
  vault?: ServiceVaultAccess;
  /** Namespaces of PostgreSQL and Vault, as outputs of their components. */
  namespaces: { postgres: pulumi.Input<string>; vault: pulumi.Input<string> };
  /** The StorageClass every volume names (foundation.cluster.diskStorageClass). */
  diskStorageClass: pulumi.Resource;
  /** Their names (postgres, vault by default), for the network policies inside them. */
  peerNamespaceNames?: { postgres: string; vault: string };
  /** Namespace of the CloudNativePG operator (cnpg-system by default). */
  cnpgOperatorNamespace?: string;
}

export class CentralPlatform extends pulumi.ComponentResource {
  public readonly portalUrl: pulumi.Output<string>;
  public readonly internalUrl: pulumi.Output<string>;
  public readonly grafanaUrl: pulumi.Output<string>;
  public readonly keycloakUrl: pulumi.Output<string>;
  public readonly keycloakAdminUrl: pulumi.Output<string>;
  public readonly lokiUrl: pulumi.Output<string>;
  /** Secret. */
  public readonly grafanaAdminPassword: pulumi.Output<string>;
  /** Secret. */
  public readonly keycloakAdminPassword: pulumi.Output<string>;
  /** Secret: the `loki` user's password at Loki's ingress. */
  public readonly lokiBasicAuthPassword: pulumi.Output<string>;
  /** PEM of the platform CA (E3's custom TLS trust, manual §4.4). */
  public readonly issuerCaCertificate: pulumi.Output<string>;
  /** The platform CA (key secret), for the E3 server certificate. */
  public readonly issuerCa: { certPem: pulumi.Output<string>; keyPem: pulumi.Output<string> };
  /** Name of the ClusterIssuer of the platform CA. */
  public readonly clusterIssuer: string;
  /** Ingress class of the platform's public ingress-nginx. */
  public readonly ingressClassName: pulumi.Output<string>;
  /** Ingress class of the internal ingress-nginx (VPC-internal names, intranet load balancer). */
  public readonly internalIngressClassName: pulumi.Output<string>;
  /** What an Ingress elsewhere waits for: the ingress controller and cert-manager with its issuers. */
  public readonly ingressReady: pulumi.Resource[];
  /** The monitoring stack; PrometheusRules elsewhere wait for its CRDs. */
  public readonly monitoringStack: pulumi.Resource;
  /** Image per EDP service, as deployed. */
  public readonly images: pulumi.Output<Record<string, string>>;
  /** Names of the Kyverno ClusterPolicies. */
  public readonly policies: pulumi.Output<string[]>;

  constructor(name: string, args: CentralPlatformArgs, opts?: pulumi.ComponentResourceOptions) {
    super("edp:platform:CentralPlatform", name, {}, opts);
    const { provider, config: cfg } = args;
    const child = { parent: this };

    const namespaces = new PlatformNamespaces(`${name}-namespaces`, { provider }, child);
    const secrets = new PlatformSecrets(
      `${name}-secrets`,
      {
        provider,
        namespaces: { ...namespaces.names, ...args.namespaces },
        secrets: cfg.secrets,
        database: args.database,
        caCommonName: `EDP ${cfg.stage} platform CA`,
        protect: cfg.protect,
      },
      child,
    );
    const afterSecrets = { ...child, dependsOn: [secrets] };
    // Keycloak's and Grafana's Ingresses wait for the controller, which is built below (it needs
    // the monitoring CRDs): they get its readiness as a promise, resolved once it exists.
    const ingressReady = deferredIngressReady();
    const keycloak = new Keycloak(
      `${name}-keycloak`,
      { provider, namespace: namespaces.names.keycloak, config: cfg, realmSecretValues: secrets.realmSecretValues, ingressReady: ingressReady.promise },
      afterSecrets,
    );
    const monitoring = new Monitoring(
      `${name}-monitoring`,
      {
        provider,
        namespaces: { monitoring: NS.monitoring.name, loki: NS.loki.name, scrape: [NS.edp.name, NS.keycloak.name] },
        config: cfg,
        oidc: { issuerUrl: keycloak.issuerUrl, clientId: GRAFANA_CLIENT_ID },
        lokiBasicAuthSecret: "loki-basic-auth",
        ingressReady: ingressReady.promise,
        diskStorageClass: args.diskStorageClass,
      },
      { ...child, dependsOn: [namespaces, secrets] },
    );
    // ServiceMonitors and dashboards need the prometheus-operator CRDs of the monitoring stack.
    const afterMonitoring = { ...child, dependsOn: [monitoring.stack] };
    const ingress = new IngressController(
      `${name}-ingress`,
      { provider, namespace: namespaces.names.ingress, stage: cfg.stage, exposure: "public", loadBalancerId: cfg.ingress.loadBalancerId, serviceMonitor: true },
      afterMonitoring,
    );
    const internalIngress = new IngressController(
      `${name}-ingress-internal`,
      { provider, namespace: namespaces.names.ingress, stage: cfg.stage, exposure: "internal", loadBalancerId: args.internalIngress.loadBalancerId, serviceMonitor: true },
      afterMonitoring,
    );
    const certManager = new CertManager(
      `${name}-cert-manager`,
      { provider, namespace: namespaces.names.certManager, config: cfg, caSecretName: "issuer-ca", ingressClassName: ingress.ingressClassName, serviceMonitor: true },
      { ...child, dependsOn: [secrets, monitoring.stack] },
    );
    this.ingressReady = [ingress.release, internalIngress.release, certManager];
    ingressReady.resolve(this.ingressReady);
    const kyverno = new Kyverno(
      `${name}-kyverno`,
      { provider, namespace: namespaces.names.kyverno, stage: cfg.stage, scopes: PLATFORM_POLICY_SCOPES, monitoring: true, dashboardNamespace: NS.monitoring.name },
      afterMonitoring,
    );
    const services = new EdpServices(
      `${name}-services`,
      {
        provider,
        namespace: namespaces.names.edp,
        config: cfg,
        e3Host: args.e3Address,
        oidcIssuerUrl: keycloak.issuerUrl,
        databases: args.serviceDatabases,
        vault: args.vault,
        ingressReady: this.ingressReady,
      },
      // Pods start once their pull Secret exists and the policies that check them are in place.
      { ...child, dependsOn: [secrets, kyverno, certManager] },
    );
    new PlatformNetworkPolicies(
      `${name}-network`,
      {
        provider,
        namespaces: {
          edp: NS.edp.name,
          keycloak: NS.keycloak.name,
          monitoring: NS.monitoring.name,
          loki: NS.loki.name,
          ingress: NS.ingress.name,
          certManager: NS.certManager.name,
          kyverno: NS.kyverno.name,
        },
        peers: args.namespaces,
        peerNames: args.peerNamespaceNames ?? { postgres: "postgres", vault: "vault" },
        cnpgOperator: args.cnpgOperatorNamespace ?? "cnpg-system",
        vpcCidr: cfg.network.vpcCidr,
        ingressAddress: args.ingressAddress,
        e3Address: args.e3Address,
      },
      { ...child, dependsOn: [namespaces] },
    );

    this.portalUrl = services.portalUrl;
    this.internalUrl = services.internalUrl;
    this.grafanaUrl = monitoring.grafanaUrl;
    this.keycloakUrl = keycloak.url;
    this.keycloakAdminUrl = keycloak.adminUrl;
    this.lokiUrl = monitoring.lokiUrl;
    this.grafanaAdminPassword = secrets.grafanaAdminPassword;
    this.keycloakAdminPassword = secrets.keycloakAdminPassword;
    this.lokiBasicAuthPassword = secrets.lokiBasicAuthPassword;
    this.issuerCaCertificate = secrets.issuerCaCertificate;
    this.issuerCa = secrets.issuerCa;
    this.clusterIssuer = PLATFORM_CA_ISSUER;
    this.ingressClassName = ingress.ingressClassName;
    this.internalIngressClassName = internalIngress.ingressClassName;
    this.monitoringStack = monitoring.stack;
    this.images = services.images;
    this.policies = kyverno.policies;
    this.registerOutputs({
      portalUrl: this.portalUrl,
      internalUrl: this.internalUrl,
      grafanaUrl: this.grafanaUrl,
      keycloakUrl: this.keycloakUrl,
      keycloakAdminUrl: this.keycloakAdminUrl,
      lokiUrl: this.lokiUrl,
      grafanaAdminPassword: this.grafanaAdminPassword,
      keycloakAdminPassword: this.keycloakAdminPassword,
      lokiBasicAuthPassword: this.lokiBasicAuthPassword,
      issuerCaCertificate: this.issuerCaCertificate,
      images: this.images,
      policies: this.policies,
    });
  }
}
