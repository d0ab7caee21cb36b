/**
 * Metrics and logs of the central cluster: kube-prometheus-stack (Prometheus, Alertmanager,
 * Grafana with Keycloak sign-on), Loki with Promtail, Grafana's ingress routes, Loki's ingress
 * behind basic auth, and the ServiceMonitors for the EDP services and Keycloak.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { StageConfig } from "../../config";
import { type Exposure, issuerFor } from "../certificates/issuers";
import { afterIngressReady, type IngressReady, ingressArgs } from "../shared/ingress";
import { releaseArgs } from "../shared/helm";
import { CHARTS } from "../versions";
import { DASHBOARD_FOLDER_ANNOTATION, DASHBOARD_LABEL, programDashboards } from "./dashboards";
import { RECEIVER_SECRET, requiredAlertingSecrets } from "./alerting";
import { kubePrometheusStackValues, lokiValues, promtailValues } from "./values";

/** Release names; the charts derive Service names from them. */
export const STACK_RELEASE = "kube-prometheus-stack";
export const GRAFANA_SERVICE = `${STACK_RELEASE}-grafana`;
export const LOKI_GATEWAY_SERVICE = "loki-gateway";

/** Label values of Services whose metrics the platform scrapes (label edp.daim.io/metrics). */
export const SCRAPE_TARGETS = {
  "spring-actuator": { port: "management", path: "/actuator/prometheus" },
  keycloak: { port: "management", path: "/metrics" },
} as const;
export type ScrapeTarget = keyof typeof SCRAPE_TARGETS;

/** Scrape job of a host outside the cluster's node exporter (E3's, port 9100: its CRL metrics ride on it). */
export const nodeExporterJob = (host: string) => `${host}-node-exporter`;

/** A ScrapeConfig for a node exporter outside the cluster, at an address Prometheus's Pods reach (E3's private address). */
export function nodeExporterScrapeConfig(host: string, namespace: string, target: pulumi.Input<string>) {
  return {
    apiVersion: "monitoring.coreos.com/v1alpha1",
    kind: "ScrapeConfig",
    metadata: { name: nodeExporterJob(host), namespace },
    spec: { jobName: nodeExporterJob(host), scrapeInterval: "30s", staticConfigs: [{ targets: [target], labels: { host } }] },
  };
}

export interface MonitoringArgs {
  /** Provider of the central cluster (foundation.cluster.provider). */
  provider: k8s.Provider;
  /** Namespace names: monitoring, loki, and where scrape targets live; pass PlatformNamespaces in opts.dependsOn. */
  namespaces: { monitoring: string; loki: string; scrape: string[] };
  /** stage, monitoring sizes, names, ingress.acmeEmail, protect, alerting and the alerting secrets are read. */
  config: Pick<StageConfig, "stage" | "monitoring" | "names" | "ingress" | "protect" | "alerting" | "secrets">;

  /** Platform realm issuer URL (Keycloak component: issuerUrl) and Grafana's client id. */
  oidc: { issuerUrl: pulumi.Input<string>; clientId: string };
  /** Secret with Loki's htpasswd (loki-basic-auth, in the loki namespace). */
  lokiBasicAuthSecret: string;
  /** What the Ingresses wait for: the ingress controller and cert-manager (CentralPlatform.ingressReady). */
  ingressReady?: IngressReady;
  /** The StorageClass the volumes name (CentralCluster.diskStorageClass); the releases wait for it. */
  diskStorageClass?: pulumi.Resource;
}

export class Monitoring extends pulumi.ComponentResource {
  public readonly grafanaUrl: pulumi.Output<string>;
  /** Loki's push/query URL behind basic auth, for log shippers outside the cluster. */
  public readonly lokiUrl: pulumi.Output<string>;
  /** The kube-prometheus-stack release: components that create ServiceMonitors depend on it (CRDs). */
  public readonly stack: k8s.helm.v3.Release;

  constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super("edp:monitoring:Monitoring", name, {}, opts);
    const cfg = args.config;
    const child = { parent: this, provider: args.provider };
    const grafanaHost = cfg.names.publicHost("grafana");
    const portalHost = cfg.names.publicHost("edp-portal");
    const lokiHost = cfg.names.internalHost("loki");
    const { monitoring: monNs, loki: lokiNs } = args.namespaces;

    const stackValues = pulumi.output(args.oidc.issuerUrl).apply((issuerUrl) =>
      kubePrometheusStackValues({
        stage: cfg.stage,
        monitoring: cfg.monitoring,
        grafanaHost,
        lokiNamespace: lokiNs,
        oidc: { issuerUrl, clientId: args.oidc.clientId },
        alerting: cfg.alerting,
      }),
    );
    // Alertmanager's credentials, as files it reads (alerting.ts); never in the chart's values.
    const needed = requiredAlertingSecrets(cfg.alerting);
    if (needed.length > 0 && cfg.secrets.alertingSecrets === undefined) {
      throw new pulumi.ResourceError(`edp:alertingSecrets (secret) is required: edp:alerting needs ${needed.map((k) => `edp:alertingSecrets.${k}`).join(", ")}`, this);
    }
    const given = cfg.secrets.alertingSecrets ?? pulumi.secret({} as Record<string, string>);
    const receiverSecret = new k8s.core.v1.Secret(
      `${name}-alertmanager-receivers`,
      {
        metadata: { name: RECEIVER_SECRET.name, namespace: monNs },
        type: "Opaque",
        stringData: pulumi.secret(
          given.apply((s) => {
            const out: Record<string, string> = {};
            if (s.smtpPassword) out[RECEIVER_SECRET.smtpPassword] = s.smtpPassword;
            if (s.webhookUrl) out[RECEIVER_SECRET.webhookUrl] = s.webhookUrl;
            if (s.deadMansSwitchUrl) out[RECEIVER_SECRET.deadMansSwitchUrl] = s.deadMansSwitchUrl;
            return out;
          }),
        ),
      },
      child,
    );
    // Metrics and logs are history that cannot be re-created: protected in production.
    const stateful = { ...child, protect: cfg.protect };
    const storage = args.diskStorageClass ? [args.diskStorageClass] : [];
    this.stack = new k8s.helm.v3.Release(`${name}-stack`, releaseArgs(CHARTS.kubePrometheusStack, STACK_RELEASE, monNs, stackValues), { ...stateful, dependsOn: [...storage, receiverSecret] });
    const loki = new k8s.helm.v3.Release(
      `${name}-loki`,
      releaseArgs(CHARTS.loki, "loki", lokiNs, lokiValues({ stage: cfg.stage, monitoring: cfg.monitoring, dashboardNamespace: monNs })),
      { ...stateful, dependsOn: [this.stack, ...storage] },
    );
    // The program's dashboards, loaded by the Grafana sidecar (it watches every namespace; the chart
    // creates the data source these dashboards use).
    for (const d of programDashboards()) {
      new k8s.core.v1.ConfigMap(
        `${name}-${d.name}`,
        { metadata: { name: d.name, namespace: monNs, labels: { ...DASHBOARD_LABEL }, annotations: { [DASHBOARD_FOLDER_ANNOTATION]: d.folder } }, data: { [d.file]: d.json } },
        child,
      );
    }
    new k8s.helm.v3.Release(`${name}-promtail`, releaseArgs(CHARTS.promtail, "promtail", lokiNs, promtailValues(lokiNs)), { ...child, dependsOn: [loki] });

    const issuer = (e: Exposure) => issuerFor(e, cfg.ingress.acmeEmail);
    new k8s.networking.v1.Ingress(
      `${name}-grafana`,
      ingressArgs({ name: "grafana", namespace: monNs, host: grafanaHost, exposure: "public", issuer: issuer("public"), paths: [{ path: "/", service: GRAFANA_SERVICE, port: 80 }] }),
      { ...child, dependsOn: afterIngressReady(args.ingressReady) },
    );
    // The manual's edp-portal/grafana route (§3.9.5); Grafana has one root URL for its OAuth
    // redirect, so this path redirects there instead of serving a second copy.
    new k8s.networking.v1.Ingress(
      `${name}-grafana-portal-path`,
      ingressArgs({
        name: "grafana-portal-path",
        namespace: monNs,
        host: portalHost,
        exposure: "public",
        issuer: issuer("public"),
        paths: [{ path: "/grafana", service: GRAFANA_SERVICE, port: 80 }],
        annotations: { "nginx.ingress.kubernetes.io/permanent-redirect": `https://${grafanaHost}/` },
      }),
      { ...child, dependsOn: afterIngressReady(args.ingressReady) },
    );
    new k8s.networking.v1.Ingress(
      `${name}-loki`,
      ingressArgs({
        name: "loki",
        namespace: lokiNs,
        host: lokiHost,
        exposure: "internal",
        issuer: issuer("internal"),
        paths: [{ path: "/", service: LOKI_GATEWAY_SERVICE, port: 80 }],
        annotations: {
          "nginx.ingress.kubernetes.io/auth-type": "basic",
          "nginx.ingress.kubernetes.io/auth-secret": args.lokiBasicAuthSecret,
          "nginx.ingress.kubernetes.io/auth-realm": "Loki",
        },
      }),
      { ...child, dependsOn: afterIngressReady(args.ingressReady, loki) },
    );

    for (const [target, endpoint] of Object.entries(SCRAPE_TARGETS)) {
      new k8s.apiextensions.CustomResource(
        `${name}-${target}`,
        {
          apiVersion: "monitoring.coreos.com/v1",
          kind: "ServiceMonitor",
          metadata: { name: target, namespace: monNs },
          spec: {
            namespaceSelector: { matchNames: args.namespaces.scrape },
            selector: { matchLabels: { "edp.daim.io/metrics": target } },
            endpoints: [{ port: endpoint.port, path: endpoint.path, interval: "30s" }],
          },
        },
        { ...child, dependsOn: [this.stack] },
      );
    }

    this.grafanaUrl = pulumi.output(`https://${grafanaHost}/`);
    this.lokiUrl = pulumi.output(`https://${lokiHost}/`);
    this.registerOutputs({ grafanaUrl: this.grafanaUrl, lokiUrl: this.lokiUrl });
  }
}
