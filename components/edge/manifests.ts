/**
 * The Kubernetes objects that bootstrap an edge cluster and the desired state it pulls. Pure:
 * the same objects are applied by the program (direct) or inlined in the script (script), so
 * both modes install exactly the same thing.
 */
import { plainYaml } from "../shared/yaml";
import { CHARTS } from "../versions";
import type { SpecialisedHost } from "./bootstrap-script";
import { certSha256, desiredStateRevision, revisionConfigMap, STATUS_FILE, statusWriterObjects } from "./status";
import { type ChartTemplate, type Deployment, deploymentObjects, helmRelease, helmRepository, type KubeObject, WORKLOAD_NAMESPACE } from "./templates";

export const FLUX_NAMESPACE = "flux-system";
/** kubeseal's defaults are kube-system/sealed-secrets-controller; using them keeps kubeseal flag-free. */
export const SEALED_SECRETS_NAMESPACE = "kube-system";
export const SEALED_SECRETS_CONTROLLER = "sealed-secrets-controller";
/** The controller uses every Secret with this label in its namespace; the newest seals. */
export const SEALED_SECRETS_KEY_LABEL = "sealedsecrets.bitnami.com/sealed-secrets-key";
export const IDENTITY_CONFIGMAP = "edp-cluster-identity";
export const IDENTITY_NAMESPACE = "kube-system";
export const BUCKET_CREDENTIALS_SECRET = "edp-desired-state-credentials";
/** Name of both the Bucket source and the Kustomization on the edge. */
export const SYNC_NAME = "edp-desired-state";
/** File name of the desired-state object under the cluster's prefix. */
export const DESIRED_STATE_FILE = "desired-state.yaml";
/** File name of the cluster's SealedSecrets under its prefix (only when it has some). */
export const SEALED_SECRETS_FILE = "sealed-secrets.yaml";
/** Name of the Bucket and Kustomization that apply the SealedSecrets, after the controller exists. */
export const SECRETS_SYNC_NAME = "edp-sealed-secrets";
/** Pod annotation that restarts the controller when the key version changes (it reads keys only at start). */
export const KEY_VERSION_ANNOTATION = "edp/sealed-secrets-key-version";
const MANAGED_BY = { "app.kubernetes.io/managed-by": "edp-edge-bootstrap" };

/** What the objects of one edge cluster are made from. */
export interface EdgeClusterSpec {
  stage: string;
  name: string;
  uuid: string;
  /** Object key prefix of its desired state: <stage>/clusters/<name>/. */
  prefix: string;
  bucket: string;
  /** OSS endpoint, oss-<region>.aliyuncs.com. */
  endpoint: string;
  region: string;
  syncInterval: string;
  sealedSecretsKeyVersion: number;
  /** Taint and label key of specialised hosts. */
  taintKey: string;
  specialisedHosts: SpecialisedHost[];
  /** Minutes between two status reports. */
  statusIntervalMinutes: number;
}

const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");

/** Marks a cluster as this edge cluster; the bootstrap script refuses a cluster whose marker differs. */
export function identityConfigMap(c: Pick<EdgeClusterSpec, "stage" | "name" | "uuid">): KubeObject {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: IDENTITY_CONFIGMAP, namespace: IDENTITY_NAMESPACE, labels: { ...MANAGED_BY } },
    data: { stage: c.stage, cluster: c.name, uuid: c.uuid },
  };
}

export const sealedSecretsKeyName = (version: number) => `edp-sealed-secrets-key-v${version}`;

export const sealedSecretsKeyMetadata = (keyVersion: number): KubeObject["metadata"] => ({
  name: sealedSecretsKeyName(keyVersion),
  namespace: SEALED_SECRETS_NAMESPACE,
  labels: { [SEALED_SECRETS_KEY_LABEL]: "active", ...MANAGED_BY },
});

export function sealedSecretsKeySecret(keyVersion: number, pem: { certificate: string; privateKey: string }): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: sealedSecretsKeyMetadata(keyVersion),
    type: "kubernetes.io/tls",
    data: { "tls.crt": b64(pem.certificate), "tls.key": b64(pem.privateKey) },
  };
}

/** Flux's generic Bucket provider reads the keys `accesskey` and `secretkey`. */
export const bucketCredentialsMetadata = (): KubeObject["metadata"] => ({ name: BUCKET_CREDENTIALS_SECRET, namespace: FLUX_NAMESPACE, labels: { ...MANAGED_BY } });

export function bucketCredentialsSecret(key: { accessKeyId: string; accessKeySecret: string }): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: bucketCredentialsMetadata(),
    type: "Opaque",
    data: { accesskey: b64(key.accessKeyId), secretkey: b64(key.accessKeySecret) },
  };
}

/** Metadata of the Bucket source and of the Kustomization (same name, same namespace). */
export const syncMetadata = (): KubeObject["metadata"] => ({ name: SYNC_NAME, namespace: FLUX_NAMESPACE, labels: { ...MANAGED_BY } });

export function bucketSource(c: EdgeClusterSpec): KubeObject {
  return {
    apiVersion: "source.toolkit.fluxcd.io/v1",
    kind: "Bucket",
    metadata: syncMetadata(),
    spec: {
      interval: c.syncInterval,
      provider: "generic",
      bucketName: c.bucket,
      endpoint: c.endpoint,
      region: c.region,
      prefix: c.prefix,
      secretRef: { name: BUCKET_CREDENTIALS_SECRET },
      // The status object changes every few minutes and is not a manifest; the SealedSecrets are
      // applied by their own Kustomization once the controller's CRD exists (sealedSecretsSync).
      ignore: `${STATUS_FILE}\n${SEALED_SECRETS_FILE}\n`,
    },
  };
}

/** Source-controller keeps object keys as paths in its artifact, so the path repeats the prefix. */
export function kustomization(c: Pick<EdgeClusterSpec, "prefix" | "syncInterval">): KubeObject {
  return {
    apiVersion: "kustomize.toolkit.fluxcd.io/v1",
    kind: "Kustomization",
    metadata: syncMetadata(),
    spec: {
      interval: c.syncInterval,
      retryInterval: "1m",
      sourceRef: { kind: "Bucket", name: SYNC_NAME },
      path: `./${c.prefix.replace(/\/+$/, "")}`,
      prune: true,
      wait: false,
      timeout: "5m",
    },
  };
}

/**
 * The second sync, in the desired state, for clusters with SealedSecrets: a Bucket that sees only
 * sealed-secrets.yaml, and a Kustomization that applies it after the main one. Kept apart because
 * a SealedSecret in the main Kustomization would fail its dry run until the sealed-secrets chart
 * (installed by that same Kustomization on script clusters) has created the CRD.
 */
export function sealedSecretsSync(c: EdgeClusterSpec): KubeObject[] {
  const source = bucketSource(c);
  const meta = { name: SECRETS_SYNC_NAME, namespace: FLUX_NAMESPACE, labels: { ...MANAGED_BY } };
  const main = kustomization(c);
  return [
    { ...source, metadata: meta, spec: { ...(source.spec as Record<string, unknown>), ignore: `*\n!${SEALED_SECRETS_FILE}\n` } },
    {
      ...main,
      metadata: meta,
      spec: { ...(main.spec as Record<string, unknown>), sourceRef: { kind: "Bucket", name: SECRETS_SYNC_NAME }, dependsOn: [{ name: SYNC_NAME }], prune: true },
    },
  ];
}

/** What the centre writes to the cluster's prefix: the desired state and, when it has any, its SealedSecrets. */
export interface PublishedState {
  desiredState: string;
  sealedSecrets?: string;
  /** Digest of both, as the revision ConfigMap carries it. */
  revision: string;
}

/**
 * Adds what needs the bucket and the certificate to the rendered desired state (status writer,
 * the SealedSecrets sync, the revision ConfigMap) and serialises it.
 */
export function publishedState(c: EdgeClusterSpec, rendered: KubeObject[], certificatePem: string, sealedSecrets: KubeObject[]): PublishedState {
  const objects = [
    ...rendered,
    ...statusWriterObjects({ stage: c.stage, cluster: c.name, uuid: c.uuid, bucket: c.bucket, endpoint: c.endpoint, key: `${c.prefix}${STATUS_FILE}`, intervalMinutes: c.statusIntervalMinutes }),
    ...(sealedSecrets.length > 0 ? sealedSecretsSync(c) : []),
  ];
  const header = `Desired state of edge cluster ${c.name} (stage ${c.stage}); written by the EDP Pulumi program, do not edit.`;
  const secretsText = sealedSecrets.length > 0 ? toMultiDocYaml(sealedSecrets, `SealedSecrets of edge cluster ${c.name} (stage ${c.stage}); written by the EDP Pulumi program.`) : undefined;
  const fingerprint = certSha256(certificatePem);
  // Each object is serialised once (serialising is most of this function's cost at fleet scale):
  // the revision digests the documents without the revision ConfigMap, which then joins them.
  const docs = objects.map(yamlDocument);
  const revision = desiredStateRevision(joinDocuments(docs), secretsText ?? "", fingerprint);
  return { desiredState: joinDocuments([...docs, yamlDocument(revisionConfigMap(revision, fingerprint))], header), sealedSecrets: secretsText, revision };
}

/** The objects that connect a cluster to its desired state, in the order they are applied. */
export const syncObjects = (c: EdgeClusterSpec): KubeObject[] => [bucketSource(c), kustomization(c)];

/**
 * Values of the sealed-secrets chart: the kubeseal-default name, no self-made keys (keys come
 * only from the centre, so the certificate in the stack output stays the one that seals), and
 * a restart whenever the key version changes.
 */
export function sealedSecretsValues(keyVersion: number): Record<string, unknown> {
  return {
    fullnameOverride: SEALED_SECRETS_CONTROLLER,
    keyrenewperiod: "0",
    podAnnotations: { [KEY_VERSION_ANNOTATION]: String(keyVersion) },
    resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { cpu: "200m", memory: "128Mi" } },
  };
}

/** Values of the flux2 chart (direct mode): the controllers the edge sync needs, no image automation. */
export const FLUX_CHART_VALUES: Record<string, unknown> = {
  imageAutomationController: { create: false },
  imageReflectionController: { create: false },
  // The chart sets requests only; edge nodes are small, so every controller gets limits too.
  helmController: { resources: { requests: { cpu: "100m", memory: "64Mi" }, limits: { cpu: "1", memory: "1Gi" } } },
  kustomizeController: { resources: { requests: { cpu: "100m", memory: "64Mi" }, limits: { cpu: "1", memory: "1Gi" } } },
  notificationController: { resources: { requests: { cpu: "100m", memory: "64Mi" }, limits: { cpu: "1", memory: "1Gi" } } },
  sourceController: { resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "1", memory: "1Gi" } } },
  cli: { resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { cpu: "200m", memory: "128Mi" } } },
};

export type BootstrapMode = "direct" | "script";

/**
 * Everything Flux applies on one cluster: the workload namespace, the deployments' sources and
 * HelmReleases, and, for script clusters, the sealed-secrets controller (direct clusters get it
 * from the program, which must be its only owner).
 */
export function desiredStateObjects(
  c: Pick<EdgeClusterSpec, "stage" | "name" | "sealedSecretsKeyVersion" | "taintKey">,
  mode: BootstrapMode,
  deployments: Deployment[],
  templates: Record<string, ChartTemplate>,
): KubeObject[] {
  const out: KubeObject[] = [{ apiVersion: "v1", kind: "Namespace", metadata: { name: WORKLOAD_NAMESPACE, labels: { ...MANAGED_BY } } }];
  if (mode === "script") {
    const pin = CHARTS.sealedSecrets;
    out.push(
      helmRepository(pin.repository, FLUX_NAMESPACE, "sealed-secrets"),
      helmRelease({
        name: SEALED_SECRETS_CONTROLLER,
        namespace: FLUX_NAMESPACE,
        targetNamespace: SEALED_SECRETS_NAMESPACE,
        chart: pin.chart,
        version: pin.version,
        repository: pin.repository,
        repositoryName: "sealed-secrets",
        values: sealedSecretsValues(c.sealedSecretsKeyVersion),
      }),
    );
  }
  out.push(...deploymentObjects(c.stage, c.name, deployments, templates, c.taintKey));
  return out;
}

/** Multi-document YAML, stable for equal input (so an unchanged cluster is an unchanged object). */
export const toMultiDocYaml = (objects: KubeObject[], header?: string): string => joinDocuments(objects.map(yamlDocument), header);

/**
 * Most documents of a desired state are the same on every cluster (the namespace, the
 * sealed-secrets release, the status writer's RBAC and script: 12 of 15 at one deployment each),
 * and serialising is most of publishedState's cost at fleet scale, so an object equal to one
 * already serialised reuses its text. Its JSON is the key: the same keys in the same order with
 * the same values, which is all plainYaml reads (it makes no aliases, so which objects are shared
 * does not matter), at a small part of the cost. The map is emptied when full, so documents only
 * one cluster has do not pile up.
 */
const yamlTexts = new Map<string, string>();
export const YAML_TEXTS_KEPT = 512;

/** One object as a YAML document, without the trailing newline. */
export function yamlDocument(o: KubeObject): string {
  const key = JSON.stringify(o);
  let text = yamlTexts.get(key);
  if (text === undefined) {
    text = plainYaml(o).trimEnd();
    if (yamlTexts.size >= YAML_TEXTS_KEPT) yamlTexts.clear();
    yamlTexts.set(key, text);
  }
  return text;
}

/** Documents from yamlDocument as one multi-document text, after an optional comment header. */
function joinDocuments(docs: string[], header?: string): string {
  return `${header ? `${header.split("\n").map((l) => `# ${l}`).join("\n")}\n` : ""}---\n${docs.join("\n---\n")}\n`;
}
