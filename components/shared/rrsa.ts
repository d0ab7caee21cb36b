/**
 * ACK's RRSA (RAM Roles for Service Accounts) as pure functions: the trust policy of a role a
 * ServiceAccount assumes, the ServiceAccounts of the platform's cloud-facing workloads, and the
 * parts a pod needs to exchange its projected token for STS credentials before rclone runs.
 *
 * How the exchange works: the kubelet projects a ServiceAccount token with the audience
 * `sts.aliyuncs.com` into the pod; an init container (the pinned Node image) runs
 * `sts-exchange.cjs`, which calls STS AssumeRoleWithOIDC through Alibaba's own credentials
 * library (@alicloud/credentials, bundled into a ConfigMap by sts-client.ts) and writes the
 * temporary AccessKeyId, AccessKeySecret and SecurityToken as an rclone config file into a
 * memory-backed emptyDir. The main container points rclone at that file (RCLONE_CONFIG); the
 * credentials never reach an environment variable, a log or a disk.
 */
import type * as k8s from "@pulumi/kubernetes";
import type { ServiceAccountRef } from "../contracts";
import type { RamAction } from "./ram-policy";

/** The audience ACK's OIDC provider accepts and a trust policy checks (oidc:aud). */
export const RRSA_AUDIENCE = "sts.aliyuncs.com";
/** Lifetime of the projected token: it is used once, at the start of the pod (600 s is Kubernetes' minimum). */
export const RRSA_TOKEN_SECONDS = 600;
/**
 * Longest session a role grants (its maxSessionDuration) and so the longest a Job can use its
 * STS credentials: the restore Job's deadline (6 h). Each pod asks for its own deadline only.
 */
export const RRSA_MAX_SESSION_SECONDS = 6 * 3600;
/** STS's shortest session. */
export const STS_MIN_SESSION_SECONDS = 900;

/** Where the pod reads its projected token, its exchange script, and where the credentials land. */
export const RRSA_PATHS = {
  tokenDir: "/var/run/secrets/rrsa",
  token: "/var/run/secrets/rrsa/token",
  clientDir: "/sts-client",
  credentialsDir: "/sts",
  rcloneConfig: "/sts/rclone.conf",
} as const;
export const RRSA_VOLUMES = { token: "rrsa-token", client: "sts-client", credentials: "sts-credentials" } as const;
/** The ConfigMap (one per namespace) with the bundled exchange client. */
export const STS_CLIENT_CONFIGMAP = "sts-exchange";
export const STS_CLIENT_FILE = "sts-exchange.cjs";
/** The rclone remote the Jobs use ("oss:<bucket>/..."): the exchange writes its credential keys. */
export const RCLONE_REMOTE = "oss";

/** The ServiceAccounts of the workloads that reach OSS from the central cluster, by identity. */
export const WORKLOAD_SERVICE_ACCOUNTS = {
  /** The PostgreSQL backup Job. */
  backupWriter: [{ namespace: "postgres", name: "pgbackup" }],
  /** The restore drill and the restore: read-only, never the writer. */
  backupReader: [
    { namespace: "postgres", name: "pgdrill" },
    { namespace: "postgres", name: "pgrestore" },
  ],
  /** The Vault raft snapshot CronJob. */
  vaultSnapshots: [{ namespace: "vault", name: "vault-snapshot" }],
} as const satisfies Record<string, readonly ServiceAccountRef[]>;

export type RrsaIdentityName = keyof typeof WORKLOAD_SERVICE_ACCOUNTS;

/** The `sub` claim of a ServiceAccount token. */
export const serviceAccountSubject = (sa: ServiceAccountRef) => `system:serviceaccount:${sa.namespace}:${sa.name}`;

/** What the cluster's RRSA is: the OIDC provider RAM trusts and the issuer of the tokens. */
export interface RrsaProvider {
  oidcProviderArn: string;
  issuer: string;
}

export interface TrustStatement {
  Effect: "Allow";
  Action: RamAction[];
  Principal: { Federated: string[] };
  Condition: { StringEquals: { "oidc:iss": string; "oidc:aud": string; "oidc:sub": string[] } };
}

export interface TrustPolicyDocument {
  Version: "1";
  Statement: TrustStatement[];
}

/**
 * Trust policy of a role for ServiceAccounts: the cluster's OIDC provider, tokens of its issuer
 * for STS only, and exactly these subjects. The action is `sts:AssumeRole`, the one ACK's own
 * ack-ram-tool writes for RRSA roles (the API the pod calls is AssumeRoleWithOIDC).
 */
export function rrsaTrustPolicy(provider: RrsaProvider, serviceAccounts: readonly ServiceAccountRef[]): TrustPolicyDocument {
  if (serviceAccounts.length === 0) throw new Error("an RRSA role must trust at least one ServiceAccount");
  return {
    Version: "1",
    Statement: [
      {
        Effect: "Allow",
        Action: ["sts:AssumeRole"],
        Principal: { Federated: [provider.oidcProviderArn] },
        Condition: { StringEquals: { "oidc:iss": provider.issuer, "oidc:aud": RRSA_AUDIENCE, "oidc:sub": serviceAccounts.map(serviceAccountSubject) } },
      },
    ],
  };
}

/** The STS endpoint pods of a region use: the VPC one (no internet egress needed). */
export const stsVpcEndpoint = (region: string) => `sts-vpc.${region}.aliyuncs.com`;

/** Session length a pod asks for: its deadline, within STS's and the role's bounds. */
export const sessionSeconds = (deadlineSeconds: number) => Math.max(STS_MIN_SESSION_SECONDS, Math.min(RRSA_MAX_SESSION_SECONDS, Math.ceil(deadlineSeconds)));

type Container = k8s.types.input.core.v1.Container;
type Volume = k8s.types.input.core.v1.Volume;

/** A pod's parts for one RRSA role (plain objects, as Kubernetes takes them). */
export interface RrsaPodParts {
  /** The init container that exchanges the token; run it last, right before the container that runs rclone. */
  initContainer: Container & { env: { name: string; value: string }[] };
  volumes: Volume[];
  /** Environment of the container that runs rclone. */
  env: { name: string; value: string }[];
  /** Mount of the credentials (read-only) in the container that runs rclone. */
  volumeMount: { name: string; mountPath: string; readOnly: true };
}

export interface RrsaPodInput {
  roleArn: string;
  oidcProviderArn: string;
  stsEndpoint: string;
  /** The pod's deadline (activeDeadlineSeconds): its credentials last that long. */
  deadlineSeconds: number;
  /** Names the session in ActionTrail, e.g. "pgbackup". */
  sessionName: string;
  image: string;
  securityContext: k8s.types.input.core.v1.SecurityContext;
}

export function rrsaPodParts(i: RrsaPodInput): RrsaPodParts {
  return {
    initContainer: {
      name: "sts-exchange",
      image: i.image,
      // --no-deprecation: the library's HTTP client uses url.parse, whose warning would only clutter the Job's log.
      command: ["node", "--no-deprecation", `${RRSA_PATHS.clientDir}/${STS_CLIENT_FILE}`],
      env: [
        // The names @alicloud/credentials reads for its OIDC provider.
        { name: "ALIBABA_CLOUD_ROLE_ARN", value: i.roleArn },
        { name: "ALIBABA_CLOUD_OIDC_PROVIDER_ARN", value: i.oidcProviderArn },
        { name: "ALIBABA_CLOUD_OIDC_TOKEN_FILE", value: RRSA_PATHS.token },
        { name: "ALIBABA_CLOUD_ROLE_SESSION_NAME", value: i.sessionName },
        { name: "EDP_STS_ENDPOINT", value: i.stsEndpoint },
        { name: "EDP_STS_DURATION_SECONDS", value: String(sessionSeconds(i.deadlineSeconds)) },
        { name: "EDP_RCLONE_REMOTE", value: RCLONE_REMOTE },
        { name: "EDP_RCLONE_CONFIG_OUT", value: RRSA_PATHS.rcloneConfig },
      ],
      securityContext: i.securityContext,
      resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { memory: "128Mi" } },
      volumeMounts: [
        { name: RRSA_VOLUMES.token, mountPath: RRSA_PATHS.tokenDir, readOnly: true },
        { name: RRSA_VOLUMES.client, mountPath: RRSA_PATHS.clientDir, readOnly: true },
        { name: RRSA_VOLUMES.credentials, mountPath: RRSA_PATHS.credentialsDir },
      ],
    },
    volumes: [
      {
        name: RRSA_VOLUMES.token,
        projected: { sources: [{ serviceAccountToken: { audience: RRSA_AUDIENCE, expirationSeconds: RRSA_TOKEN_SECONDS, path: "token" } }] },
      },
      { name: RRSA_VOLUMES.client, configMap: { name: STS_CLIENT_CONFIGMAP } },
      // Memory-backed: the temporary credentials never touch a node's disk.
      { name: RRSA_VOLUMES.credentials, emptyDir: { medium: "Memory", sizeLimit: "1Mi" } },
    ],
    env: [{ name: "RCLONE_CONFIG", value: RRSA_PATHS.rcloneConfig }],
    volumeMount: { name: RRSA_VOLUMES.credentials, mountPath: RRSA_PATHS.credentialsDir, readOnly: true },
  };
}
