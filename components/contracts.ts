/**
 * What the cloud foundation hands the other components. Components depend on these shapes,
 * not on each other's classes, so each can be built and tested on its own.
 */
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";

/** An access key of a RAM user; the secret is a Pulumi secret. */
export interface AccessKeyPair {
  accessKeyId: pulumi.Output<string>;
  accessKeySecret: pulumi.Output<string>;
}

/** A Kubernetes ServiceAccount, by namespace and name. */
export interface ServiceAccountRef {
  namespace: string;
  name: string;
}

/**
 * A RAM role that pods of the central cluster assume with their ServiceAccount's token through
 * the cluster's RRSA OIDC provider (STS AssumeRoleWithOIDC); it has no access key.
 */
export interface RrsaRole {
  roleArn: pulumi.Output<string>;
  oidcProviderArn: pulumi.Output<string>;
  /** The ServiceAccounts the role's trust policy names; no other may assume it. */
  serviceAccounts: readonly ServiceAccountRef[];
}

/**
 * How a workload of the central cluster reaches the cloud: a RAM role through RRSA where the
 * cluster supports it, otherwise a RAM user's access key (kept in a Kubernetes Secret).
 */
export type WorkloadIdentity = { kind: "rrsa"; role: RrsaRole } | { kind: "accessKey"; key: AccessKeyPair };

/** The central Kubernetes cluster, reachable only through this explicit provider. */
export interface CentralCluster {
  provider: k8s.Provider;
  /** Secret. */
  kubeconfig: pulumi.Output<string>;
  /** The StorageClass every persistent volume names (shared/storage.ts DISK_STORAGE_CLASS); volumes wait for it. */
  diskStorageClass: pulumi.Resource;
}

export interface FoundationOutputs {
  vpcId: pulumi.Output<string>;
  vpcCidr: string;
  /** One vSwitch per configured zone, in config order. */
  vswitchIds: pulumi.Output<string>[];
  cluster: CentralCluster;
  /** Bucket names (equal to the names in cfg.names, as outputs so dependents wait for the bucket). */
  buckets: {
    manifests: pulumi.Output<string>;
    backup: pulumi.Output<string>;
    vaultSnapshots: pulumi.Output<string>;
  };
  /** OSS endpoint for the region, e.g. oss-eu-central-1.aliyuncs.com, and its VPC-internal twin. */
  ossEndpoint: string;
  ossInternalEndpoint: string;
  /** KMS key for Vault auto-unseal only (the buckets use their own key: whoever reads an SSE-KMS bucket needs Decrypt on its key). */
  kmsKeyId: pulumi.Output<string>;
  /** STS endpoint the pods exchange their RRSA token at (the VPC one of the region). */
  stsEndpoint: string;
  /** Least-privilege identities: RRSA roles where the cluster has RRSA, access keys otherwise. */
  identities: {
    /** Writes and reads <backup-bucket>/<stage>/ only (no delete: expiry is the lifecycle rule's). */
    backupWriter: WorkloadIdentity;
    /** Reads <backup-bucket>/<stage>/ only: the restore and restore-drill Jobs. */
    backupReader: WorkloadIdentity;
    /**
     * Encrypt/Decrypt/DescribeKey on the KMS key only. Always an access key: Vault's alicloudkms
     * seal reads its credentials once at start-up and keeps them (foundation README).
     */
    vaultUnseal: AccessKeyPair;
    /** Writes and reads the Vault snapshot bucket only. */
    vaultSnapshots: WorkloadIdentity;
  };
  /** Elastic IP reserved for the E3 host; the E3 component associates it with its instance. */
  e3Eip: { id: pulumi.Output<string>; ipAddress: pulumi.Output<string> };
  /** Public address of the stage's ingress load balancer. */
  ingressAddress: pulumi.Output<string>;
}
