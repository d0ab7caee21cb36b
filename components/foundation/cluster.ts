/**
 * The central Kubernetes cluster: an ACK managed cluster created without workers plus one node
 * pool per configured pool, or an existing cluster adopted from a kubeconfig. Either way the
 * result is an explicit k8s.Provider, the only way other components reach the cluster.
 */
import * as alicloud from "@pulumi/alicloud";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { adoptOptions, importIds } from "../shared/adopt";
import { diskStorageClassArgs } from "../shared/storage";
import { API_SERVER_PORT, ApiServerAclBinding, apiServerAclEntries } from "./api-server-acl";
import type { RrsaProvider } from "../shared/rrsa";
import type { Network } from "./network";
import type { Scope } from "./scope";

export interface CentralClusterParts {
  provider: k8s.Provider;
  /** The platform's disk StorageClass (shared/storage.ts). */
  diskStorageClass: k8s.storage.v1.StorageClass;
  /** Secret. */
  kubeconfig: pulumi.Output<string>;
  /** The ACK cluster id; undefined when the cluster is adopted. */
  clusterId?: pulumi.Output<string>;
  /** The cluster's RRSA OIDC provider; undefined for an adopted cluster whose stage names none (edp:cluster.rrsa). */
  rrsa?: pulumi.Output<RrsaProvider>;
}

/**
 * The CNI: Terway with network policy enforcement. Flannel, ACK's other choice, ignores
 * NetworkPolicy objects, so every default-deny of the platform would be decoration. Terway gives
 * pods addresses from the pod vSwitches (ENI multi-IP mode) and enforces policies with its
 * Cilium-based datapath when NetworkPolicy is "true".
 */
export const CNI_ADDON = { name: "terway-eniip", config: JSON.stringify({ IPVlan: "false", NetworkPolicy: "true", ENITrunking: "false" }) };

/** Addons ACK installs at creation. Ingress is the platform's own pair of ingress-nginx controllers. */
export const ACK_ADDONS = [
  CNI_ADDON,
  { name: "csi-plugin" },
  { name: "csi-provisioner" },
  { name: "nginx-ingress-controller", disabled: true },
];

function providerFor(scope: Scope, kubeconfig: pulumi.Output<string>, clusterIdentifier: pulumi.Input<string>, nodePools: pulumi.Resource[] = []): k8s.Provider {
  return new k8s.Provider(
    `${scope.name}-central`,
    // The identifier, not the kubeconfig, tells Pulumi which cluster this is: a refreshed
    // credential must not look like a new cluster and replace every Kubernetes object.
    { kubeconfig, clusterIdentifier, enableServerSideApply: true },
    // Everything on the cluster goes through this provider, so nothing starts before the node
    // pools exist: a managed cluster without workers accepts objects, but no pod ever schedules
    // and every Helm release runs into its timeout.
    { parent: scope.parent, dependsOn: nodePools },
  );
}

function diskStorageClass(scope: Scope, provider: k8s.Provider): k8s.storage.v1.StorageClass {
  return new k8s.storage.v1.StorageClass(`${scope.name}-disk`, diskStorageClassArgs(), { parent: scope.parent, provider, protect: scope.cfg.protect, retainOnDelete: true });
}

function createAck(scope: Scope, network: Network): CentralClusterParts {
  const { name, parent, cfg, tags } = scope;
  const spec = cfg.cluster.create;
  if (spec === undefined) throw new pulumi.ResourceError("edp:cluster.create is missing but the cluster is to be created", parent);
  const vswitchIds = network.vswitches.map((v) => v.id);
  // edp:existing.cluster: the running cluster is imported; edp:cluster.create says what is managed of it.
  const existing = cfg.existing.cluster;
  const cluster = new alicloud.cs.ManagedKubernetes(
    `${name}-ack`,
    {
      name: `${cfg.names.prefix}-central`,
      clusterSpec: spec.clusterSpec,
      version: spec.kubernetesVersion,
      vswitchIds,
      // Terway: pods take addresses from the nodes' vSwitches (same zones), not from a pod CIDR.
      podVswitchIds: vswitchIds,
      serviceCidr: cfg.network.serviceCidr,
      // Egress is the foundation's NAT gateway; ACK must not create a second one.
      newNatGateway: false,
      // The deployer (CI running `pulumi up`) reaches the API server over the internet, from an
      // admin network: the listener's whitelist (api-server-acl.ts) admits no one else.
      slbInternetEnabled: true,
      securityGroupId: network.clusterSecurityGroup.id,
      deletionProtection: cfg.protect,
      // RRSA: ACK registers the cluster's OIDC provider in RAM, so the backup and snapshot Jobs
      // assume RAM roles with their ServiceAccount tokens instead of holding access keys.
      // Irreversible by ACK's design, and harmless to workloads that do not use it.
      enableRrsa: true,
      addons: ACK_ADDONS,
      // The ingress SLB is the stage's own (cfg.ingress.loadBalancerId); deleting the cluster must not take it along.
      deleteOptions: [{ resourceType: "SLB", deleteMode: "retain" }],
      tags,
    },
    { parent, protect: cfg.protect, dependsOn: network.snatEntries, ...adoptOptions("alicloud:cs/managedKubernetes:ManagedKubernetes", existing?.id) },
  );
  const autoscaler = new alicloud.cs.AutoscalingConfig(
    `${name}-autoscaler`,
    { clusterId: cluster.id, scalerType: "cluster-autoscaler", expander: "least-waste", scaleDownEnabled: true, skipNodesWithLocalStorage: true },
    { parent },
  );
  const pools = spec.nodePools.map(
    (pool) =>
      new alicloud.cs.NodePool(
        `${name}-pool-${pool.name}`,
        {
          clusterId: cluster.id,
          nodePoolName: `${cfg.names.prefix}-${pool.name}`,
          vswitchIds,
          instanceTypes: pool.instanceTypes,
          systemDiskCategory: "cloud_essd",
          systemDiskSize: pool.diskSizeGb,
          securityGroupIds: [network.clusterSecurityGroup.id],
          scalingConfig: { enable: true, minSize: pool.minSize, maxSize: pool.maxSize },
          management: { enable: true, autoRepair: true, maxUnavailable: 1 },
          labels: [{ key: "edp.daim.io/node-pool", value: pool.name }],
          tags,
        },
        {
          parent,
          dependsOn: [...network.snatEntries, autoscaler],
          ...adoptOptions("alicloud:cs/nodePool:NodePool", existing?.nodePools[pool.name] ? importIds.nodePool(existing.id, existing.nodePools[pool.name]) : undefined),
        },
      ),
  );
  // The API server's public endpoint admits only the admin networks (plus what ACK itself needs).
  const acl = new alicloud.slb.Acl(
    `${name}-apiserver-acl`,
    { name: `${cfg.names.prefix}-apiserver`, ipVersion: "ipv4", entryLists: apiServerAclEntries(cfg.network.vpcCidr, spec.apiServerCidrs), tags },
    { parent },
  );
  const aclBinding = new ApiServerAclBinding(
    `${name}-apiserver-acl`,
    { endpoint: `https://slb.${cfg.region}.aliyuncs.com`, region: cfg.region, loadBalancerId: cluster.slbId, port: API_SERVER_PORT, aclId: acl.id },
    { parent },
  );
  const credential = alicloud.cs.getClusterCredentialOutput({ clusterId: cluster.id }, { parent });
  const kubeconfig = pulumi.secret(credential.kubeConfig);
  // Nothing reaches the API server before its access list is in place.
  const provider = providerFor(scope, kubeconfig, cluster.id, [...pools, aclBinding]);
  const rrsa = cluster.rrsaMetadata.apply((m): RrsaProvider => {
    if (!m?.enabled || !m.ramOidcProviderArn || !m.rrsaOidcIssuerUrl) {
      // A preview of an imported cluster shows its state before this update enables RRSA; the
      // roles' trust policies are then known only after the update, as for a new cluster.
      if (pulumi.runtime.isDryRun()) return { oidcProviderArn: "(the cluster's OIDC provider, once RRSA is enabled)", issuer: "(the cluster's issuer, once RRSA is enabled)" };
      // A cluster that reports no provider after the update must not get roles nobody can assume.
      throw new Error(`ACK cluster ${cfg.names.prefix}-central reports RRSA as not enabled (rrsaMetadata); the RRSA roles need its OIDC provider`);
    }
    return { oidcProviderArn: m.ramOidcProviderArn, issuer: m.rrsaOidcIssuerUrl };
  });
  return { provider, kubeconfig, clusterId: cluster.id, diskStorageClass: diskStorageClass(scope, provider), rrsa };
}

function adopt(scope: Scope): CentralClusterParts {
  const given = scope.cfg.secrets.clusterKubeconfig;
  if (given === undefined) throw new pulumi.ResourceError("edp:clusterKubeconfig (secret) is missing but the cluster is to be adopted", scope.parent);
  const kubeconfig = pulumi.secret(given);
  const provider = providerFor(scope, kubeconfig, `${scope.cfg.names.prefix}-central-adopted`);
  // RRSA of an adopted cluster only when the stage names its OIDC provider (edp:cluster.rrsa).
  const named = scope.cfg.cluster.rrsa;
  const rrsa = named === undefined ? undefined : pulumi.output<RrsaProvider>({ oidcProviderArn: named.oidcProviderArn, issuer: named.issuer });
  return { provider, kubeconfig, diskStorageClass: diskStorageClass(scope, provider), rrsa };
}

export function createCentralCluster(scope: Scope, network: Network): CentralClusterParts {
  return scope.cfg.clusterMode === "create" ? createAck(scope, network) : adopt(scope);
}
