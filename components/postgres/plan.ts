/**
 * Pure decisions of the PostgreSQL component: which databases and roles exist, which passwords
 * are acceptable, how long the backup Jobs may run, when the alerts fire, and the restore
 * command an operator types. No resources here; components/postgres/postgres.ts wires them.
 */
import { scheduleGaps } from "../../config/cron";
import { MIN_BACKUP_INTERVAL_SECONDS } from "../../config/limits";

/** Databases of the platform's infrastructure (manual §3.2: keycloak-db-secret, vault-db-credentials). */
export const PLATFORM_DATABASES = ["keycloak", "vault"] as const;

/**
 * EDP services that keep state in PostgreSQL, decided from the manual's service descriptions
 * (§2.4.2): masterdata (customers, users), injectionmoulding (machines), datadirectormonitoring
 * (heartbeats, notifications), datadirectormanagement (edge devices, deployments, containers),
 * onboarding (onboarding tokens and issued certificates). The others hold no state of their
 * own: portalgateway and edpgateway route requests, devicemanagement is a REST facade over the
 * services, servicemanagement is an in-memory Eureka registry, portal is static web content.
 */
export const SERVICE_DATABASES = ["masterdata", "injectionmoulding", "datadirectormonitoring", "datadirectormanagement", "onboarding"] as const;

export type DatabaseName = (typeof PLATFORM_DATABASES)[number] | (typeof SERVICE_DATABASES)[number];

/** One database and the login role that owns it (same name: the manual's services expect that). */
export interface DatabasePlan {
  database: string;
  owner: string;
  /** Kubernetes name of the Secret (basic-auth) holding the owner's credentials for the operator. */
  secretName: string;
}

/**
 * The one rule for database names, where they are made. The backup, restore and drill scripts
 * apply the same pattern (pglib.sh: PG_DB_NAME_RE) to what they are given, so the restore accepts
 * exactly what the backup writes. No spaces, quotes or upper case: a name needs no quoting in a
 * shell, an object key, a URL or SQL. At most 48 characters: the restore's pgrestore_new_ and
 * pgrestore_old_ copies must fit PostgreSQL's 63.
 */
export const DATABASE_NAME = /^[a-z][a-z0-9_]{0,47}$/;
/** Prefixes of the drill's scratch databases and the restore's working and safety copies. */
export const RESERVED_DATABASE_PREFIXES = ["pgdrill_", "pgrestore_"] as const;

/** The databases of the platform, each with its owner role; rejects names the scripts would refuse. */
export function databasePlan(names: readonly string[] = [...SERVICE_DATABASES, ...PLATFORM_DATABASES]): DatabasePlan[] {
  const seen = new Set<string>();
  return names.map((database) => {
    if (!DATABASE_NAME.test(database))
      throw new Error(`database name ${JSON.stringify(database)} must be a lower-case letter, then lower-case letters, digits and '_' (at most 48)`);
    if (database === "postgres" || RESERVED_DATABASE_PREFIXES.some((p) => database.startsWith(p))) throw new Error(`database name ${database} is reserved`);
    if (seen.has(database)) throw new Error(`database ${database} is listed twice`);
    seen.add(database);
    return { database, owner: database, secretName: `postgres-role-${database.replace(/_/g, "-")}` };
  });
}

/** Characters the manual forbids in passwords (they break JDBC URLs and the apps' env parsing). */
export const FORBIDDEN_PASSWORD_CHARACTERS = ["\n", "\r", "@", ":", "&", "?"] as const;

/** Why a password is unacceptable, without ever quoting it; undefined when it is fine. */
export function passwordProblem(password: string): string | undefined {
  if (password.length < 16) return "is shorter than 16 characters";
  const bad = FORBIDDEN_PASSWORD_CHARACTERS.filter((c) => password.includes(c));
  if (bad.length > 0) return `contains forbidden character(s) ${bad.map((c) => JSON.stringify(c)).join(" ")}`;
  if (/[\s"'\\/#%]/.test(password)) return "contains whitespace, a quote, '\\', '/', '#' or '%', which URLs and connection strings do not take as they are";
  return undefined;
}

/** Settings of @pulumi/random's RandomPassword that only yield acceptable passwords (URL-unreserved specials). */
export const GENERATED_PASSWORD = { length: 32, special: true, overrideSpecial: "-_.~", minUpper: 2, minLower: 2, minNumeric: 2, minSpecial: 1 } as const;

/** The shortest and longest time between two runs of a schedule (UTC), in seconds; Kubernetes' own dialect (config/cron.ts). */
export { scheduleGaps };

export interface JobTimings {
  /** Job.spec.activeDeadlineSeconds: a hung run is killed (and fails) before the next is due. */
  activeDeadlineSeconds: number;
  /** CronJob.spec.startingDeadlineSeconds: a run that could not start in time is skipped. */
  startingDeadlineSeconds: number;
  /** Age of the last success after which the "stale" alert fires: one whole missed run. */
  staleAfterSeconds: number;
  /** Window in which a failed Job still counts as the latest outcome. */
  failureWindowSeconds: number;
  /** Age of the newest complete run after which it is too old: two schedule intervals (the longest gap, twice). */
  maxBackupAgeSeconds: number;
  /** Run time after which a run is slow: three quarters of its deadline, time left to act before it is killed. */
  slowRunSeconds: number;
}

/** Deadlines and alert thresholds derived from a schedule, so they follow it when it changes. */
export function jobTimings(schedule: string, maxRunSeconds = 6 * 3600): JobTimings {
  const { min, max } = scheduleGaps(schedule);
  if (min < MIN_BACKUP_INTERVAL_SECONDS) {
    throw new Error(`schedule ${JSON.stringify(schedule)} runs every ${min}s; a backup Job needs at least ${MIN_BACKUP_INTERVAL_SECONDS / 60} minutes between runs`);
  }
  const activeDeadlineSeconds = Math.min(min - 300, maxRunSeconds);
  const startingDeadlineSeconds = Math.min(900, Math.floor(min / 4));
  return {
    activeDeadlineSeconds,
    startingDeadlineSeconds,
    staleAfterSeconds: max + activeDeadlineSeconds + 900,
    failureWindowSeconds: max,
    maxBackupAgeSeconds: 2 * max,
    slowRunSeconds: Math.floor(activeDeadlineSeconds * 0.75),
  };
}

/** Cluster-internal host of a Service. */
export const serviceHost = (service: string, namespace: string) => `${service}.${namespace}.svc`;

/** Path of the operator-side restore script, relative to the repository root. */
export const RESTORE_SCRIPT = "components/postgres/scripts/restore-pgbackup.sh";

/**
 * The command that restores a database of a stage from its latest dump; without a database, the
 * general form, which also takes the name of an older dump.
 */
export function restoreCommand(stage: string, database?: string): string {
  return database === undefined ? `${RESTORE_SCRIPT} ${stage} <database> [<YYYYmmddTHHMMSSZ>.dump]` : `${RESTORE_SCRIPT} ${stage} ${database}`;
}
