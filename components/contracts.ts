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
  /** Access keys of least-privilege RAM users. */
  identities: {
    /** Writes and reads <backup-bucket>/<stage>/ only (no delete: expiry is the lifecycle rule's). */
    backupWriter: AccessKeyPair;
    /** Reads <backup-bucket>/<stage>/ only: the restore and restore-drill Jobs. */
    backupReader: AccessKeyPair;
    /** Encrypt/Decrypt/DescribeKey on the KMS key only. */
    vaultUnseal: AccessKeyPair;
    /** Writes and reads the Vault snapshot bucket only. */
    vaultSnapshots: AccessKeyPair;
  };
  /** Elastic IP reserved for the E3 host; the E3 component associates it with its instance. */
  e3Eip: { id: pulumi.Output<string>; ipAddress: pulumi.Output<string> };
  /** Public address of the stage's ingress load balancer. */
  ingressAddress: pulumi.Output<string>;
}
