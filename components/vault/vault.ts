/**
 * Vault on the central cluster: the official chart in HA with integrated raft storage and TLS
 * between the nodes, initialised by `pulumi up` (VaultBootstrap) and unsealed without a human
 * (alicloudkms seal; in testing optionally Shamir keys kept as KMS ciphertext for an in-cluster
 * unsealer), configured as code by a job (device PKI, CRL, tidy, Kubernetes auth for the
 * onboarding service), snapshotted to OSS on a schedule, and reachable on the manual's health URL.
 */
import { createHash } from "node:crypto";
import * as alicloud from "@pulumi/alicloud";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import type { CertificateAndKey, StageConfig } from "../../config";
import { DEVICE_CA_VALIDITY_DAYS } from "../../config/limits";
import type { AccessKeyPair, CentralCluster, WorkloadIdentity } from "../contracts";
import { rrsaPodParts, STS_CLIENT_CONFIGMAP, STS_CLIENT_FILE } from "../shared/rrsa";
import { stsClientBundle } from "../shared/sts-client";
import { afterIngressReady, type IngressReady } from "../shared/ingress";
import { CHARTS, IMAGES } from "../versions";
import { VaultBootstrap } from "./bootstrap-resource";
import {
  bootstrapPlan,
  DEFAULT_ACCESS,
  onboardingPolicy,
  type PkiSettings,
  POLICY_NAMES,
  rcloneEnvironment,
  renderConfigureScript,
  renderSnapshotSaveScript,
  renderSnapshotUploadScript,
  snapshotPolicy,
} from "./configuration";
import { renderUnsealerScript, UNSEALER_ENV, unsealEncryptionContext } from "./unsealer";
import { podNames, renderVaultValues, serverCertNames, VAULT } from "./values";

/** Key shares made at init; `KEY_THRESHOLD` of them unseal (Shamir) or authorise a new root token (recovery). */
export const KEY_SHARES = 5;
export const KEY_THRESHOLD = 3;

export interface VaultArgs {
  /** The stage's config: vault settings, names, region, protection, E3's CRL refresh period and the device CA secret. */
  cfg: Pick<StageConfig, "stage" | "region" | "vault" | "e3" | "names" | "protect" | "secrets">;
  /** The central cluster: its provider for every object, its kubeconfig for the bootstrap. */
  cluster: CentralCluster;
  /** KMS key of the foundation: the alicloudkms seal, or the encryption of Shamir keys. */
  kmsKeyId: pulumi.Input<string>;
  /** RAM identity allowed Encrypt/Decrypt/DescribeKey on that key only. */
  unsealIdentity: AccessKeyPair;
  /** Bucket for raft snapshots and the RAM identity that may write it (a role under RRSA, else an access key). */
  snapshotBucket: pulumi.Input<string>;
  snapshotIdentity: WorkloadIdentity;
  /** STS endpoint the snapshot Job exchanges its RRSA token at (FoundationOutputs.stsEndpoint). */
  stsEndpoint: string;
  /** VPC-internal OSS endpoint, e.g. oss-eu-central-1-internal.aliyuncs.com. */
  ossInternalEndpoint: string;
  /** Only addresses in these ranges reach Vault through the ingress (the VPC). */
  allowedSourceRanges: string[];
  /** Ingress class of ingress-nginx, and the cert-manager ClusterIssuer for the internal host's certificate. */
  ingressClassName?: string;
  clusterIssuer?: string;
  /** What the Ingress waits for: the ingress controller and cert-manager (CentralPlatform.ingressReady). */
  ingressReady?: IngressReady;
  /** Alibaba provider for the KMS ciphertexts of Shamir keys; the default provider when absent. */
  alicloudProvider?: alicloud.Provider;
}

const sha = (s: string, n = 12) => createHash("sha256").update(s).digest("hex").slice(0, n);

/** A raft snapshot is streamed to a file and uploaded; memory stays small whatever its size. */
const SNAPSHOT_RESOURCES = { requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "500m", memory: "256Mi" } };

export class Vault extends pulumi.ComponentResource {
  /** The manual's health check: https://edp-service.api.<stage>.<internal>/vault/v1/sys/health */
  public readonly healthUrl: string;
  /** Vault's namespace, once it exists (other components put Secrets there). */
  public readonly namespace: pulumi.Output<string>;
  /** The device CRL (DER), as written into every device certificate's CRL distribution point. */
  public readonly crlUrl: string;
  /** The same CRL in PEM, the form Apache's SSLCARevocationFile reads. */
  public readonly crlPemUrl: string;
  /** PEM of the device CA; E3 verifies device certificates against it. */
  public readonly deviceCaPem: pulumi.Output<string>;
  /** In-cluster address of the active Vault node and the CA of its TLS certificate. */
  public readonly address: string;
  public readonly tlsCaPem: pulumi.Output<string>;
  /** Unseal keys (shamir) or recovery keys (alicloudkms) from the init; secret, kept only in the stack's state. */
  public readonly keys: pulumi.Output<string[]>;
  /** The PKI mount and role the onboarding service signs with: POST <address>/v1/<mount>/sign/<role>. */
  public readonly pkiMount: string;
  public readonly deviceRole: string;
  /** Kubernetes auth: its mount, and the role the onboarding service logs in with (bound to namespace/serviceAccount). */
  public readonly onboardingLogin: { authMount: string; role: string; namespace: string; serviceAccount: string };

  constructor(name: string, args: VaultArgs, opts?: pulumi.ComponentResourceOptions) {
    super("edp:vault:Vault", name, {}, opts);
    const { cfg } = args;
    const provider = args.cluster.provider;
    const k = { parent: this, provider };
    const ns = VAULT.namespace;
    const kms = cfg.vault.seal === "alicloudkms";
    if (!kms && cfg.stage !== "testing") {
      throw new pulumi.ResourceError(`edp:vault.seal is "shamir" in ${cfg.stage}; only testing may hold Shamir keys`, this);
    }

    const host = cfg.names.internalHost("edp-service");
    const base = `https://${host}/vault`;
    this.pkiMount = "pki-devices";
    this.deviceRole = "device";
    this.healthUrl = `${base}/v1/sys/health`;
    this.crlUrl = `${base}/v1/${this.pkiMount}/crl`;
    this.crlPemUrl = `${base}/v1/${this.pkiMount}/crl/pem`;
    this.address = `https://${VAULT.activeService}.${ns}.svc:${VAULT.port}`;
    this.onboardingLogin = { authMount: DEFAULT_ACCESS.authMount, role: POLICY_NAMES.onboarding, ...DEFAULT_ACCESS.onboarding };

    const namespace = new k8s.core.v1.Namespace(`${name}-ns`, {
      metadata: { name: ns, labels: { "pod-security.kubernetes.io/enforce": "baseline", "app.kubernetes.io/part-of": "edp" } },
    }, k);
    this.namespace = namespace.metadata.name;

    // TLS between the nodes and for every in-cluster client: a private CA that only Vault uses.
    const caKey = new tls.PrivateKey(`${name}-tls-ca`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, { parent: this });
    const caCert = new tls.SelfSignedCert(`${name}-tls-ca`, {
      privateKeyPem: caKey.privateKeyPem,
      subject: { commonName: `EDP ${cfg.stage} Vault TLS CA`, organization: "EDP" },
      isCaCertificate: true,
      validityPeriodHours: 10 * 8760,
      earlyRenewalHours: 8760,
      allowedUses: ["cert_signing", "crl_signing"],
    }, { parent: this });
    const serverKey = new tls.PrivateKey(`${name}-tls-server`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, { parent: this });
    const serverCsr = new tls.CertRequest(`${name}-tls-server`, {
      privateKeyPem: serverKey.privateKeyPem,
      subject: { commonName: `${VAULT.activeService}.${ns}.svc`, organization: "EDP" },
      dnsNames: serverCertNames(ns),
      ipAddresses: ["127.0.0.1"],
    }, { parent: this });
    const serverCert = new tls.LocallySignedCert(`${name}-tls-server`, {
      certRequestPem: serverCsr.certRequestPem,
      caPrivateKeyPem: caKey.privateKeyPem,
      caCertPem: caCert.certPem,
      validityPeriodHours: 2 * 8760,
      earlyRenewalHours: 60 * 24,
      allowedUses: ["digital_signature", "key_encipherment", "server_auth", "client_auth"],
    }, { parent: this });
    this.tlsCaPem = caCert.certPem;

    const tlsSecret = new k8s.core.v1.Secret(`${name}-tls`, {
      metadata: { name: VAULT.tlsSecret, namespace: ns },
      type: "kubernetes.io/tls",
      stringData: { "tls.crt": serverCert.certPem, "tls.key": serverKey.privateKeyPem, "ca.crt": caCert.certPem },
    }, { ...k, dependsOn: [namespace] });
    const caConfigMap = new k8s.core.v1.ConfigMap(`${name}-ca`, {
      metadata: { name: "vault-ca", namespace: ns },
      data: { "ca.crt": caCert.certPem },
    }, { ...k, dependsOn: [namespace] });

    // The unseal identity can use the KMS key and nothing else; Vault (kms) or the unsealer (shamir) reads it.
    const kmsSecret = new k8s.core.v1.Secret(`${name}-kms`, {
      metadata: { name: VAULT.kmsSecret, namespace: ns },
      stringData: { accessKeyId: args.unsealIdentity.accessKeyId, accessKeySecret: args.unsealIdentity.accessKeySecret },
    }, { ...k, dependsOn: [namespace] });

    const values = pulumi.output(args.kmsKeyId).apply((kmsKeyId) =>
      renderVaultValues({
        replicas: cfg.vault.replicas,
        storageGb: cfg.vault.storageGb,
        image: IMAGES.vault,
        seal: kms ? { kind: "alicloudkms", region: cfg.region, kmsKeyId } : { kind: "shamir", region: cfg.region },
      }),
    );
    const release = new k8s.helm.v3.Release(`${name}-chart`, {
      name: VAULT.release,
      namespace: ns,
      chart: CHARTS.vault.chart,
      version: CHARTS.vault.version,
      repositoryOpts: { repo: CHARTS.vault.repository },
      values,
      timeout: 900,
    }, { ...k, dependsOn: [namespace, tlsSecret, kmsSecret, args.cluster.diskStorageClass], protect: cfg.protect });

    const access = DEFAULT_ACCESS;
    const pods = podNames(cfg.vault.replicas);
    const bootstrap = new VaultBootstrap(`${name}-bootstrap`, {
      kubeconfig: args.cluster.kubeconfig,
      namespace: ns,
      pods,
      port: VAULT.port,
      seal: kms ? "auto" : "shamir",
      shares: KEY_SHARES,
      threshold: KEY_THRESHOLD,
      plan: bootstrapPlan({ mount: this.pkiMount }, access),
      // Up to ten minutes for the pods to be scheduled, pull the image and listen.
      attempts: 120,
      delayMs: 5000,
      // Adopting a Vault that is already initialised: its keys, held by the operators (edp:vaultKeys).
      ...(cfg.secrets.vaultKeys ? { adoptedKeys: cfg.secrets.vaultKeys } : {}),
    }, { parent: this, dependsOn: [release], protect: cfg.protect });
    this.keys = pulumi.secret(bootstrap.keys);

    // Shamir (testing): the unsealer gets KMS ciphertexts of just enough keys, never the keys.
    const unsealDeps: pulumi.Resource[] = [];
    if (!kms) unsealDeps.push(...this.unsealer(name, args, k, bootstrap, caConfigMap, kmsSecret, pods));

    // The device CA: from config, or made here (its key then lives only in the stack's state and in Vault).
    let deviceCa: pulumi.Output<CertificateAndKey>;
    if (cfg.secrets.deviceCa) {
      deviceCa = cfg.secrets.deviceCa;
    } else {
      const key = new tls.PrivateKey(`${name}-device-ca`, { algorithm: "ECDSA", ecdsaCurve: "P384" }, { parent: this, protect: cfg.protect });
      const cert = new tls.SelfSignedCert(`${name}-device-ca`, {
        privateKeyPem: key.privateKeyPem,
        subject: { commonName: `EDP ${cfg.stage} Edge Device CA`, organization: "EDP" },
        isCaCertificate: true,
        // The config checks edp:vault.deviceCertTtlDays against this lifetime.
        validityPeriodHours: DEVICE_CA_VALIDITY_DAYS * 24,
        allowedUses: ["cert_signing", "crl_signing"],
      }, { parent: this, protect: cfg.protect });
      deviceCa = pulumi.secret(pulumi.all([cert.certPem, key.privateKeyPem]).apply(([crt, k2]) => ({ crt, key: k2 })));
    }
    this.deviceCaPem = pulumi.unsecret(deviceCa.apply((ca) => ca.crt));
    const deviceCaSecret = new k8s.core.v1.Secret(`${name}-device-ca`, {
      metadata: { name: "vault-device-ca", namespace: ns },
      stringData: { "bundle.pem": deviceCa.apply((ca) => `${ca.crt.trim()}\n${ca.key.trim()}\n`) },
    }, { ...k, dependsOn: [namespace] });

    const pki = this.deviceCaPem.apply(
      (crt): PkiSettings => ({
        mount: this.pkiMount,
        role: this.deviceRole,
        deviceCertTtlDays: cfg.vault.deviceCertTtlDays,
        crlExpiryHours: cfg.vault.crlExpiryHours,
        crlRefreshMinutes: cfg.e3.crlRefreshMinutes,
        issuingUrl: `${base}/v1/${this.pkiMount}/ca`,
        crlUrl: this.crlUrl,
        issuerName: `device-ca-${sha(crt.trim())}`,
      }),
    );
    const files = pki.apply((p) => ({
      "configure.sh": renderConfigureScript({
        pki: p,
        access,
        address: this.address,
        caFile: "/vault/ca/ca.crt",
        caBundleFile: "/vault/device-ca/bundle.pem",
        onboardingPolicyFile: "/vault/config/onboarding.hcl",
        snapshotPolicyFile: "/vault/config/snapshot.hcl",
      }),
      "onboarding.hcl": onboardingPolicy(p),
      "snapshot.hcl": snapshotPolicy(),
    }));
    const configureMap = new k8s.core.v1.ConfigMap(`${name}-configure`, {
      metadata: { name: "vault-configure", namespace: ns },
      data: files,
    }, { ...k, dependsOn: [namespace] });
    const configurerSa = new k8s.core.v1.ServiceAccount(`${name}-configurer`, {
      metadata: { name: access.configurer.serviceAccount, namespace: ns },
      automountServiceAccountToken: true,
    }, { ...k, dependsOn: [namespace] });
    const podSecurity = { runAsNonRoot: true, runAsUser: 100, runAsGroup: 1000, fsGroup: 1000, seccompProfile: { type: "RuntimeDefault" } };
    const containerSecurity = { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } };
    // Jobs are immutable: the checksum makes a configuration change a new Job that runs again.
    new k8s.batch.v1.Job(`${name}-configure`, {
      metadata: { namespace: ns, labels: { "app.kubernetes.io/name": "vault-configure" } },
      spec: {
        backoffLimit: 6,
        activeDeadlineSeconds: 900,
        template: {
          metadata: {
            labels: { "app.kubernetes.io/name": "vault-configure" },
            annotations: { "edp/config-checksum": files.apply((f) => sha(JSON.stringify(f), 16)) },
          },
          spec: {
            serviceAccountName: configurerSa.metadata.name,
            restartPolicy: "OnFailure",
            securityContext: podSecurity,
            containers: [{
              name: "configure",
              image: IMAGES.vault,
              command: ["/bin/sh", "/vault/config/configure.sh"],
              env: [{ name: "HOME", value: "/tmp" }],
              // Short-lived CLI work; the limits keep a stuck job from starving Vault's nodes.
              resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "500m", memory: "256Mi" } },
              securityContext: containerSecurity,
              volumeMounts: [
                { name: "config", mountPath: "/vault/config", readOnly: true },
                { name: "ca", mountPath: "/vault/ca", readOnly: true },
                { name: "device-ca", mountPath: "/vault/device-ca", readOnly: true },
                { name: "tmp", mountPath: "/tmp" },
              ],
            }],
            volumes: [
              { name: "config", configMap: { name: configureMap.metadata.name } },
              { name: "ca", configMap: { name: caConfigMap.metadata.name } },
              { name: "device-ca", secret: { secretName: deviceCaSecret.metadata.name, defaultMode: 0o440 } },
              { name: "tmp", emptyDir: {} },
            ],
          },
        },
      },
    }, { ...k, dependsOn: [bootstrap, ...unsealDeps] });

    this.snapshots(name, args, k, access.snapshot.serviceAccount, caConfigMap, namespace, bootstrap, podSecurity, containerSecurity);

    // Exposed only after the init: until then `sys/init` is open to whoever reaches Vault first.
    const tlsHosts = args.clusterIssuer ? [{ hosts: [host], secretName: "vault-ingress-tls" }] : undefined;
    new k8s.networking.v1.Ingress(`${name}-ingress`, {
      metadata: {
        name: "vault",
        namespace: ns,
        annotations: {
          "nginx.ingress.kubernetes.io/use-regex": "true",
          "nginx.ingress.kubernetes.io/rewrite-target": "/$2",
          "nginx.ingress.kubernetes.io/backend-protocol": "HTTPS",
          "nginx.ingress.kubernetes.io/proxy-ssl-verify": "on",
          "nginx.ingress.kubernetes.io/proxy-ssl-secret": `${ns}/${VAULT.tlsSecret}`,
          "nginx.ingress.kubernetes.io/proxy-ssl-name": `${VAULT.activeService}.${ns}.svc`,
          "nginx.ingress.kubernetes.io/proxy-ssl-server-name": "on",
          "nginx.ingress.kubernetes.io/whitelist-source-range": args.allowedSourceRanges.join(","),
          ...(args.clusterIssuer ? { "cert-manager.io/cluster-issuer": args.clusterIssuer } : {}),
        },
      },
      spec: {
        ingressClassName: args.ingressClassName ?? "nginx",
        tls: tlsHosts,
        rules: [{
          host,
          http: {
            paths: [{
              path: "/vault(/|$)(.*)",
              pathType: "ImplementationSpecific",
              backend: { service: { name: VAULT.activeService, port: { number: VAULT.port } } },
            }],
          },
        }],
      },
    }, { ...k, dependsOn: afterIngressReady(args.ingressReady, bootstrap, tlsSecret) });

    this.registerOutputs({
      healthUrl: this.healthUrl,
      crlUrl: this.crlUrl,
      crlPemUrl: this.crlPemUrl,
      deviceCaPem: this.deviceCaPem,
      address: this.address,
      tlsCaPem: this.tlsCaPem,
      keys: this.keys,
      pkiMount: this.pkiMount,
      deviceRole: this.deviceRole,
    });
  }

  /** Raft snapshots on a schedule: the Vault CLI saves one, rclone uploads it to <bucket>/<stage>/. */
  private snapshots(
    name: string,
    args: VaultArgs,
    k: { parent: pulumi.Resource; provider: k8s.Provider },
    serviceAccount: string,
    caConfigMap: k8s.core.v1.ConfigMap,
    namespace: k8s.core.v1.Namespace,
    bootstrap: VaultBootstrap,
    podSecurity: Record<string, unknown>,
    containerSecurity: Record<string, unknown>,
  ): void {
    const ns = VAULT.namespace;
    const scripts = pulumi.output(args.snapshotBucket).apply((bucket) => {
      const input = { address: this.address, caFile: "/vault/ca/ca.crt", authMount: DEFAULT_ACCESS.authMount, dir: "/snapshots", bucket, prefix: `${args.cfg.stage}/` };
      return { "save.sh": renderSnapshotSaveScript(input), "upload.sh": renderSnapshotUploadScript(input) };
    });
    const map = new k8s.core.v1.ConfigMap(`${name}-snapshot`, {
      metadata: { name: "vault-snapshot", namespace: ns },
      data: scripts,
    }, { ...k, dependsOn: [namespace] });
    const identity = args.snapshotIdentity;
    if (identity.kind === "rrsa" && !identity.role.serviceAccounts.some((r) => r.namespace === ns && r.name === serviceAccount)) {
      const trusted = identity.role.serviceAccounts.map((r) => `${r.namespace}/${r.name}`).join(", ");
      throw new pulumi.ResourceError(`the snapshot Job runs as ${ns}/${serviceAccount}, but its RAM role trusts only ${trusted}`, this);
    }
    // An access key lives in a Secret only for an identity without a role.
    const secret =
      identity.kind === "accessKey"
        ? new k8s.core.v1.Secret(`${name}-snapshot-oss`, {
            metadata: { name: "vault-snapshot-oss", namespace: ns },
            stringData: { accessKeyId: identity.key.accessKeyId, accessKeySecret: identity.key.accessKeySecret },
          }, { ...k, dependsOn: [namespace] })
        : undefined;
    const stsClient =
      identity.kind === "rrsa"
        ? new k8s.core.v1.ConfigMap(`${name}-sts-exchange`, {
            metadata: { name: STS_CLIENT_CONFIGMAP, namespace: ns },
            data: { [STS_CLIENT_FILE]: stsClientBundle() },
          }, { ...k, dependsOn: [namespace] })
        : undefined;
    const deadlineSeconds = 1800;
    const rrsa =
      identity.kind === "rrsa"
        ? pulumi.all([identity.role.roleArn, identity.role.oidcProviderArn]).apply(([roleArn, oidcProviderArn]) =>
            rrsaPodParts({ roleArn, oidcProviderArn, stsEndpoint: args.stsEndpoint, deadlineSeconds, sessionName: "vault-snapshot", image: IMAGES.node, securityContext: containerSecurity }),
          )
        : undefined;
    // No automounted token: the save container alone gets an API token (for Vault's Kubernetes
    // login), projected; the upload container (rclone) gets none, under RRSA only the STS one.
    const sa = new k8s.core.v1.ServiceAccount(`${name}-snapshot`, {
      metadata: { name: serviceAccount, namespace: ns },
      automountServiceAccountToken: false,
    }, { ...k, dependsOn: [namespace] });
    const rclone = Object.entries(rcloneEnvironment(args.ossInternalEndpoint)).map(([n, value]) => ({ name: n, value }));
    new k8s.batch.v1.CronJob(`${name}-snapshot`, {
      metadata: { name: "vault-snapshot", namespace: ns },
      spec: {
        schedule: args.cfg.vault.snapshotSchedule,
        timeZone: "Etc/UTC",
        concurrencyPolicy: "Forbid",
        successfulJobsHistoryLimit: 3,
        failedJobsHistoryLimit: 3,
        jobTemplate: {
          spec: {
            backoffLimit: 2,
            activeDeadlineSeconds: deadlineSeconds,
            template: {
              metadata: { labels: { "app.kubernetes.io/name": "vault-snapshot" } },
              spec: {
                serviceAccountName: sa.metadata.name,
                automountServiceAccountToken: false,
                restartPolicy: "Never",
                securityContext: podSecurity,
                initContainers: [{
                  name: "save",
                  image: IMAGES.vault,
                  command: ["/bin/sh", "/scripts/save.sh"],
                  env: [{ name: "HOME", value: "/tmp" }],
                  resources: SNAPSHOT_RESOURCES,
                  securityContext: containerSecurity,
                  volumeMounts: [
                    { name: "scripts", mountPath: "/scripts", readOnly: true },
                    { name: "ca", mountPath: "/vault/ca", readOnly: true },
                    { name: "snapshots", mountPath: "/snapshots" },
                    { name: "tmp", mountPath: "/tmp" },
                    { name: "vault-login-token", mountPath: "/var/run/secrets/kubernetes.io/serviceaccount", readOnly: true },
                  ],
                },
                // Under RRSA: the token exchange, last, right before rclone.
                ...(rrsa ? [rrsa.apply((p) => p.initContainer)] : [])],
                containers: [{
                  name: "upload",
                  image: IMAGES.rclone,
                  command: ["/bin/sh", "/scripts/upload.sh"],
                  env: [
                    ...rclone,
                    ...(secret
                      ? [
                          { name: "RCLONE_CONFIG_OSS_ACCESS_KEY_ID", valueFrom: { secretKeyRef: { name: secret.metadata.name, key: "accessKeyId" } } },
                          { name: "RCLONE_CONFIG_OSS_SECRET_ACCESS_KEY", valueFrom: { secretKeyRef: { name: secret.metadata.name, key: "accessKeySecret" } } },
                        ]
                      : []),
                    ...(rrsa ? [rrsa.apply((p) => p.env[0])] : []),
                    { name: "HOME", value: "/tmp" },
                  ],
                  resources: SNAPSHOT_RESOURCES,
                  securityContext: containerSecurity,
                  volumeMounts: [
                    { name: "scripts", mountPath: "/scripts", readOnly: true },
                    { name: "snapshots", mountPath: "/snapshots", readOnly: true },
                    { name: "tmp", mountPath: "/tmp" },
                    ...(rrsa ? [rrsa.apply((p) => p.volumeMount)] : []),
                  ],
                }],
                volumes: [
                  { name: "scripts", configMap: { name: map.metadata.name } },
                  { name: "ca", configMap: { name: caConfigMap.metadata.name } },
                  { name: "snapshots", emptyDir: {} },
                  { name: "tmp", emptyDir: {} },
                  // The API server's audience: what Vault's Kubernetes auth reviews (TokenReview).
                  { name: "vault-login-token", projected: { sources: [{ serviceAccountToken: { path: "token", expirationSeconds: 600 } }] } },
                  ...(rrsa ? [0, 1, 2].map((n) => rrsa.apply((p) => p.volumes[n])) : []),
                ],
              },
            },
          },
        },
      },
    }, { ...k, dependsOn: [bootstrap, ...(stsClient ? [stsClient] : [])] });
  }

  /** The Shamir unsealer: KMS ciphertexts of KEY_THRESHOLD keys, and a Deployment that decrypts them when a pod is sealed. */
  private unsealer(
    name: string,
    args: VaultArgs,
    k: { parent: pulumi.Resource; provider: k8s.Provider },
    bootstrap: VaultBootstrap,
    caConfigMap: k8s.core.v1.ConfigMap,
    kmsSecret: k8s.core.v1.Secret,
    pods: string[],
  ): pulumi.Resource[] {
    const ns = VAULT.namespace;
    const ciphertexts = Array.from({ length: KEY_THRESHOLD }, (_, i) =>
      new alicloud.kms.Ciphertext(`${name}-unseal-key-${i}`, {
        keyId: args.kmsKeyId,
        plaintext: pulumi.secret(bootstrap.keys.apply((keys) => keys[i])),
        encryptionContext: unsealEncryptionContext(args.cfg.stage),
      }, { parent: this, provider: args.alicloudProvider, protect: args.cfg.protect }),
    );
    const secret = new k8s.core.v1.Secret(`${name}-unseal-ciphertexts`, {
      metadata: { name: "vault-unseal-ciphertexts", namespace: ns },
      stringData: { "ciphertexts.json": pulumi.all(ciphertexts.map((c) => c.ciphertextBlob)).apply((blobs) => JSON.stringify(blobs)) },
    }, { ...k, dependsOn: ciphertexts });
    const script = new k8s.core.v1.ConfigMap(`${name}-unsealer`, {
      metadata: { name: "vault-unsealer", namespace: ns },
      data: { "unsealer.js": renderUnsealerScript() },
    }, k);
    const servers = pods.map((p) => `https://${p}.${VAULT.internalService}.${ns}.svc:${VAULT.port}`).join(",");
    const labels = { "app.kubernetes.io/name": "vault-unsealer" };
    const deployment = new k8s.apps.v1.Deployment(`${name}-unsealer`, {
      metadata: { name: "vault-unsealer", namespace: ns, labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels, annotations: { "edp/script-checksum": sha(renderUnsealerScript(), 16) } },
          spec: {
            automountServiceAccountToken: false,
            securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, seccompProfile: { type: "RuntimeDefault" } },
            containers: [{
              name: "unsealer",
              image: IMAGES.node,
              command: ["node", "/unsealer/unsealer.js"],
              env: [
                { name: UNSEALER_ENV.servers, value: servers },
                { name: UNSEALER_ENV.caFile, value: "/vault/ca/ca.crt" },
                { name: UNSEALER_ENV.kmsEndpoint, value: `https://kms-vpc.${args.cfg.region}.aliyuncs.com` },
                { name: UNSEALER_ENV.accessKeyId, valueFrom: { secretKeyRef: { name: kmsSecret.metadata.name, key: "accessKeyId" } } },
                { name: UNSEALER_ENV.accessKeySecret, valueFrom: { secretKeyRef: { name: kmsSecret.metadata.name, key: "accessKeySecret" } } },
                { name: UNSEALER_ENV.ciphertextsFile, value: "/vault/unseal/ciphertexts.json" },
                // Decrypt must present the context the ciphertexts were made with.
                { name: UNSEALER_ENV.encryptionContext, value: JSON.stringify(unsealEncryptionContext(args.cfg.stage)) },
                { name: UNSEALER_ENV.intervalMs, value: "10000" },
              ],
              resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { memory: "96Mi" } },
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
              volumeMounts: [
                { name: "script", mountPath: "/unsealer", readOnly: true },
                { name: "ca", mountPath: "/vault/ca", readOnly: true },
                { name: "ciphertexts", mountPath: "/vault/unseal", readOnly: true },
              ],
            }],
            volumes: [
              { name: "script", configMap: { name: script.metadata.name } },
              { name: "ca", configMap: { name: caConfigMap.metadata.name } },
              { name: "ciphertexts", secret: { secretName: secret.metadata.name, defaultMode: 0o440 } },
            ],
          },
        },
      },
    }, { ...k, dependsOn: [bootstrap] });
    return [deployment];
  }
}
