/**
 * The cloud foundation of one stage on Alibaba Cloud: network, central Kubernetes cluster (made
 * or adopted), OSS buckets, KMS keys, DNS records and least-privilege RAM identities. Its public
 * fields implement FoundationOutputs, which every other component codes against.
 */
import * as alicloud from "@pulumi/alicloud";
import * as pulumi from "@pulumi/pulumi";
import type { StageConfig } from "../../config";
import type { CentralCluster, FoundationOutputs, WorkloadIdentity } from "../contracts";
import { adoptOptions } from "../shared/adopt";
import type { RamPolicyDocument } from "../shared/ram-policy";
import { type RrsaIdentityName, type RrsaProvider, stsVpcEndpoint, WORKLOAD_SERVICE_ACCOUNTS } from "../shared/rrsa";
import { createCentralCluster } from "./cluster";
import { createDnsRecords, lookupIngressAddress } from "./dns";
import { createIdentity, createRrsaRole } from "./identities";
import { createInternalIngressBalancer } from "./internal-ingress";
import { createKeys } from "./kms";
import { createNetwork } from "./network";
import { backupReaderPolicy, backupWriterPolicy, vaultSnapshotWriterPolicy, vaultUnsealPolicy } from "./policies";
import type { Scope } from "./scope";
import { createBuckets } from "./storage";
import { foundationProblems } from "./validate";

export interface FoundationArgs {
  /** The stage's validated configuration (config/load.ts). */
  config: StageConfig;
}

export class Foundation extends pulumi.ComponentResource implements FoundationOutputs {
  public readonly vpcId: pulumi.Output<string>;
  public readonly vpcCidr: string;
  public readonly vswitchIds: pulumi.Output<string>[];
  public readonly cluster: CentralCluster;
  /** The ACK cluster id; undefined when the cluster is adopted. */
  public readonly clusterId?: pulumi.Output<string>;
  public readonly buckets: FoundationOutputs["buckets"];
  public readonly ossEndpoint: string;
  public readonly ossInternalEndpoint: string;
  /** The Vault auto-unseal key (Vault's seal "alicloudkms" kms_key_id). */
  public readonly kmsKeyId: pulumi.Output<string>;
  /** ARN of the Vault auto-unseal key. */
  public readonly kmsKeyArn: pulumi.Output<string>;
  /** The key the buckets are encrypted with; readers of a bucket need kms:Decrypt on it. */
  public readonly bucketKmsKeyId: pulumi.Output<string>;
  /** ARN of the bucket key, for RAM policies such as edgeClusterReadPolicy. */
  public readonly bucketKmsKeyArn: pulumi.Output<string>;
  public readonly identities: FoundationOutputs["identities"];
  public readonly stsEndpoint: string;
  /** The central cluster's RRSA OIDC provider, when the workloads use roles (created cluster, or edp:cluster.rrsa). */
  public readonly rrsa?: pulumi.Output<RrsaProvider>;
  public readonly e3Eip: FoundationOutputs["e3Eip"];
  public readonly ingressAddress: pulumi.Output<string>;
  /** The intranet load balancer of the internal ingress controller (VPC-internal names). */
  public readonly internalIngress: { loadBalancerId: pulumi.Output<string>; address: pulumi.Output<string> };
  /** The stage's egress address (NAT gateway EIP), for allow-lists elsewhere. */
  public readonly egressAddress: pulumi.Output<string>;
  /** Security group of the cluster nodes (the E3 host's is the E3 component's). */
  public readonly securityGroupIds: { cluster: pulumi.Output<string> };
  /** Fully qualified DNS names this foundation publishes, by short name. */
  public readonly dnsNames: Record<string, string>;

  constructor(name: string, args: FoundationArgs, opts?: pulumi.ComponentResourceOptions) {
    const problems = foundationProblems(args.config);
    if (problems.length > 0) {
      // Thrown before super(): a rejected foundation registers nothing.
      throw new pulumi.RunError(`Invalid foundation configuration:\n${problems.map((p) => `  - ${p.key}: ${p.message}`).join("\n")}`);
    }
    super("edp:foundation:Foundation", name, {}, opts);
    const cfg = args.config;
    const scope: Scope = { name, parent: this, cfg, tags: { project: cfg.project, stage: cfg.stage, "managed-by": "pulumi" } };

    const network = createNetwork(scope);
    this.vpcId = network.vpc.id;
    this.vpcCidr = cfg.network.vpcCidr;
    this.vswitchIds = network.vswitches.map((v) => v.id);
    this.egressAddress = network.natEip.ipAddress;
    this.securityGroupIds = { cluster: network.clusterSecurityGroup.id };

    const central = createCentralCluster(scope, network);
    this.cluster = { provider: central.provider, kubeconfig: central.kubeconfig, diskStorageClass: central.diskStorageClass };
    this.clusterId = central.clusterId;

    const accountId = alicloud.getAccountOutput({ parent: this }).id;
    const keys = createKeys(scope, accountId);
    this.kmsKeyId = keys.vaultUnseal.key.id;
    this.kmsKeyArn = keys.vaultUnseal.arn;
    this.bucketKmsKeyId = keys.buckets.key.id;
    this.bucketKmsKeyArn = keys.buckets.arn;

    const buckets = createBuckets(scope, keys.buckets.key.id);
    this.buckets = buckets;
    this.ossEndpoint = `oss-${cfg.region}.aliyuncs.com`;
    this.ossInternalEndpoint = `oss-${cfg.region}-internal.aliyuncs.com`;

    this.stsEndpoint = stsVpcEndpoint(cfg.region);
    this.rrsa = central.rrsa;
    // A workload identity: a RAM role its ServiceAccounts assume where the cluster has RRSA,
    // else a RAM user's access key. Never both: an identity with a role has no key anywhere.
    const workload = (id: string, which: RrsaIdentityName, description: string, document: pulumi.Output<RamPolicyDocument>): WorkloadIdentity => {
      const serviceAccounts = WORKLOAD_SERVICE_ACCOUNTS[which];
      if (central.rrsa === undefined) {
        const made = createIdentity(scope, id, description, document);
        return { kind: "accessKey", key: { accessKeyId: made.accessKeyId, accessKeySecret: made.accessKeySecret } };
      }
      const made = createRrsaRole(scope, id, description, document, central.rrsa, serviceAccounts);
      return { kind: "rrsa", role: { roleArn: made.role.arn, oidcProviderArn: central.rrsa.apply((p) => p.oidcProviderArn), serviceAccounts } };
    };
    const unseal = createIdentity(scope, "vault-unseal", "Vault auto-unseal with its KMS key only", keys.vaultUnseal.arn.apply(vaultUnsealPolicy));
    this.identities = {
      backupWriter: workload(
        "pg-backup-writer",
        "backupWriter",
        `PostgreSQL dumps to ${cfg.names.backupBucket}/${cfg.stage}/ only`,
        pulumi
          .all([this.buckets.backup, keys.buckets.arn])
          .apply(([bucket, arn]) => backupWriterPolicy({ bucket, prefix: `${cfg.stage}/`, kmsKeyArn: arn })),
      ),
      backupReader: workload(
        "pg-backup-reader",
        "backupReader",
        `PostgreSQL restore and drill: reads ${cfg.names.backupBucket}/${cfg.stage}/ only`,
        pulumi
          .all([this.buckets.backup, keys.buckets.arn])
          .apply(([bucket, arn]) => backupReaderPolicy({ bucket, prefix: `${cfg.stage}/`, kmsKeyArn: arn })),
      ),
      // Always a key: Vault's alicloudkms seal reads credentials once at start-up and keeps its
      // client, so temporary STS credentials would expire under a running Vault (README).
      vaultUnseal: { accessKeyId: unseal.accessKeyId, accessKeySecret: unseal.accessKeySecret },
      vaultSnapshots: workload(
        "vault-snapshot-writer",
        "vaultSnapshots",
        `Vault raft snapshots to ${cfg.names.vaultSnapshotBucket} only`,
        pulumi.all([this.buckets.vaultSnapshots, keys.buckets.arn]).apply(([bucket, arn]) => vaultSnapshotWriterPolicy({ bucket, kmsKeyArn: arn })),
      ),
    };

    const e3Eip = new alicloud.ecs.EipAddress(
      `${name}-e3-eip`,
      {
        addressName: `${cfg.names.prefix}-e3`,
        description: "E3 endpoint host: edge devices and DNS point here",
        paymentType: "PayAsYouGo",
        internetChargeType: "PayByTraffic",
        bandwidth: "100",
        tags: scope.tags,
      },
      // Edge devices in the field know this address; losing it strands them.
      { parent: this, protect: cfg.protect, ...adoptOptions("alicloud:ecs/eipAddress:EipAddress", cfg.existing.e3Eip) },
    );
    this.e3Eip = { id: e3Eip.id, ipAddress: e3Eip.ipAddress };

    this.ingressAddress = lookupIngressAddress(scope);
    this.internalIngress = createInternalIngressBalancer(scope, network);
    const dns = createDnsRecords(scope, network.vpc.id, { ingress: this.ingressAddress, internalIngress: this.internalIngress.address, e3: e3Eip.ipAddress });
    this.dnsNames = Object.fromEntries(dns.plan.map((r) => [r.key, r.fqdn]));

    this.registerOutputs({
      vpcId: this.vpcId,
      vswitchIds: this.vswitchIds,
      kubeconfig: this.cluster.kubeconfig,
      clusterId: this.clusterId,
      buckets: this.buckets,
      kmsKeyId: this.kmsKeyId,
      bucketKmsKeyId: this.bucketKmsKeyId,
      e3Eip: this.e3Eip,
      ingressAddress: this.ingressAddress,
      internalIngress: this.internalIngress,
      egressAddress: this.egressAddress,
      securityGroupIds: this.securityGroupIds,
      dnsNames: this.dnsNames,
    });
  }
}
