/**
 * Kubernetes objects of the PostgreSQL component as pure functions of typed input: the
 * CloudNativePG Cluster, Databases and Pooler, the backup/drill/restore CronJobs and the alert
 * rules. Credentials appear only as references to Secrets; no function here sees a password.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type * as k8s from "@pulumi/kubernetes";
import { rrsaPodParts } from "../shared/rrsa";
import { IMAGES } from "../versions";
import { type DatabasePlan, type JobTimings, serviceHost } from "./plan";

type CronJobSpec = k8s.types.input.batch.v1.CronJobSpec;
type PodSpec = k8s.types.input.core.v1.PodSpec;
type EnvVar = k8s.types.input.core.v1.EnvVar;

/** Names shared by the objects of the component. */
export interface PostgresNames {
  namespace: string;
  /** Name of the CNPG Cluster; its primary's Service is <cluster>-rw. */
  cluster: string;
  /** basic-auth Secret of the superuser (postgres). */
  superuserSecret: string;
  /** Secrets with the backup bucket's access keys (accessKeyId, accessKeySecret); only where the cluster has no RRSA. */
  writerSecret: string;
  readerSecret: string;
  scriptsConfigMap: string;
  /** Service account of the backup Jobs (the writer's role trusts it under RRSA). */
  serviceAccount: string;
  /** Service account of the drill Jobs (the reader's role trusts it, never the writer's). */
  drillServiceAccount: string;
  /** Service account of the restore Jobs: the only one with an API token, allowed to pause the pooler. */
  restoreServiceAccount: string;
  pooler: string;
}

export function postgresNames(namespace = "postgres"): PostgresNames {
  return {
    namespace,
    cluster: "postgres",
    superuserSecret: "postgres-superuser",
    writerSecret: "pgbackup-oss-writer",
    readerSecret: "pgbackup-oss-reader",
    scriptsConfigMap: "pgbackup-scripts",
    serviceAccount: "pgbackup",
    drillServiceAccount: "pgdrill",
    restoreServiceAccount: "pgrestore",
    pooler: "postgres-pooler-rw",
  };
}

export const POSTGRES_PORT = 5432;
/** Label on the CronJobs naming their stage; restore-pgbackup.sh refuses a cluster of another stage. */
export const STAGE_LABEL = "edp.daim.io/stage";

const SCRIPT_DIR = path.join(__dirname, "scripts");
/** The scripts the Jobs run, mounted from a ConfigMap. They hold no secret. */
export const JOB_SCRIPTS = ["pglib.sh", "pgbackup.sh", "pgrestore.sh", "pgdrill.sh"] as const;

export function jobScripts(): Record<string, string> {
  return Object.fromEntries(JOB_SCRIPTS.map((file) => [file, fs.readFileSync(path.join(SCRIPT_DIR, file), "utf8")]));
}

// --- CloudNativePG objects ----------------------------------------------------------------

export interface ClusterInput {
  names: PostgresNames;
  instances: number;
  storageGb: number;
  storageClass: string;
  databases: DatabasePlan[];
}

/** Spec of the postgresql.cnpg.io/v1 Cluster. */
export function clusterSpec(input: ClusterInput): Record<string, unknown> {
  const [first] = input.databases;
  return {
    instances: input.instances,
    imageName: IMAGES.postgres,
    primaryUpdateStrategy: "unsupervised",
    // The backup Jobs and the manual's postgres-admin-credentials need the superuser over the network.
    enableSuperuserAccess: true,
    superuserSecret: { name: input.names.superuserSecret },
    storage: { size: `${input.storageGb}Gi`, storageClass: input.storageClass },
    // initdb creates one application database; the rest come from Database objects.
    bootstrap: { initdb: { database: first.database, owner: first.owner, secret: { name: first.secretName } } },
    managed: {
      roles: input.databases.map((d) => ({
        name: d.owner,
        ensure: "present",
        login: true,
        inherit: true,
        connectionLimit: -1,
        passwordSecret: { name: d.secretName },
      })),
    },
    postgresql: { parameters: { max_connections: "300", shared_buffers: "256MB", log_min_duration_statement: "5s" } },
    affinity: { enablePodAntiAffinity: true, topologyKey: "topology.kubernetes.io/zone", podAntiAffinityType: "preferred" },
  };
}

/** Spec of a postgresql.cnpg.io/v1 Database; retained in PostgreSQL when the object goes. */
export function databaseSpec(names: PostgresNames, d: DatabasePlan): Record<string, unknown> {
  return { name: d.database, owner: d.owner, cluster: { name: names.cluster }, ensure: "present", databaseReclaimPolicy: "retain" };
}

/**
 * Spec of the postgresql.cnpg.io/v1 Pooler (PgBouncer) in front of the primary. Session pooling:
 * Keycloak, Vault and the Java services keep prepared statements and session state.
 */
export function poolerSpec(names: PostgresNames, instances: number): Record<string, unknown> {
  return {
    cluster: { name: names.cluster },
    instances,
    type: "rw",
    pgbouncer: { poolMode: "session", parameters: { max_client_conn: "1000", default_pool_size: "25" } },
  };
}

// --- Backup, drill and restore Jobs ------------------------------------------------------

export type JobKind = "backup" | "drill" | "restore";

/** The service account each kind of Job runs as. */
export const jobServiceAccount = (kind: JobKind, names: PostgresNames) =>
  ({ backup: names.serviceAccount, drill: names.drillServiceAccount, restore: names.restoreServiceAccount })[kind];

/**
 * How a Job reaches the bucket: the access key in its Secret (writerSecret for the backup,
 * readerSecret for the drill and the restore), or, under RRSA, the RAM role its service account
 * assumes (the writer's for the backup, the reader's for the drill and the restore).
 */
export type JobCredentials =
  | { kind: "accessKey" }
  | { kind: "rrsa"; roleArn: string; oidcProviderArn: string; stsEndpoint: string };

export interface JobInput {
  names: PostgresNames;
  stage: string;
  /** Backup bucket name. */
  bucket: string;
  /** OSS endpoint the Jobs use (the VPC-internal one). */
  ossEndpoint: string;
  /** Size of the local spool that holds one dump at a time. */
  spoolGb: number;
  /** The databases of the plan: the backup dumps exactly these and fails when one is missing; the drill checks them. */
  databases: readonly string[];
  /** Age of the newest complete backup above which the drill fails (two backup intervals). */
  drillMaxAgeSeconds: number;
  credentials: JobCredentials;
  /** The Job's deadline: under RRSA its STS session lasts that long. */
  deadlineSeconds: number;
}

const secretEnv = (name: string, secret: string, key: string): EnvVar => ({ name, valueFrom: { secretKeyRef: { name: secret, key } } });

/** The environment of a Job: connection, object store; secrets only by reference. */
export function jobEnv(kind: JobKind, input: JobInput): EnvVar[] {
  const { names } = input;
  const keys = kind === "backup" ? names.writerSecret : names.readerSecret;
  return [
    { name: "PGHOST", value: serviceHost(`${names.cluster}-rw`, names.namespace) },
    { name: "PGPORT", value: String(POSTGRES_PORT) },
    secretEnv("PGUSER", names.superuserSecret, "username"),
    secretEnv("PGPASSWORD", names.superuserSecret, "password"),
    // CNPG serves TLS with its own CA; verify the server against it.
    { name: "PGSSLMODE", value: "verify-full" },
    { name: "PGSSLROOTCERT", value: "/etc/postgres-ca/ca.crt" },
    { name: "BACKUP_REMOTE", value: `oss:${input.bucket}/${input.stage}` },
    { name: "RCLONE", value: "/tools/rclone" },
    { name: "RCLONE_CONFIG_OSS_TYPE", value: "s3" },
    { name: "RCLONE_CONFIG_OSS_PROVIDER", value: "Alibaba" },
    { name: "RCLONE_CONFIG_OSS_ENDPOINT", value: input.ossEndpoint },
    // OSS accepts only virtual-hosted addressing (<bucket>.<endpoint>); rclone's default is path style.
    { name: "RCLONE_CONFIG_OSS_FORCE_PATH_STYLE", value: "false" },
    // The keys may not list or create buckets; the bucket is the foundation's.
    { name: "RCLONE_CONFIG_OSS_NO_CHECK_BUCKET", value: "true" },
    { name: "RCLONE_CONFIG_OSS_ACL", value: "private" },
    // Under RRSA the credentials come from the file the sts-exchange init container wrote (RCLONE_CONFIG).
    ...(input.credentials.kind === "accessKey"
      ? [secretEnv("RCLONE_CONFIG_OSS_ACCESS_KEY_ID", keys, "accessKeyId"), secretEnv("RCLONE_CONFIG_OSS_SECRET_ACCESS_KEY", keys, "accessKeySecret")]
      : []),
    // One name per line; plan.ts's names need no quoting (pglib.sh checks them again).
    ...(kind === "restore" ? [] : [{ name: "PGBACKUP_DATABASES", value: input.databases.join("\n") }]),
    ...(kind === "drill" ? [{ name: "PGDRILL_MAX_AGE_SECONDS", value: String(input.drillMaxAgeSeconds) }] : []),
    // The restore pauses the PgBouncer Pooler for its swap (pgrestore.sh, step 4).
    ...(kind === "restore"
      ? [
          { name: "POOLER_NAME", value: names.pooler },
          { name: "POOLER_NAMESPACE", value: names.namespace },
          { name: "KUBECTL", value: "/tools/kubectl" },
        ]
      : []),
    { name: "PGBACKUP_SPOOL", value: "/spool" },
    { name: "TMPDIR", value: "/spool" },
    { name: "HOME", value: "/spool" },
  ];
}

const SCRIPT_OF: Record<JobKind, string> = { backup: "pgbackup.sh", drill: "pgdrill.sh", restore: "pgrestore.sh" };

const restricted = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  capabilities: { drop: ["ALL"] },
};

/** An init container that copies a static binary from its image into the shared /tools volume. */
const copyTool = (tool: string, image: string) => ({
  name: tool,
  image,
  command: ["cp", `/usr/local/bin/${tool}`, `/tools/${tool}`],
  securityContext: restricted,
  volumeMounts: [{ name: "tools", mountPath: "/tools" }],
  resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { memory: "64Mi" } },
});

/** Where kubectl's in-cluster config reads the API token, its CA and the namespace. */
const API_ACCESS_PATH = "/var/run/secrets/kubernetes.io/serviceaccount";

/**
 * The restore's API access (kubectl pauses the Pooler): what automounting would give, as a
 * projected volume mounted into the script's container alone, so that the init containers (the
 * tool copies and the STS exchange) hold no API token. The kubelet renews the token before it expires.
 */
const apiAccessVolume = {
  name: "api-access",
  projected: {
    sources: [
      { serviceAccountToken: { path: "token", expirationSeconds: 3600 } },
      { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } },
      { downwardAPI: { items: [{ path: "namespace", fieldRef: { fieldPath: "metadata.namespace" } }] } },
    ],
  },
};

/**
 * The pod of a Job: rclone (and for the restore, kubectl) copied in by init containers, under
 * RRSA the token exchange last, then the script run in the server's image.
 */
export function jobPodSpec(kind: JobKind, input: JobInput): PodSpec {
  const { names, credentials } = input;
  const rrsa =
    credentials.kind === "rrsa"
      ? rrsaPodParts({
          roleArn: credentials.roleArn,
          oidcProviderArn: credentials.oidcProviderArn,
          stsEndpoint: credentials.stsEndpoint,
          deadlineSeconds: input.deadlineSeconds,
          sessionName: CRONJOB_NAME[kind],
          image: IMAGES.node,
          securityContext: restricted,
        })
      : undefined;
  return {
    // Only the restore talks to the API server (to pause the pooler), and only from its script's
    // container (apiAccessVolume); backup and drill get no API token. Under RRSA each pod gets its
    // own audience-bound token for STS only.
    serviceAccountName: jobServiceAccount(kind, names),
    automountServiceAccountToken: false,
    restartPolicy: "Never",
    // uid 26 is the postgres user of the CloudNativePG images.
    securityContext: { runAsNonRoot: true, runAsUser: 26, runAsGroup: 26, fsGroup: 26, seccompProfile: { type: "RuntimeDefault" } },
    initContainers: [copyTool("rclone", IMAGES.rclone), ...(kind === "restore" ? [copyTool("kubectl", IMAGES.fluxCli)] : []), ...(rrsa ? [rrsa.initContainer] : [])],
    containers: [
      {
        name: kind,
        image: IMAGES.postgres,
        command: ["bash", `/scripts/${SCRIPT_OF[kind]}`],
        env: [...jobEnv(kind, input), ...(rrsa?.env ?? [])],
        securityContext: restricted,
        volumeMounts: [
          { name: "scripts", mountPath: "/scripts", readOnly: true },
          { name: "tools", mountPath: "/tools", readOnly: true },
          { name: "spool", mountPath: "/spool" },
          { name: "postgres-ca", mountPath: "/etc/postgres-ca", readOnly: true },
          ...(rrsa ? [rrsa.volumeMount] : []),
          ...(kind === "restore" ? [{ name: apiAccessVolume.name, mountPath: API_ACCESS_PATH, readOnly: true }] : []),
        ],
        resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { memory: "1Gi" } },
      },
    ],
    volumes: [
      { name: "scripts", configMap: { name: names.scriptsConfigMap, defaultMode: 0o555 } },
      { name: "tools", emptyDir: { sizeLimit: "256Mi" } },
      { name: "spool", emptyDir: { sizeLimit: `${input.spoolGb}Gi` } },
      // CNPG's CA Secret of the cluster: <cluster>-ca holds ca.crt.
      { name: "postgres-ca", secret: { secretName: `${names.cluster}-ca`, items: [{ key: "ca.crt", path: "ca.crt" }] } },
      ...(rrsa?.volumes ?? []),
      ...(kind === "restore" ? [apiAccessVolume] : []),
    ],
  };
}

/** CronJob name of each kind; restore-pgbackup.sh creates its Jobs from "pgrestore". */
export const CRONJOB_NAME: Record<JobKind, string> = { backup: "pgbackup", drill: "pgdrill", restore: "pgrestore" };

export interface CronJobInput extends JobInput {
  schedule: string;
  timings: JobTimings;
}

/**
 * Spec of a CronJob. Runs never overlap (Forbid) and are never retried (backoffLimit 0): a
 * failed backup or drill must surface as a failed Job, and a restore must not run twice. The
 * restore CronJob is suspended: it is the template restore-pgbackup.sh starts Jobs from.
 */
export function cronJobSpec(kind: JobKind, input: CronJobInput): CronJobSpec {
  return {
    schedule: input.schedule,
    timeZone: "Etc/UTC",
    suspend: kind === "restore",
    concurrencyPolicy: "Forbid",
    startingDeadlineSeconds: input.timings.startingDeadlineSeconds,
    successfulJobsHistoryLimit: 3,
    failedJobsHistoryLimit: 3,
    jobTemplate: {
      metadata: { labels: { "app.kubernetes.io/name": CRONJOB_NAME[kind], "app.kubernetes.io/part-of": "edp-postgres" } },
      spec: {
        backoffLimit: 0,
        activeDeadlineSeconds: input.timings.activeDeadlineSeconds,
        ...(kind === "restore" ? { ttlSecondsAfterFinished: 7 * 24 * 3600 } : {}),
        template: {
          metadata: { labels: { "app.kubernetes.io/name": CRONJOB_NAME[kind], "app.kubernetes.io/part-of": "edp-postgres" } },
          spec: jobPodSpec(kind, input),
        },
      },
    },
  };
}

// --- Alerts -------------------------------------------------------------------------------

export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/**
 * Alert rules for a CronJob, all from kube-state-metrics (deployed by the monitoring component;
 * no Pushgateway needed): its latest Job failed (kube_job_failed within one schedule gap, so an
 * old failure stops counting once newer runs exist), it has no recent success, or it has never
 * succeeded; for the backup also a slow run.
 *
 * For the backup, "no recent success" is the "the newest complete backup of an expected
 * database is older than two schedule intervals": pgbackup.sh exits 0 only when every database of
 * the plan was dumped and its completion marker uploaded, so the start of the newest successful
 * Job (before the run's timestamp is taken) is a lower bound of the newest complete backup of each
 * of them. The CronJob keeps its 3 newest successful Jobs; should they be gone, the CronJob's
 * lastSuccessfulTime (the end of that run) stands in.
 */
export function cronJobAlerts(kind: "backup" | "drill", namespace: string, timings: JobTimings): AlertRule[] {
  const cronjob = CRONJOB_NAME[kind];
  const title = kind === "backup" ? "PostgresBackup" : "PostgresRestoreDrill";
  const what = kind === "backup" ? "PostgreSQL backup" : "PostgreSQL restore drill";
  const jobs = `namespace="${namespace}", job_name=~"${cronjob}-[0-9]+"`;
  const lastSuccess = `kube_cronjob_status_last_successful_time{namespace="${namespace}", cronjob="${cronjob}"}`;
  const hours = (s: number) => `${Math.round((s / 3600) * 10) / 10}h`;
  const labels = { severity: "critical", component: "postgres" };
  const log = `kubectl -n ${namespace} logs job/<job>`;
  return [
    {
      alert: `${title}Failed`,
      expr: `(kube_job_failed{${jobs}, condition="true"} == 1) and on (namespace, job_name) (time() - kube_job_created{${jobs}} < ${timings.failureWindowSeconds})`,
      labels,
      annotations: {
        summary: `${what} Job {{ $labels.job_name }} failed`,
        description: `The ${cronjob} Job {{ $labels.job_name }} in ${namespace} failed; its log names what failed: ${log}.`,
      },
    },
    kind === "backup"
      ? {
          alert: `${title}Stale`,
          expr:
            `time() - (max(kube_job_status_start_time{${jobs}} and on (namespace, job_name) (kube_job_status_succeeded{${jobs}} > 0))` +
            ` or max(${lastSuccess})) > ${timings.maxBackupAgeSeconds}`,
          labels,
          annotations: {
            summary: `The newest complete PostgreSQL backup is older than ${hours(timings.maxBackupAgeSeconds)}`,
            description: `No ${cronjob} run in ${namespace} has backed up every database of the plan for two schedule intervals (${hours(timings.maxBackupAgeSeconds)}); the failed runs' logs name the missing or failing database: ${log}.`,
          },
        }
      : {
          alert: `${title}Stale`,
          expr: `time() - max(${lastSuccess}) > ${timings.staleAfterSeconds}`,
          labels: { ...labels, severity: "warning" },
          annotations: {
            summary: `No successful ${what} for more than ${hours(timings.staleAfterSeconds)}`,
            description: `The last successful ${cronjob} run in ${namespace} is older than ${hours(timings.staleAfterSeconds)}: at least one scheduled run is missing or failed.`,
          },
        },
    {
      alert: `${title}NeverSucceeded`,
      expr: `absent(${lastSuccess})`,
      for: `${timings.staleAfterSeconds}s`,
      labels: kind === "backup" ? labels : { ...labels, severity: "warning" },
      annotations: {
        summary: `${what} has never succeeded`,
        description: `The CronJob ${cronjob} in ${namespace} has no successful run on record for ${hours(timings.staleAfterSeconds)}.`,
      },
    },
    ...(kind === "backup"
      ? [
          {
            alert: `${title}Slow`,
            // Running for more than 3/4 of its deadline, or a run that finished within the last
            // schedule gap took that long: the databases are outgrowing what one run can dump.
            expr:
              `((time() - kube_job_status_start_time{${jobs}} > ${timings.slowRunSeconds}) and on (namespace, job_name) (kube_job_status_active{${jobs}} > 0))` +
              ` or ((kube_job_status_completion_time{${jobs}} - kube_job_status_start_time{${jobs}} > ${timings.slowRunSeconds})` +
              ` and on (namespace, job_name) (time() - kube_job_status_completion_time{${jobs}} < ${timings.failureWindowSeconds}))`,
            labels: { ...labels, severity: "warning" },
            annotations: {
              summary: `${what} Job {{ $labels.job_name }} runs longer than ${hours(timings.slowRunSeconds)}`,
              description: `The ${cronjob} Job {{ $labels.job_name }} in ${namespace} ran or runs longer than 3/4 of its deadline (${hours(timings.activeDeadlineSeconds)}); at this pace the next larger run is killed unfinished. See the README of components/postgres (backup size limit).`,
            },
          },
        ]
      : []),
  ];
}
