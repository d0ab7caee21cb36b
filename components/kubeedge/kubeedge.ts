/**
 * KubeEdge on the central cluster (seed 003): CloudCore from the upstream chart, reachable by the
 * devices on exactly its five ports through a load balancer and a DNS name, its stream server on
 * a certificate of the platform CA, the join token read from CloudCore, one `keadm join` command
 * per configured node, the DaemonSets of kube-proxy and the CNI kept off edge nodes, removed
 * nodes taken out, and chart-template deployments pinned to nodes. Wiring only: what is built
 * is computed in values.ts, join.ts, manifests.ts and workloads.ts.
 */
import { createHash } from "node:crypto";
import * as alicloud from "@pulumi/alicloud";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as tls from "@pulumi/tls";
import type { StageConfig } from "../../config";
import type { KubeEdgeInput } from "../../config/kubeedge";
import { CHARTS, KUBEEDGE_VERSION } from "../versions";
import {
  destinationRuleCrd,
  EDGEMESH_AGENT,
  EDGEMESH_PROXY_NAME_LABEL,
  EDGEMESH_PSK_SECRET,
  EDGEMESH_RELAY,
  EDGEMESH_RELAY_NODE_PORT,
  EDGEMESH_TUNNEL_PORT,
  edgeMeshAgentConfig,
  edgeMeshAgentDaemonSet,
  edgeMeshAgentTolerations,
  edgeMeshClusterRole,
  edgeMeshClusterRoleBinding,
  edgeMeshConfigMap,
  edgeMeshRelayDeployment,
  edgeMeshRelayPolicy,
  edgeMeshRelays,
  edgeMeshRelayService,
  edgeMeshServiceAccount,
} from "./edgemesh";
import { joinCommand } from "./join";
import { cloudHubService, kubeEdgeNetworkPolicies, nodePortOf } from "./manifests";
import { EdgeDaemonSetExclusion, KubeEdgeNodeMembership, KubeEdgeToken } from "./resources";
import { CLOUDCORE_DEPLOYMENT, CLOUDCORE_LABELS, CLOUDCORE_PORTS, CLOUDCORE_STREAM_SECRET, cloudCoreValues, KUBEEDGE_NAMESPACE } from "./values";
import { KUBEEDGE_WORKLOAD_NAMESPACE, kubeEdgeDeploymentValues } from "./workloads";

/** Short name of CloudCore's DNS record: edp-cloudcore.api.<stage>.<public zone> (the manual's naming). */
export const CLOUDCORE_DNS_NAME = "edp-cloudcore";

/**
 * Where the program finds the cloudcore chart: no repository serves it, so it is installed from
 * the chart cache that `bash scripts/setup.sh` (scripts/charts.ts) fills and checks by digest.
 * Relative to the project directory, where Pulumi runs the program and its providers.
 */
export const CLOUDCORE_CHART_ARCHIVE = `.cache/charts/${CHARTS.cloudcore.chart}-${CHARTS.cloudcore.version}.tgz`;

/** Alibaba DNS's smallest TTL on the free edition (as the foundation's records). */
const PUBLIC_TTL = 600;

/**
 * DaemonSets of an ACK cluster that tolerate every taint, so only an affinity keeps them off
 * edge nodes (the guide's §2.6): kube-proxy, the CNI (Flannel, or Terway on clusters made with
 * it) and the disk CSI node plugin (the guide's csi-cinder-nodeplugin on OpenStack).
 */
export const ACK_DAEMONSETS: readonly { namespace: string; name: string; what: string; requiredWhenCreated: boolean }[] = [
  { namespace: "kube-system", name: "kube-proxy-worker", what: "kube-proxy", requiredWhenCreated: true },
  { namespace: "kube-system", name: "kube-flannel-ds", what: "the Flannel CNI", requiredWhenCreated: true },
  { namespace: "kube-system", name: "terway-eniip", what: "the Terway CNI", requiredWhenCreated: false },
  { namespace: "kube-system", name: "csi-plugin", what: "the disk CSI node plugin", requiredWhenCreated: false },
];

export interface KubeEdgeArgs {
  /** The stage's config; `kubeEdge` must be set. */
  config: StageConfig & { kubeEdge: KubeEdgeInput };
  /** Provider of the central cluster. */
  provider: k8s.Provider;
  /** Kubeconfig of the central cluster (secret), for the token, node removal and DaemonSet patches. */
  kubeconfig: pulumi.Input<string>;
  /** The platform CA: signs CloudCore's stream certificate. */
  platformCa: { certPem: pulumi.Input<string>; keyPem: pulumi.Input<string> };
  /** Address of the stage's load balancer (edp:ingress.loadBalancerId), for `loadBalancer: stage`. */
  stageLoadBalancerAddress: pulumi.Input<string>;
  /** Security group of the cluster nodes: the load balancer forwards the devices' traffic to node ports. */
  nodeSecurityGroupId: pulumi.Input<string>;
}

export class KubeEdge extends pulumi.ComponentResource {
  /** CloudCore's DNS name. */
  public readonly cloudCoreHost: string;
  /** Address of CloudCore's load balancer. */
  public readonly cloudCoreAddress: pulumi.Output<string>;
  /** Secret: CloudCore's current join token. */
  public readonly token: pulumi.Output<string>;
  /** Secret: the `keadm join` command of each node, by node name. */
  public readonly joinCommands: pulumi.Output<Record<string, string>>;
  /** The CloudCore release (first-deployment ordering). */
  public readonly release: k8s.helm.v3.Release;

  constructor(name: string, args: KubeEdgeArgs, opts?: pulumi.ComponentResourceOptions) {
    super("edp:kubeedge:KubeEdge", name, {}, opts);
    const cfg = args.config;
    const ke = cfg.kubeEdge;
    const child = { parent: this };
    const k8sOpts = { parent: this, provider: args.provider };
    this.cloudCoreHost = cfg.names.publicHost(CLOUDCORE_DNS_NAME);

    // --- The address devices reach ---
    let loadBalancerId: pulumi.Input<string>;
    if (ke.loadBalancer === "dedicated") {
      const slb = new alicloud.slb.ApplicationLoadBalancer(
        `${name}-slb`,
        { loadBalancerName: `${cfg.names.prefix}-cloudcore`, addressType: "internet", loadBalancerSpec: ke.loadBalancerSpec, internetChargeType: "PayByTraffic" },
        child,
      );
      loadBalancerId = slb.id;
      this.cloudCoreAddress = slb.address;
    } else {
      loadBalancerId = cfg.ingress.loadBalancerId;
      this.cloudCoreAddress = pulumi.output(args.stageLoadBalancerAddress);
    }
    const zone = cfg.dns.publicZone;
    new alicloud.dns.AlidnsRecord(`${name}-dns`, { domainName: zone, rr: this.cloudCoreHost.slice(0, -(zone.length + 1)), type: "A", value: this.cloudCoreAddress, ttl: PUBLIC_TTL }, child);
    // Classic SLB keeps the devices' source addresses, so the nodes must accept them on the node ports.
    CLOUDCORE_PORTS.forEach((p) => {
      const nodePort = nodePortOf(p.port);
      new alicloud.ecs.SecurityGroupRule(
        `${name}-sg-${p.name}`,
        { securityGroupId: args.nodeSecurityGroupId, type: "ingress", ipProtocol: p.protocol.toLowerCase(), portRange: `${nodePort}/${nodePort}`, cidrIp: "0.0.0.0/0", policy: "accept", description: `KubeEdge ${p.name} (${p.port}) from the devices` },
        child,
      );
    });

    // --- The guide's §2.6: DaemonSets other parties install stay off edge nodes, before CloudCore
    // exists, so that no edge node can join while they could still land on it ---
    const exclusions = ACK_DAEMONSETS.map(
      (ds) =>
        new EdgeDaemonSetExclusion(
          `${name}-exclude-${ds.name}`,
          { kubeconfig: args.kubeconfig, namespace: ds.namespace, name: ds.name, optional: !(ds.requiredWhenCreated && cfg.clusterMode === "create") },
          child,
        ),
    );

    // --- CloudCore ---
    const namespace = new k8s.core.v1.Namespace(`${name}-namespace`, { metadata: { name: KUBEEDGE_NAMESPACE } }, k8sOpts);
    const values = this.cloudCoreAddress.apply((address) =>
      cloudCoreValues({ replicas: ke.replicas, advertiseAddress: address, dnsName: this.cloudCoreHost, hubProtocol: ke.hubProtocol, edgeMesh: ke.edgeMesh }),
    );
    this.release = new k8s.helm.v3.Release(
      `${name}-cloudcore`,
      {
        name: "cloudcore",
        chart: CLOUDCORE_CHART_ARCHIVE,
        version: CHARTS.cloudcore.version,
        namespace: KUBEEDGE_NAMESPACE,
        values,
        atomic: true,
        cleanupOnFail: true,
        maxHistory: 5,
        timeout: 600,
      },
      { ...k8sOpts, dependsOn: [namespace, ...exclusions] },
    );
    for (const p of kubeEdgeNetworkPolicies()) new k8s.networking.v1.NetworkPolicy(`${name}-netpol-${p.metadata.name}`, p, { ...k8sOpts, dependsOn: [namespace] });
    new k8s.core.v1.Service(`${name}-cloudhub-service`, cloudHubService(loadBalancerId, ke.loadBalancer === "dedicated"), { ...k8sOpts, dependsOn: [this.release] });

    // --- The stream server's certificate, from the platform CA (the guide's certgen.sh stream) ---
    const streamKey = new tls.PrivateKey(`${name}-stream-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, child);
    const streamCsr = new tls.CertRequest(
      `${name}-stream-csr`,
      {
        privateKeyPem: streamKey.privateKeyPem,
        subject: { commonName: "cloudcore", organization: `EDP ${cfg.stage}` },
        dnsNames: [this.cloudCoreHost, `cloudcore.${KUBEEDGE_NAMESPACE}`, `cloudcore.${KUBEEDGE_NAMESPACE}.svc`],
        ipAddresses: [this.cloudCoreAddress],
      },
      child,
    );
    const streamCert = new tls.LocallySignedCert(
      `${name}-stream-cert`,
      {
        certRequestPem: streamCsr.certRequestPem,
        caCertPem: args.platformCa.certPem,
        caPrivateKeyPem: args.platformCa.keyPem,
        validityPeriodHours: 2 * 365 * 24,
        earlyRenewalHours: 30 * 24,
        allowedUses: ["digital_signature", "key_encipherment", "server_auth"],
      },
      child,
    );
    const b64 = (s: pulumi.Input<string>) => pulumi.output(s).apply((v) => Buffer.from(v, "utf8").toString("base64"));
    // The chart writes this Secret once, as a pre-install hook, with a CA it makes up; the patch
    // takes its three keys over (the hook does not run again on upgrades).
    const streamSecret = new k8s.core.v1.SecretPatch(
      `${name}-stream-secret`,
      {
        metadata: { name: CLOUDCORE_STREAM_SECRET, namespace: KUBEEDGE_NAMESPACE, annotations: { "pulumi.com/patchForce": "true" } },
        data: { "stream.crt": b64(streamCert.certPem), "stream.key": pulumi.secret(b64(streamKey.privateKeyPem)), "streamCA.crt": b64(args.platformCa.certPem) },
      },
      { ...k8sOpts, dependsOn: [this.release] },
    );
    // CloudCore reads the certificate at start: a new one rolls its pods.
    const restart = new k8s.apps.v1.DeploymentPatch(
      `${name}-cloudcore-restart`,
      {
        metadata: { name: CLOUDCORE_DEPLOYMENT, namespace: KUBEEDGE_NAMESPACE, annotations: { "pulumi.com/patchForce": "true" } },
        // The selector is the chart's own (Deployment requires one); the patch changes only the annotation.
        spec: { selector: { matchLabels: { ...CLOUDCORE_LABELS } }, template: { metadata: { annotations: { "edp/stream-certificate-sha256": streamCert.certPem.apply((pem) => createHash("sha256").update(pem).digest("hex")) } } } },
      },
      { ...k8sOpts, dependsOn: [streamSecret] },
    );

    // --- Join ---
    const token = new KubeEdgeToken(`${name}-token`, { kubeconfig: args.kubeconfig, attempts: 60, delayMs: 5_000 }, { ...child, dependsOn: [restart] });
    this.token = pulumi.secret(token.token);
    this.joinCommands = pulumi.secret(
      token.token.apply((t) =>
        Object.fromEntries(
          ke.nodes.map((n) => [
            n.name,
            joinCommand({
              node: n,
              cloudCoreHost: this.cloudCoreHost,
              hubProtocol: ke.hubProtocol,
              kubeEdgeVersion: KUBEEDGE_VERSION,
              runtimeEndpoint: ke.runtimeEndpoint,
              cgroupDriver: ke.cgroupDriver,
              edgeMesh: ke.edgeMesh,
              token: t,
            }),
          ]),
        ),
      ),
    );
    // Removal: a node that leaves the config is cordoned, its Node deleted and the token rotated.
    for (const n of ke.nodes) new KubeEdgeNodeMembership(`${name}-node-${n.name}`, { kubeconfig: args.kubeconfig, node: n.name }, { ...child, dependsOn: [this.release] });

    // --- EdgeMesh (optional): the agent on the edge nodes, a relay behind CloudCore's load balancer ---
    if (ke.edgeMesh) {
      const sha = (text: string) => createHash("sha256").update(text).digest("hex");
      const meshOpts = { ...k8sOpts, dependsOn: [namespace] };
      // Every agent and the relay must hold the same key: the operator's, or one generated once.
      const psk = cfg.secrets.edgeMeshPsk ?? new random.RandomBytes(`${name}-edgemesh-psk`, { length: 32 }, child).base64;
      const pskSecret = new k8s.core.v1.Secret(
        `${name}-edgemesh-psk`,
        { metadata: { name: EDGEMESH_PSK_SECRET, namespace: KUBEEDGE_NAMESPACE }, type: "Opaque", stringData: { psk: pulumi.secret(psk) } },
        meshOpts,
      );
      const crd = new k8s.apiextensions.v1.CustomResourceDefinition(`${name}-edgemesh-destinationrules`, destinationRuleCrd(), k8sOpts);
      const account = new k8s.core.v1.ServiceAccount(`${name}-edgemesh-account`, edgeMeshServiceAccount(), meshOpts);
      const role = new k8s.rbac.v1.ClusterRole(`${name}-edgemesh-role`, edgeMeshClusterRole(), k8sOpts);
      const binding = new k8s.rbac.v1.ClusterRoleBinding(`${name}-edgemesh-binding`, edgeMeshClusterRoleBinding(), { ...k8sOpts, dependsOn: [role, account] });
      // EdgeMesh's getting-started: the API server's own Service stays kube-proxy's.
      new k8s.core.v1.ServicePatch(
        `${name}-edgemesh-kubernetes-service`,
        { metadata: { name: "kubernetes", namespace: "default", labels: { [EDGEMESH_PROXY_NAME_LABEL]: "" }, annotations: { "pulumi.com/patchForce": "true" } } },
        k8sOpts,
      );
      const relays = this.cloudCoreAddress.apply((address) => edgeMeshRelays({ cloudRelay: ke.edgeMeshCloudRelay, loadBalancerAddress: address, relayNodes: ke.edgeMeshRelayNodes }));
      const agentConfig = relays.apply((r) => edgeMeshAgentConfig(r, "agent"));
      const agentCfg = new k8s.core.v1.ConfigMap(`${name}-edgemesh-agent-cfg`, edgeMeshConfigMap(`${EDGEMESH_AGENT}-cfg`, agentConfig), meshOpts);
      new k8s.apps.v1.DaemonSet(
        `${name}-edgemesh-agent`,
        edgeMeshAgentDaemonSet({ configHash: agentConfig.apply(sha), tolerations: edgeMeshAgentTolerations(ke.nodes) }),
        // EdgeCore's metaServer answers the agent only once CloudCore's dynamicController runs.
        { ...k8sOpts, dependsOn: [agentCfg, pskSecret, binding, crd, this.release] },
      );
      if (ke.edgeMeshCloudRelay) {
        const relayConfig = relays.apply((r) => edgeMeshAgentConfig(r, "relay"));
        const relayCfg = new k8s.core.v1.ConfigMap(`${name}-edgemesh-relay-cfg`, edgeMeshConfigMap(`${EDGEMESH_RELAY}-cfg`, relayConfig), meshOpts);
        new k8s.apps.v1.Deployment(
          `${name}-edgemesh-relay`,
          edgeMeshRelayDeployment({ configHash: relayConfig.apply(sha) }),
          { ...k8sOpts, dependsOn: [relayCfg, pskSecret, binding, crd] },
        );
        new k8s.core.v1.Service(`${name}-edgemesh-relay-service`, edgeMeshRelayService(loadBalancerId), meshOpts);
        new k8s.networking.v1.NetworkPolicy(`${name}-netpol-allow-edgemesh-relay`, edgeMeshRelayPolicy(), meshOpts);
        new alicloud.ecs.SecurityGroupRule(
          `${name}-sg-edgemesh-relay`,
          {
            securityGroupId: args.nodeSecurityGroupId,
            type: "ingress",
            ipProtocol: "tcp",
            portRange: `${EDGEMESH_RELAY_NODE_PORT}/${EDGEMESH_RELAY_NODE_PORT}`,
            cidrIp: "0.0.0.0/0",
            policy: "accept",
            description: `EdgeMesh relay (${EDGEMESH_TUNNEL_PORT}) from the devices`,
          },
          child,
        );
      }
    }

    // --- Chart-template deployments pinned to KubeEdge nodes ---
    if (ke.deployments.length > 0) {
      const workloads = new k8s.core.v1.Namespace(`${name}-workloads`, { metadata: { name: KUBEEDGE_WORKLOAD_NAMESPACE } }, k8sOpts);
      // Like every namespace the platform runs Pods in: nothing reaches them unless a policy says so
      // (enforced where the node's network plugin enforces policies; the rule is the platform's).
      new k8s.networking.v1.NetworkPolicy(
        `${name}-workloads-default-deny`,
        { metadata: { name: "default-deny-ingress", namespace: KUBEEDGE_WORKLOAD_NAMESPACE }, spec: { podSelector: {}, policyTypes: ["Ingress"] } },
        { ...k8sOpts, dependsOn: [workloads] },
      );
      for (const d of ke.deployments) {
        const template = cfg.chartTemplates[d.template];
        const node = ke.nodes.find((n) => n.name === d.node);
        if (!template || !node) throw new pulumi.ResourceError(`edp:kubeEdge.deployments: ${d.name} names a template or node that does not exist`, this);
        const oci = template.repository.startsWith("oci://");
        new k8s.helm.v3.Release(
          `${name}-deploy-${d.name}`,
          {
            name: d.name,
            chart: oci ? `${template.repository.replace(/\/$/, "")}/${template.chart}` : template.chart,
            version: template.version,
            ...(oci ? {} : { repositoryOpts: { repo: template.repository } }),
            namespace: KUBEEDGE_WORKLOAD_NAMESPACE,
            values: kubeEdgeDeploymentValues(cfg.stage, d, template, node, cfg.edgeSpecialisedTaintKey),
            // A device may be offline: the release is its desired state, as Flux's is on an edge cluster.
            skipAwait: true,
            maxHistory: 5,
          },
          { ...k8sOpts, dependsOn: [workloads, this.release] },
        );
      }
    }
    // The token and the join commands (one per edge node) are stack outputs; the component's state keeps where CloudCore is.
    this.registerOutputs({ cloudCoreHost: this.cloudCoreHost, cloudCoreAddress: this.cloudCoreAddress });
  }
}
