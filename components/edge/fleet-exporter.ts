/**
 * Fleet status in Prometheus (issue 15, seed 001's feedback loop): on the central cluster, in the
 * monitoring namespace, a small exporter reads every edge cluster's status object and serves the
 * count of stale, failed, reporting and unreadable clusters; a PrometheusRule alerts on them.
 *
 * Why this adds no exposure: the data already reaches the centre (each cluster PUTs its status
 * to OSS); the exporter only reads it, over the centre's existing egress to OSS, with an identity
 * that may GET `<stage>/clusters/*\/status.json` and nothing else. Its port is a Pod port with no
 * Service and no Ingress; the monitoring namespace's policies admit only Pods of that namespace
 * (Prometheus). Nothing on an edge cluster gains a path to the centre.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { createHash } from "node:crypto";
import * as alicloud from "@pulumi/alicloud";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { edgeFleetStatusReaderPolicy, renderPolicy } from "../foundation/policies";
import { RRSA_AUDIENCE, RRSA_MAX_SESSION_SECONDS, RRSA_PATHS, RRSA_TOKEN_SECONDS, RRSA_VOLUMES, type RrsaProvider, rrsaTrustPolicy } from "../shared/rrsa";
import { bundleWithStsClient } from "../shared/sts-client";
import { IMAGES, OSS_CLIENT } from "../versions";
import { STATUS_FILE } from "./status";

/** The exporter's program: a CommonJS file, bundled with the libraries it requires for the Node image. */
const FLEET_EXPORTER_FILE = path.join(__dirname, "fleet-exporter.cjs");
export const FLEET_EXPORTER_SCRIPT = fs.readFileSync(FLEET_EXPORTER_FILE, "utf8");
/** What the ConfigMap ships: the exporter with ali-oss's signer and the credentials library (RRSA), pinned. */
export const fleetExporterBundle = (): string => bundleWithStsClient(FLEET_EXPORTER_FILE, [OSS_CLIENT]);
export const FLEET_EXPORTER = "edp-edge-fleet-status";
export const FLEET_EXPORTER_PORT = 9402;
/** Same default as `npm run fleet -- status --stale-after`: three status intervals without a report. */
export const STALE_AFTER_INTERVALS = 3;

export interface FleetExporterInput {
  stage: string;
  namespace: string;
  bucket: string;
  /** OSS endpoint the central cluster reaches the bucket on (the internal one). */
  endpoint: string;
  /** Every edge cluster of the stage and its status object's key. */
  clusters: { cluster: string; key: string }[];
  statusIntervalMinutes: number;
  /**
   * The reader identity: the Secret with accessKeyId / accessKeySecret of its RAM user, or, under
   * RRSA, the role the exporter's ServiceAccount (named FLEET_EXPORTER) assumes in-process.
   */
  credentials: { kind: "accessKey"; secret: string } | { kind: "rrsa"; roleArn: string; oidcProviderArn: string; stsEndpoint: string };
  /** Labels the Prometheus ruleSelector matches, if any. */
  ruleLabels?: Record<string, string>;
}

type Obj = Record<string, unknown> & { apiVersion: string; kind: string; metadata: { name: string; namespace: string; labels?: Record<string, string> } };

/** Seconds between polls: the status interval, so a report is seen within one interval of its PUT. */
export const pollSeconds = (statusIntervalMinutes: number) => statusIntervalMinutes * 60;
export const staleAfterSeconds = (statusIntervalMinutes: number) => STALE_AFTER_INTERVALS * statusIntervalMinutes * 60;

/** The ConfigMap with the script, the Deployment and the PodMonitor (pure). */
export function fleetExporterObjects(i: FleetExporterInput): Obj[] {
  const labels = { "app.kubernetes.io/name": FLEET_EXPORTER, "app.kubernetes.io/part-of": "edp" };
  const creds = i.credentials;
  const secretEnv = (name: string, key: string) => ({ name, valueFrom: { secretKeyRef: { name: creds.kind === "accessKey" ? creds.secret : "", key } } });
  // The image has no node_modules: the OSS signer (and, under RRSA, the credentials library) come bundled.
  const script = fleetExporterBundle();
  const checksum = createHash("sha256").update(script).digest("hex").slice(0, 16);
  const credentialEnv =
    creds.kind === "accessKey"
      ? [secretEnv("OSS_ACCESS_KEY_ID", "accessKeyId"), secretEnv("OSS_ACCESS_KEY_SECRET", "accessKeySecret")]
      : [
          { name: "ALIBABA_CLOUD_ROLE_ARN", value: creds.roleArn },
          { name: "ALIBABA_CLOUD_OIDC_PROVIDER_ARN", value: creds.oidcProviderArn },
          { name: "ALIBABA_CLOUD_OIDC_TOKEN_FILE", value: RRSA_PATHS.token },
          { name: "ALIBABA_CLOUD_ROLE_SESSION_NAME", value: FLEET_EXPORTER },
          { name: "EDP_STS_ENDPOINT", value: creds.stsEndpoint },
        ];
  return [
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: `${FLEET_EXPORTER}-script`, namespace: i.namespace, labels },
      data: { "exporter.cjs": script },
    },
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: FLEET_EXPORTER, namespace: i.namespace, labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels, annotations: { "edp/script-checksum": checksum } },
          spec: {
            ...(creds.kind === "rrsa" ? { serviceAccountName: FLEET_EXPORTER } : {}),
            automountServiceAccountToken: false,
            securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, seccompProfile: { type: "RuntimeDefault" } },
            containers: [
              {
                name: "exporter",
                image: IMAGES.node,
                command: ["node", "--no-deprecation", "/exporter/exporter.cjs"],
                ports: [{ name: "metrics", containerPort: FLEET_EXPORTER_PORT, protocol: "TCP" }],
                env: [
                  { name: "EDP_STAGE", value: i.stage },
                  { name: "EDP_BUCKET", value: i.bucket },
                  // Virtual-hosted addressing, as OSS requires.
                  { name: "EDP_OSS_BASE_URL", value: `https://${i.bucket}.${i.endpoint}` },
                  { name: "EDP_CLUSTERS", value: JSON.stringify(i.clusters) },
                  { name: "EDP_STALE_AFTER_SECONDS", value: String(staleAfterSeconds(i.statusIntervalMinutes)) },
                  { name: "EDP_POLL_SECONDS", value: String(pollSeconds(i.statusIntervalMinutes)) },
                  { name: "EDP_METRICS_PORT", value: String(FLEET_EXPORTER_PORT) },
                  ...credentialEnv,
                ],
                readinessProbe: { httpGet: { path: "/metrics", port: "metrics" }, periodSeconds: 30 },
                resources: { requests: { cpu: "10m", memory: "48Mi" }, limits: { cpu: "200m", memory: "128Mi" } },
                securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
                volumeMounts: [
                  { name: "script", mountPath: "/exporter", readOnly: true },
                  ...(creds.kind === "rrsa" ? [{ name: RRSA_VOLUMES.token, mountPath: RRSA_PATHS.tokenDir, readOnly: true }] : []),
                ],
              },
            ],
            volumes: [
              { name: "script", configMap: { name: `${FLEET_EXPORTER}-script` } },
              // The kubelet renews this token before it expires; the library re-reads it for each new session.
              ...(creds.kind === "rrsa"
                ? [{ name: RRSA_VOLUMES.token, projected: { sources: [{ serviceAccountToken: { audience: RRSA_AUDIENCE, expirationSeconds: RRSA_TOKEN_SECONDS, path: "token" } }] } }]
                : []),
            ],
          },
        },
      },
    },
    {
      // A PodMonitor, not a Service: the port stays reachable only inside the namespace.
      apiVersion: "monitoring.coreos.com/v1",
      kind: "PodMonitor",
      metadata: { name: FLEET_EXPORTER, namespace: i.namespace, labels },
      spec: {
        selector: { matchLabels: labels },
        podMetricsEndpoints: [{ port: "metrics", path: "/metrics", interval: "60s" }],
      },
    },
  ];
}

/** Alerts on the counts: stale and failed clusters, and an exporter that cannot read or has stopped. */
export function fleetAlertRules(i: Pick<FleetExporterInput, "stage" | "namespace" | "statusIntervalMinutes" | "ruleLabels">): Obj {
  const labels = { stage: i.stage, component: "edge" };
  const sel = `stage="${i.stage}"`;
  const how = `Run \`npm run fleet -- status --stage ${i.stage}\` for the reason per cluster; edp_edge_cluster_state names them.`;
  const staleMinutes = STALE_AFTER_INTERVALS * i.statusIntervalMinutes;
  return {
    apiVersion: "monitoring.coreos.com/v1",
    kind: "PrometheusRule",
    metadata: { name: FLEET_EXPORTER, namespace: i.namespace, labels: { "app.kubernetes.io/part-of": "edp", ...(i.ruleLabels ?? {}) } },
    spec: {
      groups: [
        {
          name: "edp-edge-fleet",
          rules: [
            {
              alert: "EdpEdgeClustersStale",
              expr: `max(edp_edge_clusters{${sel},state="stale"}) > 0`,
              for: "10m",
              labels: { ...labels, severity: "warning" },
              annotations: {
                summary: `{{ $value }} edge cluster(s) of ${i.stage} have not reported for ${staleMinutes} minutes`,
                description: `A stale cluster has not put its status to OSS for ${STALE_AFTER_INTERVALS} status intervals: the site, its network or its status writer is down. ${how}`,
              },
            },
            {
              alert: "EdpEdgeClustersFailed",
              expr: `max(edp_edge_clusters{${sel},state="failed"}) > 0`,
              for: "15m",
              labels: { ...labels, severity: "warning" },
              annotations: {
                summary: `{{ $value }} edge cluster(s) of ${i.stage} report a failure`,
                description: `A failed cluster reports a read error, Flux's Bucket or Kustomization or a HelmRelease not Ready, or a node not Ready. ${how}`,
              },
            },
            {
              alert: "EdpEdgeFleetStatusUnreadable",
              expr: `max(edp_edge_clusters{${sel},state="unreadable"}) > 0`,
              for: "15m",
              labels: { ...labels, severity: "warning" },
              annotations: {
                summary: `The fleet-status exporter cannot read {{ $value }} status object(s) of ${i.stage}`,
                description: `OSS refused or did not answer (the exporter's log says why): check its RAM identity ${FLEET_EXPORTER} and the central cluster's route to OSS.`,
              },
            },
            {
              alert: "EdpEdgeFleetStatusMissing",
              expr: `absent(edp_edge_fleet_last_poll_timestamp_seconds{${sel}}) or (time() - max(edp_edge_fleet_last_poll_timestamp_seconds{${sel}}) > ${3 * pollSeconds(i.statusIntervalMinutes)})`,
              for: "15m",
              labels: { ...labels, severity: "warning" },
              annotations: {
                summary: `No fleet status for ${i.stage} in Prometheus`,
                description: `Deployment ${i.namespace}/${FLEET_EXPORTER} is not running or not scraped, so stale and failed edge clusters would go unnoticed.`,
              },
            },
          ],
        },
      ],
    },
  };
}

export interface EdgeFleetStatusArgs {
  stage: string;
  /** The central cluster's provider. */
  provider: k8s.Provider;
  namespace: string;
  bucket: pulumi.Input<string>;
  endpoint: string;
  /** `<stage>/clusters/`: every cluster's prefix starts with it. */
  clustersPrefix: string;
  /** Each cluster and its status key. */
  clusters: { cluster: string; key: string }[];
  statusIntervalMinutes: number;
  /** RAM user (or, under RRSA, role) name of the reader (≤ 64 characters). */
  userName: string;
  /** The central cluster's RRSA OIDC provider (FoundationOutputs' rrsa): the reader is then a role, without a key. */
  rrsa?: pulumi.Output<RrsaProvider>;
  /** STS endpoint for the RRSA exchange (FoundationOutputs.stsEndpoint). */
  stsEndpoint: string;
  /** The monitoring stack: the PodMonitor and PrometheusRule CRDs come with it. */
  monitoringStack: pulumi.Resource;
}

/** The reader identity (a role under RRSA, else a user and its key in a Secret), the exporter and its alerts: fixed per stage, not per cluster. */
export class EdgeFleetStatus extends pulumi.ComponentResource {
  constructor(name: string, args: EdgeFleetStatusArgs, opts?: pulumi.ComponentResourceOptions) {
    super("edp:edge:EdgeFleetStatus", name, {}, opts);
    const child = { parent: this };
    const policy = new alicloud.ram.Policy(
      name,
      {
        policyName: `${args.userName}-read`,
        description: `GetObject of ${args.clustersPrefix}*/${STATUS_FILE}`,
        policyDocument: pulumi.output(args.bucket).apply((b) => renderPolicy(edgeFleetStatusReaderPolicy({ bucket: b, clustersPrefix: args.clustersPrefix, statusFile: STATUS_FILE }))),
        force: true,
      },
      child,
    );
    // Everything lives in the monitoring namespace, which exists once the monitoring stack does.
    const k = { parent: this, provider: args.provider, dependsOn: [args.monitoringStack] };
    const description = `Reads the status object of every ${args.stage} edge cluster for Prometheus`;
    let credentials: pulumi.Output<FleetExporterInput["credentials"]>;
    let waitFor: pulumi.Resource;
    if (args.rrsa !== undefined) {
      // RRSA: a role only the exporter's ServiceAccount assumes; no user, no key, no Secret.
      const serviceAccounts = [{ namespace: args.namespace, name: FLEET_EXPORTER }];
      const role = new alicloud.ram.Role(
        name,
        {
          roleName: args.userName,
          description,
          assumeRolePolicyDocument: args.rrsa.apply((p) => JSON.stringify(rrsaTrustPolicy(p, serviceAccounts))),
          maxSessionDuration: RRSA_MAX_SESSION_SECONDS,
          force: true,
        },
        child,
      );
      new alicloud.ram.RolePolicyAttachment(name, { roleName: role.roleName, policyName: policy.policyName, policyType: "Custom" }, child);
      waitFor = new k8s.core.v1.ServiceAccount(`${name}-sa`, { metadata: { name: FLEET_EXPORTER, namespace: args.namespace }, automountServiceAccountToken: false }, k);
      credentials = pulumi
        .all([role.arn, args.rrsa])
        .apply(([roleArn, p]) => ({ kind: "rrsa" as const, roleArn, oidcProviderArn: p.oidcProviderArn, stsEndpoint: args.stsEndpoint }));
    } else {
      const user = new alicloud.ram.User(name, { name: args.userName, comments: description, force: true }, child);
      new alicloud.ram.UserPolicyAttachment(name, { userName: user.name, policyName: policy.policyName, policyType: "Custom" }, child);
      const key = new alicloud.ram.AccessKey(name, { userName: user.name }, child);
      waitFor = new k8s.core.v1.Secret(
        `${name}-credentials`,
        {
          metadata: { name: `${FLEET_EXPORTER}-credentials`, namespace: args.namespace },
          stringData: { accessKeyId: key.id, accessKeySecret: pulumi.secret(key.secret) },
        },
        k,
      );
      credentials = pulumi.output({ kind: "accessKey" as const, secret: `${FLEET_EXPORTER}-credentials` });
    }
    const objects = pulumi.all([args.bucket, credentials]).apply(([bucket, creds]) =>
      fleetExporterObjects({
        stage: args.stage,
        namespace: args.namespace,
        bucket,
        endpoint: args.endpoint,
        clusters: args.clusters,
        statusIntervalMinutes: args.statusIntervalMinutes,
        credentials: creds,
      }),
    );
    const [configMap, deployment, podMonitor] = [0, 1, 2].map((n) => objects.apply((o) => o[n]));
    new k8s.core.v1.ConfigMap(`${name}-script`, { metadata: configMap.apply((c) => c.metadata), data: configMap.apply((c) => c.data as Record<string, string>) }, k);
    new k8s.apps.v1.Deployment(name, { metadata: deployment.apply((d) => d.metadata), spec: deployment.apply((d) => d.spec as k8s.types.input.apps.v1.DeploymentSpec) }, { ...k, dependsOn: [args.monitoringStack, waitFor] });
    new k8s.apiextensions.CustomResource(name, { apiVersion: "monitoring.coreos.com/v1", kind: "PodMonitor", metadata: podMonitor.apply((p) => p.metadata), spec: podMonitor.apply((p) => p.spec) }, k);
    const rules = fleetAlertRules({ stage: args.stage, namespace: args.namespace, statusIntervalMinutes: args.statusIntervalMinutes });
    new k8s.apiextensions.CustomResource(`${name}-alerts`, { apiVersion: rules.apiVersion, kind: rules.kind, metadata: rules.metadata, spec: rules.spec }, k);
    this.registerOutputs({});
  }
}
