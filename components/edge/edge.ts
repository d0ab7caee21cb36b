/**
 * Edge clusters (seeds 001, 002): per cluster a desired-state object in OSS, a RAM identity
 * that reads only that prefix, a centrally made sealed-secrets key, and a Flux bootstrap that
 * the program applies (direct) or hands out as a script (script). Wiring only: every object,
 * document and script comes from the pure modules next to this file.
 */
import * as alicloud from "@pulumi/alicloud";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import type { StageConfig } from "../../config";
import type { FoundationOutputs } from "../contracts";
import { CHARTS } from "../versions";
import { bootstrapCommand, renderBootstrapScript } from "./bootstrap-script";
import {
  bucketCredentialsMetadata,
  bucketCredentialsSecret,
  bucketSource,
  DESIRED_STATE_FILE,
  desiredStateObjects,
  publishedState,
  SEALED_SECRETS_FILE,
  type EdgeClusterSpec,
  FLUX_CHART_VALUES,
  FLUX_NAMESPACE,
  identityConfigMap,
  kustomization,
  SEALED_SECRETS_NAMESPACE,
  sealedSecretsKeyMetadata,
  sealedSecretsKeySecret,
  sealedSecretsValues,
  syncMetadata,
  syncObjects,
} from "./manifests";
import { edgeClusterReadPolicy, edgeClusterStatusWriterPolicy } from "../foundation/policies";
import { FLUX_VERSION } from "../versions";
import { STATUS_FILE, statusCredentialsSecret } from "./status";
import { edgeRamUserName } from "./policy";
import { type KubeObject, TemplateError } from "./templates";
import { clusterUuid } from "./uuid";

type EdgeClusterConfig = StageConfig["edgeClusters"][number];

/** Ten years, like the controller's own certificates; rotation is by sealedSecretsKeyVersion, not expiry. */
const SEALED_SECRETS_CERT_HOURS = 10 * 365 * 24;

export interface EdgeClustersArgs {
  /** The stage's config: stage, region, names, edge clusters, chart templates, deployments, and the direct clusters' kubeconfigs. */
  config: Pick<
    StageConfig,
    "stage" | "region" | "edgeClusters" | "chartTemplates" | "deployments" | "edgeSpecialisedTaintKey" | "edgeStatusIntervalMinutes" | "edgeSealedSecrets"
  > & {
    names: Pick<StageConfig["names"], "prefix" | "edgeClusterPrefix">;
    secrets: Pick<StageConfig["secrets"], "edgeKubeconfigs">;
  };
  /** The manifests bucket (foundation.buckets.manifests) and its endpoint (foundation.ossEndpoint). */
  foundation: { buckets: Pick<FoundationOutputs["buckets"], "manifests">; ossEndpoint: string };
  /** Further objects of a cluster's desired state, by cluster name (a K3s site's device list, components/sites). */
  extraDesiredState?: Record<string, KubeObject[]>;
}

/** What the centre hands out for one edge cluster. */
export interface EdgeClusterOutputs {
  uuid: string;
  mode: EdgeClusterConfig["bootstrap"];
  /** OSS key of its desired state. */
  desiredStateKey: string;
  /** OSS key of its status object (npm run fleet -- status). */
  statusKey: string;
  /** PEM certificate for `kubeseal --cert`; public. */
  sealedSecretsCertificate: pulumi.Output<string>;
  /** Bootstrap script (script mode); secret. */
  bootstrapScript?: pulumi.Output<string>;
}

interface EdgeClusterArgs {
  spec: Omit<EdgeClusterSpec, "bucket">;
  mode: EdgeClusterConfig["bootstrap"];
  namePrefix: string;
  bucket: pulumi.Output<string>;
  /** The cluster's desired state (HelmRepositories, HelmReleases, …). */
  desiredState: KubeObject[];
  /** SealedSecrets from the stage file's references. */
  sealedSecrets: KubeObject[];
  kubeconfig?: pulumi.Output<string>;
}

/** One edge cluster; kept small on purpose (12 resources in script mode), state grows with the count of clusters. */
class EdgeCluster extends pulumi.ComponentResource {
  public readonly outputs: EdgeClusterOutputs;

  constructor(name: string, args: EdgeClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("edp:edge:EdgeCluster", name, {}, opts);
    const { spec, mode } = args;
    const child = { parent: this };
    const withBucket = (bucket: string): EdgeClusterSpec => ({ ...spec, bucket });

    // The version in the name makes a rotation a new key; the old one stays on the cluster so
    // secrets sealed with it still open.
    const keyName = `${name}-sealed-secrets-v${spec.sealedSecretsKeyVersion}`;
    const privateKey = new tls.PrivateKey(keyName, { algorithm: "RSA", rsaBits: 4096 }, child);
    const cert = new tls.SelfSignedCert(
      keyName,
      {
        privateKeyPem: privateKey.privateKeyPem,
        subject: { commonName: `sealed-secrets ${spec.stage}/${spec.name}`, organization: "EDP edge" },
        validityPeriodHours: SEALED_SECRETS_CERT_HOURS,
        earlyRenewalHours: 0,
        allowedUses: ["key_encipherment", "digital_signature", "cert_signing"],
        isCaCertificate: false,
      },
      child,
    );

    const desiredStateKey = `${spec.prefix}${DESIRED_STATE_FILE}`;
    const published = pulumi.all([args.bucket, cert.certPem]).apply(([b, pem]) => publishedState(withBucket(b), args.desiredState, pem, args.sealedSecrets));
    new alicloud.oss.BucketObject(
      `${name}-desired-state`,
      { bucket: args.bucket, key: desiredStateKey, content: published.desiredState, contentType: "application/yaml" },
      child,
    );
    if (args.sealedSecrets.length > 0) {
      new alicloud.oss.BucketObject(
        `${name}-sealed-secrets`,
        { bucket: args.bucket, key: `${spec.prefix}${SEALED_SECRETS_FILE}`, content: published.apply((p) => p.sealedSecrets ?? ""), contentType: "application/yaml" },
        child,
      );
    }

    const userName = edgeRamUserName(args.namePrefix, spec.name);
    const user = new alicloud.ram.User(`${name}-reader`, { name: userName, comments: `Reads ${spec.prefix} of the manifests bucket for edge cluster ${spec.name}`, force: true }, child);
    const policy = new alicloud.ram.Policy(
      `${name}-reader`,
      {
        policyName: `${userName}-read`,
        description: `Read ${spec.prefix} of the manifests bucket`,
        policyDocument: args.bucket.apply((b) => JSON.stringify(edgeClusterReadPolicy({ bucket: b, prefix: spec.prefix }))),
        force: true,
      },
      child,
    );
    new alicloud.ram.UserPolicyAttachment(`${name}-reader`, { userName: user.name, policyName: policy.policyName, policyType: "Custom" }, child);
    const accessKey = new alicloud.ram.AccessKey(`${name}-reader`, { userName: user.name }, child);

    // The status writer: a second identity that may put exactly one object (seed 001's report).
    const statusKey = `${spec.prefix}${STATUS_FILE}`;
    const statusUserName = edgeRamUserName(args.namePrefix, spec.name, "edgestatus");
    const statusUser = new alicloud.ram.User(`${name}-status`, { name: statusUserName, comments: `Writes ${statusKey} of the manifests bucket for edge cluster ${spec.name}`, force: true }, child);
    const statusPolicy = new alicloud.ram.Policy(
      `${name}-status`,
      {
        policyName: `${statusUserName}-write`,
        description: `Write ${statusKey} of the manifests bucket`,
        policyDocument: args.bucket.apply((b) => JSON.stringify(edgeClusterStatusWriterPolicy({ bucket: b, key: statusKey }))),
        force: true,
      },
      child,
    );
    new alicloud.ram.UserPolicyAttachment(`${name}-status`, { userName: statusUser.name, policyName: statusPolicy.policyName, policyType: "Custom" }, child);
    const statusAccessKey = new alicloud.ram.AccessKey(`${name}-status`, { userName: statusUser.name }, child);

    // The sealed-secrets key and both credentials, as the Secrets the cluster gets. A script
    // cluster renders them inside its script's one Output: at fleet scale every Output costs the
    // SDK several promises, and one `all` over the seven values replaces four chained ones.
    const sealedKey = (certificate: string, pem: string) => sealedSecretsKeySecret(spec.sealedSecretsKeyVersion, { certificate, privateKey: pem });
    let bootstrapScript: pulumi.Output<string> | undefined;
    if (mode === "script") {
      bootstrapScript = pulumi.secret(
        pulumi
          .all([args.bucket, cert.certPem, privateKey.privateKeyPem, accessKey.id, accessKey.secret, statusAccessKey.id, statusAccessKey.secret])
          .apply(([bucket, certificate, pem, accessKeyId, accessKeySecret, statusKeyId, statusKeySecret]) =>
            renderBootstrapScript({
              stage: spec.stage,
              cluster: spec.name,
              uuid: spec.uuid,
              identity: identityConfigMap(spec),
              sealedSecretsKey: sealedKey(certificate, pem),
              bucketCredentials: bucketCredentialsSecret({ accessKeyId, accessKeySecret }),
              statusCredentials: statusCredentialsSecret({ accessKeyId: statusKeyId, accessKeySecret: statusKeySecret }),
              sync: syncObjects(withBucket(bucket)),
              fluxVersion: FLUX_VERSION,
              taintKey: spec.taintKey,
              specialisedHosts: spec.specialisedHosts,
            }),
          ),
      );
    } else {
      const keySecret = pulumi.all([cert.certPem, privateKey.privateKeyPem]).apply(([certificate, pem]) => sealedKey(certificate, pem));
      const credentials = pulumi.all([accessKey.id, accessKey.secret]).apply(([accessKeyId, accessKeySecret]) => bucketCredentialsSecret({ accessKeyId, accessKeySecret }));
      const statusCredentials = pulumi
        .all([statusAccessKey.id, statusAccessKey.secret])
        .apply(([accessKeyId, accessKeySecret]) => statusCredentialsSecret({ accessKeyId, accessKeySecret }));
      this.bootstrapDirect(name, args, keySecret, credentials, statusCredentials);
    }

    this.outputs = { uuid: spec.uuid, mode, desiredStateKey, statusKey, sealedSecretsCertificate: cert.certPem, bootstrapScript };
    // The script (about 14 KB) is a stack output already; the component's state keeps the small facts.
    const { bootstrapScript: _inStackOutputs, ...facts } = this.outputs;
    this.registerOutputs(facts);
  }

  /**
   * Flux, the sync objects and the sealed-secrets key and controller, applied through the
   * cluster's own provider. Everything is retained on delete: removing a cluster from the stage
   * file disowns it and never tears down a running site (README, "Removal").
   */
  private bootstrapDirect(
    name: string,
    args: EdgeClusterArgs,
    keySecret: pulumi.Output<KubeObject>,
    credentials: pulumi.Output<KubeObject>,
    statusCredentials: pulumi.Output<KubeObject>,
  ) {
    if (!args.kubeconfig) throw new pulumi.ResourceError(`edge cluster ${args.spec.name} bootstraps directly but has no kubeconfig (edp:edgeKubeconfigs.${args.spec.name})`, this);
    // As for the central cluster: the identifier, not the kubeconfig, names the cluster, so a
    // rotated kubeconfig does not replace every object on the site.
    const provider = new k8s.Provider(
      `${name}-k8s`,
      { kubeconfig: args.kubeconfig, clusterIdentifier: `edge-${args.spec.name}`, enableServerSideApply: true },
      { parent: this },
    );
    const opts = { parent: this, provider, retainOnDelete: true };
    const spec = args.spec;
    const asSpec = (bucket: string): EdgeClusterSpec => ({ ...spec, bucket });

    const identity = identityConfigMap(spec);
    new k8s.core.v1.ConfigMap(`${name}-identity`, { metadata: identity.metadata, data: identity.data as Record<string, string> }, opts);

    const flux = new k8s.helm.v3.Release(
      `${name}-flux`,
      {
        name: "flux2",
        namespace: FLUX_NAMESPACE,
        createNamespace: true,
        chart: CHARTS.flux2.chart,
        version: CHARTS.flux2.version,
        repositoryOpts: { repo: CHARTS.flux2.repository },
        values: FLUX_CHART_VALUES,
      },
      opts,
    );
    const creds = new k8s.core.v1.Secret(
      `${name}-desired-state-credentials`,
      { metadata: bucketCredentialsMetadata(), type: "Opaque", data: pulumi.secret(credentials.apply((c) => c.data as Record<string, string>)) },
      { ...opts, dependsOn: [flux] },
    );
    new k8s.core.v1.Secret(
      `${name}-status-credentials`,
      {
        metadata: statusCredentials.apply((c) => c.metadata),
        type: "Opaque",
        data: pulumi.secret(statusCredentials.apply((c) => c.data as Record<string, string>)),
      },
      { ...opts, dependsOn: [flux] },
    );
    // Specialised hosts: label and taint, as the script does with kubectl label/taint.
    for (const h of spec.specialisedHosts) {
      new k8s.core.v1.NodePatch(
        `${name}-node-${h.host}`,
        {
          metadata: { name: h.host, labels: { [spec.taintKey]: h.value } },
          spec: { taints: [{ key: spec.taintKey, value: h.value, effect: "NoSchedule" }] },
        },
        opts,
      );
    }
    const bucketSourceObject = args.bucket.apply((b) => bucketSource(asSpec(b)));
    const kustomizationObject = kustomization(spec);
    const source = new k8s.apiextensions.CustomResource(
      `${name}-bucket`,
      {
        apiVersion: "source.toolkit.fluxcd.io/v1",
        kind: "Bucket",
        metadata: syncMetadata(),
        spec: bucketSourceObject.apply((o) => o.spec as Record<string, unknown>),
      },
      { ...opts, dependsOn: [flux, creds] },
    );
    new k8s.apiextensions.CustomResource(
      `${name}-kustomization`,
      {
        apiVersion: "kustomize.toolkit.fluxcd.io/v1",
        kind: "Kustomization",
        metadata: kustomizationObject.metadata,
        spec: kustomizationObject.spec as Record<string, unknown>,
      },
      { ...opts, dependsOn: [flux, source] },
    );

    const key = new k8s.core.v1.Secret(
      `${name}-sealed-secrets-key-v${spec.sealedSecretsKeyVersion}`,
      { metadata: sealedSecretsKeyMetadata(spec.sealedSecretsKeyVersion), type: "kubernetes.io/tls", data: pulumi.secret(keySecret.apply((k) => k.data as Record<string, string>)) },
      opts,
    );
    new k8s.helm.v3.Release(
      `${name}-sealed-secrets`,
      {
        name: "sealed-secrets",
        namespace: SEALED_SECRETS_NAMESPACE,
        chart: CHARTS.sealedSecrets.chart,
        version: CHARTS.sealedSecrets.version,
        repositoryOpts: { repo: CHARTS.sealedSecrets.repository },
        values: sealedSecretsValues(spec.sealedSecretsKeyVersion),
      },
      { ...opts, dependsOn: [key] },
    );
  }
}

/**
 * Edge clusters registered before the program yields to the event loop, so that one wave's
 * registrations go out (and, when the engine answers at once, as a preview's does, come back)
 * before the next wave is built. Built all at once, every cluster's registrations wait in memory
 * together: at 1,000 clusters the heap reached 1.86 GB, and young-generation collections copying
 * it took 8.2 s of the 25.7 s (3.0 s of 15.2 s and 637 MB in waves; `--trace-gc`, and the
 * README's scale section has the bench's figures). At 1,000 clusters, waves of 5 and 10 measured
 * alike (15.3-17.0 s, 812-876 MiB in two rounds), waves of 25 held more (904-905 MiB). The yield never waits for the engine's answers, so `pulumi up`
 * still works on every wave's resources in parallel, and no resource gains a dependency.
 */
export const EDGE_CLUSTERS_PER_WAVE = 10;

/** Resolves after the event loop has run once: every promise already settled has run its callbacks. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

export class EdgeClusters extends pulumi.ComponentResource {
  /**
   * Per edge cluster name; resolves once every cluster is registered (they are built in waves,
   * EDGE_CLUSTERS_PER_WAVE at a time).
   */
  public readonly clusters: Promise<Record<string, EdgeClusterOutputs>>;
  /** PEM certificate per cluster, for `kubeseal --cert` (also before the cluster exists). */
  public readonly sealedSecretsCertificates: pulumi.Output<Record<string, string>>;
  /** Bootstrap script per script-mode cluster; secret. */
  public readonly bootstrapScripts: pulumi.Output<Record<string, string>>;
  /** Per cluster, how it is bootstrapped: the command to run (script) or a note (direct). Not secret. */
  public readonly bootstrapCommands: Record<string, string>;

  constructor(name: string, args: EdgeClustersArgs, opts?: pulumi.ComponentResourceOptions) {
    super("edp:edge:EdgeClusters", name, {}, opts);
    const cfg = args.config;

    // Render every cluster's desired state before registering anything, so a template error
    // stops the program with all clusters untouched.
    const rendered = cfg.edgeClusters.map((c) => {
      const spec: Omit<EdgeClusterSpec, "bucket"> = {
        stage: cfg.stage,
        name: c.name,
        uuid: clusterUuid(cfg.stage, c.name),
        prefix: cfg.names.edgeClusterPrefix(c.name),
        endpoint: args.foundation.ossEndpoint,
        region: cfg.region,
        syncInterval: c.syncInterval,
        sealedSecretsKeyVersion: c.sealedSecretsKeyVersion,
        taintKey: cfg.edgeSpecialisedTaintKey,
        specialisedHosts: Object.entries(c.specialisedHosts)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([host, value]) => ({ host, value })),
        statusIntervalMinutes: cfg.edgeStatusIntervalMinutes,
      };
      try {
        const extra = args.extraDesiredState?.[c.name] ?? [];
        return { c, spec, desiredState: [...desiredStateObjects(spec, c.bootstrap, cfg.deployments, cfg.chartTemplates), ...extra] };
      } catch (e) {
        if (e instanceof TemplateError) throw new pulumi.ResourceError(e.message, this);
        throw e;
      }
    });

    const register = ({ c, spec, desiredState }: (typeof rendered)[number]): [string, EdgeClusterOutputs] => {
      const cluster = new EdgeCluster(
        `${name}-${c.name}`,
        {
          spec,
          mode: c.bootstrap,
          namePrefix: cfg.names.prefix,
          bucket: args.foundation.buckets.manifests,
          desiredState,
          sealedSecrets: (cfg.edgeSealedSecrets[c.name] ?? []) as unknown as KubeObject[],
          kubeconfig: cfg.secrets.edgeKubeconfigs[c.name],
        },
        { parent: this },
      );
      return [c.name, cluster.outputs];
    };
    // The first wave during the constructor (an async function runs up to its first await), the
    // rest each after the event loop's next turn.
    this.clusters = (async () => {
      const entries: [string, EdgeClusterOutputs][] = [];
      for (let i = 0; i < rendered.length; i += EDGE_CLUSTERS_PER_WAVE) {
        if (i > 0) await nextTurn();
        entries.push(...rendered.slice(i, i + EDGE_CLUSTERS_PER_WAVE).map(register));
      }
      return Object.fromEntries(entries);
    })();

    this.sealedSecretsCertificates = pulumi.output(
      this.clusters.then((clusters) => Object.fromEntries(Object.entries(clusters).map(([n, o]) => [n, o.sealedSecretsCertificate]))),
    ) as pulumi.Output<Record<string, string>>;
    this.bootstrapScripts = pulumi.secret(
      pulumi.output(this.clusters.then((clusters) => Object.fromEntries(Object.entries(clusters).flatMap(([n, o]) => (o.bootstrapScript ? [[n, o.bootstrapScript]] : []))))),
    ) as pulumi.Output<Record<string, string>>;
    this.bootstrapCommands = Object.fromEntries(
      cfg.edgeClusters.map((c) => [c.name, c.bootstrap === "script" ? bootstrapCommand(cfg.stage, c.name) : "applied by pulumi up through edp:edgeKubeconfigs"]),
    );
    // Registered once every wave is in, which keeps the program running until then. Only a
    // count: the certificates, scripts and commands grow with the fleet and are stack outputs.
    this.registerOutputs(this.clusters.then((clusters) => ({ clusterCount: Object.keys(clusters).length })));
  }
}
