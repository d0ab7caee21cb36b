/**
 * PostgreSQL on the central cluster: the CloudNativePG operator (upstream chart), one Cluster
 * with the platform's databases and their owner roles, a PgBouncer Pooler, and the backup,
 * restore-drill and restore Jobs with their alert rules. See README.md beside this file.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { StageConfig } from "../../config";
import type { AccessKeyPair, WorkloadIdentity } from "../contracts";
import { STS_CLIENT_CONFIGMAP, STS_CLIENT_FILE } from "../shared/rrsa";
import { stsClientBundle } from "../shared/sts-client";
import { CHARTS } from "../versions";
import {
  CRONJOB_NAME,
  clusterSpec,
  cronJobAlerts,
  cronJobSpec,
  databaseSpec,
  type JobCredentials,
  type JobKind,
  jobServiceAccount,
  jobScripts,
  POSTGRES_PORT,
  poolerSpec,
  postgresNames,
  STAGE_LABEL,
} from "./manifests";
import { databasePlan, GENERATED_PASSWORD, type JobTimings, jobTimings, passwordProblem, restoreCommand, serviceHost } from "./plan";

export interface PostgresArgs {
  /** The stage's configuration: stage, protect and the postgres section (instances, storage, backup schedules). */
  config: Pick<StageConfig, "stage" | "protect" | "postgres">;
  /** Provider of the central cluster (FoundationOutputs.cluster.provider). */
  provider: k8s.Provider;
  /** Name of the backup bucket (FoundationOutputs.buckets.backup); dumps go to <bucket>/<stage>/<db>/. */
  backupBucket: pulumi.Input<string>;
  /** OSS endpoint the Jobs reach the bucket through: the VPC-internal one (FoundationOutputs.ossInternalEndpoint). */
  ossEndpoint: string;
  /** Identity that may write <bucket>/<stage>/ (FoundationOutputs.identities.backupWriter); used by the backup Job. */
  backupWriter: WorkloadIdentity;
  /** Identity that may only list and read <bucket>/<stage>/ (identities.backupReader): the restore and the drill never hold the writer's. */
  backupReader: WorkloadIdentity;
  /** STS endpoint the Jobs exchange their RRSA token at (FoundationOutputs.stsEndpoint); used when an identity is a role. */
  stsEndpoint: string;
  /** Password of the superuser postgres (the manual's POSTGRES_ADMIN_PASSWORD); generated when absent. */
  adminPassword?: pulumi.Input<string>;
  /** Passwords of the database owner roles, by role name; each one absent is generated. */
  rolePasswords?: Record<string, pulumi.Input<string>>;
  /** Databases (each owned by a role of the same name); the platform's and the EDP services' by default. */
  databases?: string[];
  /** Namespace of the Cluster and the Jobs (manual: postgres). */
  namespace?: string;
  /** Labels the monitoring stack's rule selector expects on PrometheusRules. */
  prometheusRuleLabels?: Record<string, string>;
}

/** A database owner role: its name and password (secret). */
export interface PostgresRole {
  name: string;
  password: pulumi.Output<string>;
}

export class Postgres extends pulumi.ComponentResource {
  /** Namespace of the Cluster. */
  public readonly namespace: string;
  /** Host of the primary's Service (read-write), inside the cluster. */
  public readonly host: string;
  /** Host of the PgBouncer Pooler in front of the primary. */
  public readonly poolerHost: string;
  public readonly port: number;
  /** The superuser's name (postgres). */
  public readonly adminUser: string;
  /** The superuser's password (secret). */
  public readonly adminPassword: pulumi.Output<string>;
  /** Database names. */
  public readonly databases: string[];
  /** Owner role of each database, by database name. */
  public readonly roles: Record<string, PostgresRole>;
  /** Restore command of the stage, general form; restoreCommands has the exact one per database. */
  public readonly restoreCommand: string;
  /** PrometheusRule (plain manifest) with the backup and drill alerts, to apply after the monitoring CRDs. */
  public readonly alertRule: { apiVersion: string; kind: string; metadata: Record<string, unknown>; spec: Record<string, unknown> };
  public readonly restoreCommands: Record<string, string>;

  constructor(name: string, args: PostgresArgs, opts?: pulumi.ComponentResourceOptions) {
    super("edp:postgres:Postgres", name, {}, opts);
    const { config: cfg, provider } = args;
    const names = postgresNames(args.namespace);
    let plan: ReturnType<typeof databasePlan>;
    try {
      plan = databasePlan(args.databases);
    } catch (e) {
      throw new pulumi.ResourceError((e as Error).message, this);
    }
    const unknownRoles = Object.keys(args.rolePasswords ?? {}).filter((r) => !plan.some((d) => d.owner === r));
    if (unknownRoles.length > 0) throw new pulumi.ResourceError(`rolePasswords names roles that do not exist: ${unknownRoles.join(", ")}`, this);
    let backupTimings: JobTimings;
    let drillTimings: JobTimings;
    try {
      backupTimings = jobTimings(cfg.postgres.backup.schedule);
      drillTimings = jobTimings(cfg.postgres.backup.drillSchedule);
    } catch (e) {
      throw new pulumi.ResourceError((e as Error).message, this);
    }

    const child = { parent: this, provider };
    // Retained in every stage: a destroy or a replacement must never take a database with it.
    const stateful = { ...child, protect: cfg.protect, retainOnDelete: true };
    const labels = { "app.kubernetes.io/part-of": "edp-postgres", [STAGE_LABEL]: cfg.stage };

    // A password given from outside is checked before anything is created when it is known now,
    // else as soon as it resolves; the messages never quote it.
    const checked = (what: string, value: pulumi.Input<string>) => {
      if (typeof value === "string") {
        const problem = passwordProblem(value);
        if (problem) throw new pulumi.ResourceError(`${what} ${problem}`, this);
      }
      return pulumi.secret(
        pulumi.output(value).apply((pw) => {
          const problem = passwordProblem(pw);
          if (problem) throw new Error(`${name}: ${what} ${problem}`);
          return pw;
        }),
      );
    };
    const password = (role: string, given: pulumi.Input<string> | undefined) =>
      given === undefined
        ? pulumi.secret(new random.RandomPassword(`${name}-${role}`, GENERATED_PASSWORD, { parent: this }).result)
        : checked(role === "admin" ? "the admin password" : `the password of role ${role.replace(/^role-/, "")}`, given);

    this.adminUser = "postgres";
    this.adminPassword = password("admin", args.adminPassword);
    this.roles = Object.fromEntries(plan.map((d) => [d.database, { name: d.owner, password: password(`role-${d.owner}`, args.rolePasswords?.[d.owner]) }]));

    const ns = new k8s.core.v1.Namespace(`${name}-ns`, { metadata: { name: names.namespace, labels } }, stateful);

    const operator = new k8s.helm.v3.Release(
      `${name}-operator`,
      {
        name: "cnpg",
        chart: CHARTS.cloudnativePg.chart,
        version: CHARTS.cloudnativePg.version,
        repositoryOpts: { repo: CHARTS.cloudnativePg.repository },
        namespace: "cnpg-system",
        createNamespace: true,
        values: { crds: { create: true }, resources: { requests: { cpu: "50m", memory: "128Mi" }, limits: { cpu: "500m", memory: "512Mi" } } },
      },
      child,
    );

    // Alibaba's disk classes delete the disk with its volume; this one keeps it where data matters.
    const storageClass = new k8s.storage.v1.StorageClass(
      `${name}-storage`,
      {
        metadata: { name: "edp-postgres", labels },
        provisioner: "diskplugin.csi.alibabacloud.com",
        parameters: { type: "cloud_essd", performanceLevel: "PL1", fsType: "ext4" },
        reclaimPolicy: "Retain",
        allowVolumeExpansion: true,
        volumeBindingMode: "WaitForFirstConsumer",
      },
      stateful,
    );

    const inNs = (metaName: string, extra: Record<string, string> = {}) => ({ name: metaName, namespace: names.namespace, labels: { ...labels, ...extra } });
    const basicAuth = (metaName: string, username: string, pw: pulumi.Output<string>, extra: Record<string, string> = {}) =>
      new k8s.core.v1.Secret(`${name}-${metaName}`, { metadata: inNs(metaName, extra), type: "kubernetes.io/basic-auth", stringData: { username, password: pw } }, { ...child, dependsOn: [ns] });

    const superuser = basicAuth(names.superuserSecret, this.adminUser, this.adminPassword);
    // cnpg.io/reload: the operator applies a changed password without a restart.
    const roleSecrets = plan.map((d) => basicAuth(d.secretName, d.owner, this.roles[d.database].password, { "cnpg.io/reload": "true" }));

    const cluster = new k8s.apiextensions.CustomResource(
      `${name}-cluster`,
      {
        apiVersion: "postgresql.cnpg.io/v1",
        kind: "Cluster",
        metadata: inNs(names.cluster),
        spec: clusterSpec({ names, instances: cfg.postgres.instances, storageGb: cfg.postgres.storageGb, storageClass: "edp-postgres", databases: plan }),
      },
      { ...stateful, dependsOn: [operator, storageClass, superuser, ...roleSecrets] },
    );

    for (const d of plan) {
      new k8s.apiextensions.CustomResource(
        `${name}-db-${d.database}`,
        { apiVersion: "postgresql.cnpg.io/v1", kind: "Database", metadata: inNs(`${names.cluster}-${d.database.replace(/_/g, "-")}`), spec: databaseSpec(names, d) },
        { ...stateful, dependsOn: [cluster] },
      );
    }

    new k8s.apiextensions.CustomResource(
      `${name}-pooler`,
      { apiVersion: "postgresql.cnpg.io/v1", kind: "Pooler", metadata: inNs(names.pooler), spec: poolerSpec(names, cfg.postgres.instances > 1 ? 2 : 1) },
      { ...child, dependsOn: [cluster] },
    );

    // --- Backups: keys, scripts, Jobs, alerts.
    const keySecret = (metaName: string, key: AccessKeyPair) =>
      new k8s.core.v1.Secret(
        `${name}-${metaName}`,
        { metadata: inNs(metaName), type: "Opaque", stringData: { accessKeyId: key.accessKeyId, accessKeySecret: pulumi.secret(key.accessKeySecret) } },
        { ...child, dependsOn: [ns] },
      );
    // A role must trust exactly the service accounts the Jobs run as; anything else could never assume it.
    const identityOf = (kind: JobKind) => (kind === "backup" ? args.backupWriter : args.backupReader);
    for (const kind of ["backup", "drill", "restore"] as const) {
      const identity = identityOf(kind);
      const sa = jobServiceAccount(kind, names);
      if (identity.kind === "rrsa" && !identity.role.serviceAccounts.some((r) => r.namespace === names.namespace && r.name === sa)) {
        const trusted = identity.role.serviceAccounts.map((r) => `${r.namespace}/${r.name}`).join(", ");
        throw new pulumi.ResourceError(`the ${kind} Job runs as ${names.namespace}/${sa}, but its RAM role trusts only ${trusted}`, this);
      }
    }
    const credentialsOf = (kind: JobKind): pulumi.Output<JobCredentials> => {
      const identity = identityOf(kind);
      return identity.kind === "accessKey"
        ? pulumi.output<JobCredentials>({ kind: "accessKey" })
        : pulumi
            .all([identity.role.roleArn, identity.role.oidcProviderArn])
            .apply(([roleArn, oidcProviderArn]): JobCredentials => ({ kind: "rrsa", roleArn, oidcProviderArn, stsEndpoint: args.stsEndpoint }));
    };
    // Access keys live in Secrets only for identities without a role.
    const secretOf = (metaName: string, identity: WorkloadIdentity) => (identity.kind === "accessKey" ? [keySecret(metaName, identity.key)] : []);
    const writer = secretOf(names.writerSecret, args.backupWriter);
    const reader = secretOf(names.readerSecret, args.backupReader);
    const stsClient =
      args.backupWriter.kind === "rrsa" || args.backupReader.kind === "rrsa"
        ? [new k8s.core.v1.ConfigMap(`${name}-sts-exchange`, { metadata: inNs(STS_CLIENT_CONFIGMAP), data: { [STS_CLIENT_FILE]: stsClientBundle() } }, { ...child, dependsOn: [ns] })]
        : [];
    const scripts = new k8s.core.v1.ConfigMap(`${name}-scripts`, { metadata: inNs(names.scriptsConfigMap), data: jobScripts() }, { ...child, dependsOn: [ns] });
    const sa = new k8s.core.v1.ServiceAccount(
      `${name}-jobs-sa`,
      { metadata: inNs(names.serviceAccount), automountServiceAccountToken: false },
      { ...child, dependsOn: [ns] },
    );
    // The drill's own identity: under RRSA it assumes the reader's role, which the backup's cannot.
    const drillSa = new k8s.core.v1.ServiceAccount(
      `${name}-drill-sa`,
      { metadata: inNs(names.drillServiceAccount), automountServiceAccountToken: false },
      { ...child, dependsOn: [ns] },
    );
    // The restore Jobs' identity: patch exactly the one Pooler (to pause it for the swap).
    const restoreSa = new k8s.core.v1.ServiceAccount(
      `${name}-restore-sa`,
      { metadata: inNs(names.restoreServiceAccount), automountServiceAccountToken: false },
      { ...child, dependsOn: [ns] },
    );
    const restoreRole = new k8s.rbac.v1.Role(
      `${name}-restore-role`,
      {
        metadata: inNs(names.restoreServiceAccount),
        rules: [{ apiGroups: ["postgresql.cnpg.io"], resources: ["poolers"], resourceNames: [names.pooler], verbs: ["get", "patch"] }],
      },
      { ...child, dependsOn: [ns] },
    );
    const restoreBinding = new k8s.rbac.v1.RoleBinding(
      `${name}-restore-binding`,
      {
        metadata: inNs(names.restoreServiceAccount),
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: names.restoreServiceAccount },
        subjects: [{ kind: "ServiceAccount", name: names.restoreServiceAccount, namespace: names.namespace }],
      },
      { ...child, dependsOn: [restoreSa, restoreRole] },
    );

    const cronJob = (kind: JobKind, schedule: string, timings: JobTimings) =>
      new k8s.batch.v1.CronJob(
        `${name}-${CRONJOB_NAME[kind]}`,
        {
          metadata: inNs(CRONJOB_NAME[kind], { "app.kubernetes.io/name": CRONJOB_NAME[kind] }),
          spec: pulumi.all([args.backupBucket, credentialsOf(kind)]).apply(([bucket, credentials]) =>
            cronJobSpec(kind, {
              credentials,
              deadlineSeconds: timings.activeDeadlineSeconds,
              names,
              stage: cfg.stage,
              bucket,
              ossEndpoint: args.ossEndpoint,
              spoolGb: cfg.postgres.storageGb,
              schedule,
              timings,
              databases: plan.map((d) => d.database),
              drillMaxAgeSeconds: backupTimings.maxBackupAgeSeconds,
            }),
          ),
        },
        {
          ...child,
          dependsOn: [cluster, superuser, ...(kind === "backup" ? writer : reader), scripts, ...stsClient, ...(kind === "restore" ? [restoreBinding] : [kind === "drill" ? drillSa : sa])],
        },
      );
    cronJob("backup", cfg.postgres.backup.schedule, backupTimings);
    cronJob("drill", cfg.postgres.backup.drillSchedule, drillTimings);
    // Never scheduled (suspended): the template of the restore Jobs; its schedule is only required.
    cronJob("restore", cfg.postgres.backup.schedule, { ...backupTimings, activeDeadlineSeconds: 6 * 3600 });

    // Applied by the caller once the monitoring stack (its CRD) exists; that stack is built after
    // this component, which hands it the database credentials.
    this.alertRule = {
      apiVersion: "monitoring.coreos.com/v1",
      kind: "PrometheusRule",
      metadata: inNs("postgres-backup", args.prometheusRuleLabels),
      spec: {
        groups: [
          {
            name: "postgres-backup",
            rules: [...cronJobAlerts("backup", names.namespace, backupTimings), ...cronJobAlerts("drill", names.namespace, drillTimings)],
          },
        ],
      },
    };

    this.namespace = names.namespace;
    this.host = serviceHost(`${names.cluster}-rw`, names.namespace);
    this.poolerHost = serviceHost(names.pooler, names.namespace);
    this.port = POSTGRES_PORT;
    this.databases = plan.map((d) => d.database);
    this.restoreCommand = restoreCommand(cfg.stage);
    this.restoreCommands = Object.fromEntries(plan.map((d) => [d.database, restoreCommand(cfg.stage, d.database)]));

    this.registerOutputs({
      namespace: this.namespace,
      host: this.host,
      poolerHost: this.poolerHost,
      port: this.port,
      adminUser: this.adminUser,
      adminPassword: this.adminPassword,
      databases: this.databases,
      roles: this.roles,
      restoreCommand: this.restoreCommand,
      restoreCommands: this.restoreCommands,
    });
  }
}
