/**
 * Pure rendering of the Vault chart's values and of the server configuration (HCL): raft
 * storage with retry_join over TLS, the seal, and where the TLS material is mounted.
 */
import { DISK_STORAGE_CLASS } from "../shared/storage";

/** Names fixed by the chart and by the manual (namespace vault, pod vault-0). */
export const VAULT = {
  namespace: "vault",
  release: "vault",
  port: 8200,
  /** Headless service of the StatefulSet; pods are <release>-<i>.<release>-internal. */
  internalService: "vault-internal",
  /** Service the chart points at the raft leader. */
  activeService: "vault-active",
  tlsSecret: "vault-tls",
  kmsSecret: "vault-kms-unseal",
  tlsMountPath: "/vault/userconfig/vault-tls",
} as const;

export const podNames = (replicas: number) => Array.from({ length: replicas }, (_, i) => `${VAULT.release}-${i}`);

/** DNS names the Vault server certificate must cover: pod names for raft, services for clients. */
export function serverCertNames(namespace: string = VAULT.namespace): string[] {
  const services = [VAULT.release, VAULT.activeService, `${VAULT.release}-standby`];
  return [
    `*.${VAULT.internalService}`,
    `*.${VAULT.internalService}.${namespace}.svc`,
    `*.${VAULT.internalService}.${namespace}.svc.cluster.local`,
    ...services.flatMap((s) => [s, `${s}.${namespace}`, `${s}.${namespace}.svc`, `${s}.${namespace}.svc.cluster.local`]),
    "localhost",
  ];
}

export interface SealSettings {
  kind: "shamir" | "alicloudkms";
  region: string;
  /** KMS key id (alicloudkms only). */
  kmsKeyId?: string;
}

const hclString = (s: string) => JSON.stringify(s);

/** The server's HCL: TLS listener, raft with one retry_join per peer, the seal, Kubernetes service registration. */
export function renderServerConfig(replicas: number, seal: SealSettings): string {
  const ca = `${VAULT.tlsMountPath}/ca.crt`;
  const joins = podNames(replicas)
    .map((pod) =>
      [
        "  retry_join {",
        `    leader_api_addr = ${hclString(`https://${pod}.${VAULT.internalService}:${VAULT.port}`)}`,
        `    leader_ca_cert_file = ${hclString(ca)}`,
        "  }",
      ].join("\n"),
    )
    .join("\n");
  const lines = [
    "ui = false",
    // No disable_mlock here: the chart appends `disable_mlock = true` to an HCL config (mlock would
    // pin raft's memory-mapped files), and Vault ≥ 1.21 refuses a file that sets it twice.
    "",
    'listener "tcp" {',
    `  address = "[::]:${VAULT.port}"`,
    `  cluster_address = "[::]:${VAULT.port + 1}"`,
    `  tls_cert_file = ${hclString(`${VAULT.tlsMountPath}/tls.crt`)}`,
    `  tls_key_file = ${hclString(`${VAULT.tlsMountPath}/tls.key`)}`,
    `  tls_client_ca_file = ${hclString(ca)}`,
    '  tls_min_version = "tls12"',
    // Prometheus scrapes /v1/sys/metrics without a token (it holds no secret).
    "  telemetry {",
    "    unauthenticated_metrics_access = true",
    "  }",
    "}",
    "",
    "telemetry {",
    '  prometheus_retention_time = "30s"',
    "  disable_hostname = true",
    "}",
    "",
    'storage "raft" {',
    '  path = "/vault/data"',
    joins,
    "}",
    "",
    'service_registration "kubernetes" {}',
  ];
  if (seal.kind === "alicloudkms") {
    if (!seal.kmsKeyId) throw new Error("the alicloudkms seal needs a KMS key id");
    // Credentials come from the environment (ALICLOUD_ACCESS_KEY/SECRET_KEY from a Secret), never from this file.
    lines.push(
      "",
      'seal "alicloudkms" {',
      `  region = ${hclString(seal.region)}`,
      `  domain = ${hclString(`kms-vpc.${seal.region}.aliyuncs.com`)}`,
      `  kms_key_id = ${hclString(seal.kmsKeyId)}`,
      "}",
    );
  }
  return `${lines.join("\n")}\n`;
}

export interface ValuesInput {
  replicas: number;
  storageGb: number;
  /** StorageClass of the raft volumes; the platform's disk class by default. */
  storageClass?: string;
  seal: SealSettings;
  image: string;
}

/** Values for the hashicorp/vault chart. */
export function renderVaultValues(input: ValuesInput): Record<string, unknown> {
  const [repository, tag] = input.image.split(":");
  const kms = input.seal.kind === "alicloudkms";
  return {
    global: { enabled: true, tlsDisable: false },
    // Device certificates are signed through the API; nothing needs secrets injected into pods.
    injector: { enabled: false },
    ui: { enabled: false },
    server: {
      image: { repository, tag },
      // Pods are restarted one at a time by an operator (standbys first). It also means Helm's
      // wait does not block on pods that only become Ready once the bootstrap has run.
      updateStrategyType: "OnDelete",
      extraEnvironmentVars: {
        VAULT_CACERT: `${VAULT.tlsMountPath}/ca.crt`,
        ...(kms ? { ALICLOUD_REGION: input.seal.region } : {}),
      },
      extraSecretEnvironmentVars: kms
        ? [
            { envName: "ALICLOUD_ACCESS_KEY", secretName: VAULT.kmsSecret, secretKey: "accessKeyId" },
            { envName: "ALICLOUD_SECRET_KEY", secretName: VAULT.kmsSecret, secretKey: "accessKeySecret" },
          ]
        : [],
      volumes: [{ name: "tls", secret: { secretName: VAULT.tlsSecret, defaultMode: 0o440 } }],
      volumeMounts: [{ name: "tls", mountPath: VAULT.tlsMountPath, readOnly: true }],
      dataStorage: { enabled: true, size: `${input.storageGb}Gi`, storageClass: input.storageClass ?? DISK_STORAGE_CLASS, accessMode: "ReadWriteOnce" },
      auditStorage: { enabled: false },
      resources: { requests: { cpu: "250m", memory: "256Mi" }, limits: { cpu: "1", memory: "1Gi" } },
      standalone: { enabled: false },
      ha: {
        enabled: true,
        replicas: input.replicas,
        raft: { enabled: true, setNodeId: true, config: renderServerConfig(input.replicas, input.seal) },
        // With one replica the chart forces maxUnavailable 0, a PDB no drain can pass: none then.
        disruptionBudget: { enabled: input.replicas > 1, maxUnavailable: Math.max(1, Math.floor((input.replicas - 1) / 2)) },
      },
      service: { enabled: true },
      ingress: { enabled: false },
    },
  };
}
