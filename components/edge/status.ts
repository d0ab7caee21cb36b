/**
 * Status back to the centre (seed 001's "Edge cluster status"): a CronJob in every desired state
 * collects the cluster's nodes, Flux's sync state, every HelmRelease and the certificate the
 * sealed-secrets controller serves, and writes it as one JSON object into the cluster's own
 * prefix, with an identity that may write only that object. `npm run fleet -- status` reads them.
 * Pure: the collector script, the objects, and the document's type.
 */
import { createHash } from "node:crypto";
import { IMAGES } from "../versions";
import type { KubeObject } from "./templates";

/** The status object's name under the cluster's prefix. */
export const STATUS_FILE = "status.json";
/** Secret (flux-system) with the status writer's access key; delivered by the bootstrap, never by the desired state. */
export const STATUS_CREDENTIALS_SECRET = "edp-status-credentials";
/** ConfigMap (flux-system) the desired state carries: what the centre meant the cluster to run. */
export const REVISION_CONFIGMAP = "edp-desired-state-revision";
export const STATUS_WRITER = "edp-status-writer";
const NAMESPACE = "flux-system";
const MANAGED_BY = { "app.kubernetes.io/managed-by": "edp-edge-bootstrap" };
/** kubeseal's own path to the controller's certificate, through the API server's service proxy. */
export const CERT_PROXY_PATH = "/api/v1/namespaces/kube-system/services/http:sealed-secrets-controller:/proxy/v1/cert.pem";

/** What one status object holds (schema 1). Fields are null when the collector could not read them; `errors` says why. */
export interface ClusterStatus {
  schema: 1;
  stage: string;
  cluster: string;
  uuid: string;
  /** When it was collected (UTC, ISO 8601). */
  time: string;
  nodes: { name: string; ready: boolean; labels: Record<string, string> }[] | null;
  /** SHA-256 of the DER certificate the sealed-secrets controller serves (kubeseal's cert). */
  sealedSecretsCertSha256: string | null;
  /** The revision ConfigMap as applied on the cluster. */
  desiredState: { revision: string; sealedSecretsCertSha256: string } | null;
  flux: {
    bucket: { ready: boolean; message: string; revision: string | null } | null;
    kustomization: { ready: boolean; message: string; lastAppliedRevision: string | null } | null;
  };
  helmReleases: { namespace: string; name: string; ready: boolean; message: string }[] | null;
  errors: string[];
}

/** SHA-256 of a PEM certificate's DER bytes: the fingerprint `openssl x509 -fingerprint -sha256` prints, in lower-case hex without colons. */
export function certSha256(pem: string): string {
  const body = pem.replace(/-----(BEGIN|END) [A-Z ]+-----/g, "").replace(/\s+/g, "");
  return createHash("sha256").update(Buffer.from(body, "base64")).digest("hex");
}

/** The revision ConfigMap: a digest of everything else the centre publishes for the cluster, and the certificate it must seal with. */
export function revisionConfigMap(revision: string, certFingerprint: string): KubeObject {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: REVISION_CONFIGMAP, namespace: NAMESPACE, labels: { ...MANAGED_BY } },
    data: { revision, sealedSecretsCertSha256: certFingerprint },
  };
}

export const desiredStateRevision = (...texts: string[]) => `sha256:${createHash("sha256").update(texts.join("\n---\n")).digest("hex")}`;

/**
 * The collector (POSIX sh, kubectl, jq, base64, sha256sum). Every read that fails is recorded in
 * `errors` instead of ending the run, so a half-broken cluster still reports, and the report says
 * what is broken. Large outputs go through files: jq's --argjson would hit the argument size limit.
 */
export const STATUS_COLLECTOR_SCRIPT = `#!/bin/sh
# Collects this edge cluster's status for the centre (components/edge/status.ts).
set -eu
: "\${EDP_STATUS_OUT:?}" "\${EDP_STAGE:?}" "\${EDP_CLUSTER:?}" "\${EDP_CLUSTER_UUID:?}"
work="$(dirname "$EDP_STATUS_OUT")"
errors="$work/errors.txt"
: >"$errors"

# get_json FILE WHAT KUBECTL-ARGS...: the object as JSON in FILE, or null and an error line.
get_json() {
  file="$1"
  what="$2"
  shift 2
  if ! kubectl "$@" -o json >"$file" 2>"$work/stderr.txt"; then
    printf '%s: %s\\n' "$what" "$(tr '\\n' ' ' <"$work/stderr.txt" | cut -c1-300)" >>"$errors"
    echo null >"$file"
  fi
}

get_json "$work/nodes.json" nodes get nodes
get_json "$work/bucket.json" "Flux Bucket flux-system/edp-desired-state" get buckets.source.toolkit.fluxcd.io -n flux-system edp-desired-state
get_json "$work/kustomization.json" "Flux Kustomization flux-system/edp-desired-state" get kustomizations.kustomize.toolkit.fluxcd.io -n flux-system edp-desired-state
get_json "$work/helmreleases.json" "HelmReleases" get helmreleases.helm.toolkit.fluxcd.io --all-namespaces
get_json "$work/revision.json" "ConfigMap flux-system/${REVISION_CONFIGMAP}" get configmap -n flux-system ${REVISION_CONFIGMAP}

fingerprint=""
if kubectl get --raw '${CERT_PROXY_PATH}' >"$work/cert.pem" 2>"$work/stderr.txt"; then
  fingerprint="$(sed -e '/-----/d' "$work/cert.pem" | tr -d ' \\r\\n' | base64 -d | sha256sum | cut -d' ' -f1)"
else
  printf 'sealed-secrets certificate: %s\\n' "$(tr '\\n' ' ' <"$work/stderr.txt" | cut -c1-300)" >>"$errors"
fi

jq -n \\
  --arg stage "$EDP_STAGE" --arg cluster "$EDP_CLUSTER" --arg uuid "$EDP_CLUSTER_UUID" \\
  --arg time "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --arg fingerprint "$fingerprint" \\
  --slurpfile nodes "$work/nodes.json" --slurpfile bucket "$work/bucket.json" \\
  --slurpfile kustomization "$work/kustomization.json" --slurpfile releases "$work/helmreleases.json" \\
  --slurpfile revision "$work/revision.json" --rawfile errors "$errors" '
  def ready: ((.status.conditions // []) | map(select(.type == "Ready")) | .[0]) as $c
    | {ready: (($c.status // "") == "True"), message: ($c.message // "no Ready condition")};
  {
    schema: 1, stage: $stage, cluster: $cluster, uuid: $uuid, time: $time,
    nodes: ($nodes[0] | if . == null then null else [.items[] | {
      name: .metadata.name,
      ready: (((.status.conditions // []) | map(select(.type == "Ready")) | .[0].status // "") == "True"),
      labels: (.metadata.labels // {})
    }] end),
    sealedSecretsCertSha256: (if $fingerprint == "" then null else $fingerprint end),
    desiredState: ($revision[0] | if . == null then null else {revision: (.data.revision // ""), sealedSecretsCertSha256: (.data.sealedSecretsCertSha256 // "")} end),
    flux: {
      bucket: ($bucket[0] | if . == null then null else (ready + {revision: (.status.artifact.revision // null)}) end),
      kustomization: ($kustomization[0] | if . == null then null else (ready + {lastAppliedRevision: (.status.lastAppliedRevision // null)}) end)
    },
    helmReleases: ($releases[0] | if . == null then null else [.items[] | {namespace: .metadata.namespace, name: .metadata.name} + ready] end),
    errors: ($errors | split("\\n") | map(select(. != "")))
  }' >"$EDP_STATUS_OUT.tmp"
mv "$EDP_STATUS_OUT.tmp" "$EDP_STATUS_OUT"
`;

export interface StatusWriterInput {
  stage: string;
  cluster: string;
  uuid: string;
  bucket: string;
  /** OSS endpoint, oss-<region>.aliyuncs.com. */
  endpoint: string;
  /** Object key of the status object: <prefix>status.json. */
  key: string;
  intervalMinutes: number;
}

const restricted = { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ["ALL"] } };
const secretEnv = (name: string, key: string) => ({ name, valueFrom: { secretKeyRef: { name: STATUS_CREDENTIALS_SECRET, key } } });

/** Objects of the status writer in the desired state: RBAC to read, the script, the CronJob. */
export function statusWriterObjects(s: StatusWriterInput): KubeObject[] {
  const meta = (name: string, namespace?: string) => ({ name, ...(namespace ? { namespace } : {}), labels: { ...MANAGED_BY } });
  const subject = [{ kind: "ServiceAccount", name: STATUS_WRITER, namespace: NAMESPACE }];
  return [
    { apiVersion: "v1", kind: "ServiceAccount", metadata: meta(STATUS_WRITER, NAMESPACE) },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: meta(STATUS_WRITER),
      rules: [
        { apiGroups: [""], resources: ["nodes"], verbs: ["get", "list"] },
        { apiGroups: ["helm.toolkit.fluxcd.io"], resources: ["helmreleases"], verbs: ["get", "list"] },
      ],
    },
    { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRoleBinding", metadata: meta(STATUS_WRITER), roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: STATUS_WRITER }, subjects: subject },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: meta(STATUS_WRITER, NAMESPACE),
      rules: [
        { apiGroups: ["source.toolkit.fluxcd.io"], resources: ["buckets"], resourceNames: ["edp-desired-state"], verbs: ["get"] },
        { apiGroups: ["kustomize.toolkit.fluxcd.io"], resources: ["kustomizations"], resourceNames: ["edp-desired-state"], verbs: ["get"] },
        { apiGroups: [""], resources: ["configmaps"], resourceNames: [REVISION_CONFIGMAP], verbs: ["get"] },
      ],
    },
    { apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", metadata: meta(STATUS_WRITER, NAMESPACE), roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: STATUS_WRITER }, subjects: subject },
    {
      // The certificate only, through the service proxy (as kubeseal fetches it): never the key Secrets.
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: meta(STATUS_WRITER, "kube-system"),
      rules: [{ apiGroups: [""], resources: ["services/proxy"], resourceNames: ["http:sealed-secrets-controller:"], verbs: ["get"] }],
    },
    { apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", metadata: meta(STATUS_WRITER, "kube-system"), roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: STATUS_WRITER }, subjects: subject },
    { apiVersion: "v1", kind: "ConfigMap", metadata: meta(`${STATUS_WRITER}-script`, NAMESPACE), data: { "collect.sh": STATUS_COLLECTOR_SCRIPT } },
    {
      apiVersion: "batch/v1",
      kind: "CronJob",
      metadata: meta(STATUS_WRITER, NAMESPACE),
      spec: {
        schedule: s.intervalMinutes === 60 ? "0 * * * *" : `*/${s.intervalMinutes} * * * *`,
        concurrencyPolicy: "Forbid",
        successfulJobsHistoryLimit: 1,
        failedJobsHistoryLimit: 2,
        jobTemplate: {
          spec: {
            backoffLimit: 1,
            activeDeadlineSeconds: 120,
            template: {
              spec: {
                serviceAccountName: STATUS_WRITER,
                restartPolicy: "Never",
                securityContext: { runAsNonRoot: true, runAsUser: 65534, runAsGroup: 65534, seccompProfile: { type: "RuntimeDefault" } },
                initContainers: [
                  {
                    name: "collect",
                    image: IMAGES.edgeStatusCollector,
                    command: ["sh", "/scripts/collect.sh"],
                    env: [
                      { name: "EDP_STATUS_OUT", value: "/work/status.json" },
                      { name: "EDP_STAGE", value: s.stage },
                      { name: "EDP_CLUSTER", value: s.cluster },
                      { name: "EDP_CLUSTER_UUID", value: s.uuid },
                      { name: "HOME", value: "/work" },
                    ],
                    securityContext: restricted,
                    volumeMounts: [
                      { name: "scripts", mountPath: "/scripts", readOnly: true },
                      { name: "work", mountPath: "/work" },
                    ],
                    resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { memory: "128Mi" } },
                  },
                ],
                containers: [
                  {
                    // PutObject of the one key: no listing, no HEAD, no bucket check (the identity may do nothing else).
                    name: "upload",
                    image: IMAGES.rclone,
                    args: ["copyto", "/work/status.json", `oss:${s.bucket}/${s.key}`, "--no-check-dest", "--s3-no-head", "--s3-no-check-bucket"],
                    env: [
                      { name: "RCLONE_CONFIG_OSS_TYPE", value: "s3" },
                      { name: "RCLONE_CONFIG_OSS_PROVIDER", value: "Alibaba" },
                      { name: "RCLONE_CONFIG_OSS_ENDPOINT", value: s.endpoint },
                      { name: "RCLONE_CONFIG_OSS_FORCE_PATH_STYLE", value: "false" },
                      secretEnv("RCLONE_CONFIG_OSS_ACCESS_KEY_ID", "accessKeyId"),
                      secretEnv("RCLONE_CONFIG_OSS_SECRET_ACCESS_KEY", "accessKeySecret"),
                      { name: "HOME", value: "/work" },
                    ],
                    securityContext: restricted,
                    volumeMounts: [{ name: "work", mountPath: "/work" }],
                    resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { memory: "128Mi" } },
                  },
                ],
                volumes: [
                  { name: "scripts", configMap: { name: `${STATUS_WRITER}-script` } },
                  { name: "work", emptyDir: { sizeLimit: "16Mi" } },
                ],
              },
            },
          },
        },
      },
    },
  ];
}

/** The status writer's credentials, applied by the bootstrap next to the desired-state credentials. */
export function statusCredentialsSecret(key: { accessKeyId: string; accessKeySecret: string }): KubeObject {
  const b64 = (v: string) => Buffer.from(v, "utf8").toString("base64");
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: STATUS_CREDENTIALS_SECRET, namespace: NAMESPACE, labels: { ...MANAGED_BY } },
    type: "Opaque",
    data: { accessKeyId: b64(key.accessKeyId), accessKeySecret: b64(key.accessKeySecret) },
  };
}
