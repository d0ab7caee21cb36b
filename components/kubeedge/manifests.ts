/**
 * The Kubernetes objects around CloudCore: the load balancer's Service and the namespace's
 * NetworkPolicies. Pure data, validated against the Kubernetes schemas by the tests.
 */
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { LB_ID_ANNOTATION, LB_OVERRIDE_LISTENERS_ANNOTATION } from "../ingress/values";
import { CLOUDCORE_LABELS, CLOUDCORE_PORTS, KUBEEDGE_NAMESPACE } from "./values";

export const CLOUDHUB_SERVICE = "cloudcore-edge";
/** The node ports behind the listeners (the chart's own defaults, 30000-30004), fixed so the security group can name them. */
export const NODE_PORT_BASE = 30000;
export const nodePortOf = (port: number) => NODE_PORT_BASE + (port - CLOUDCORE_PORTS[0].port);

/**
 * A LoadBalancer Service bound to an existing Alibaba load balancer (the dedicated one the
 * program creates, or the stage's): the cloud controller manager makes one listener per port and
 * keeps the backends current as nodes come and go. Its ports are exactly CloudCore's five.
 */
export function cloudHubService(loadBalancerId: pulumi.Input<string>, overrideListeners: boolean): k8s.types.input.core.v1.Service & { metadata: { name: string; namespace: string } } {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: {
      name: CLOUDHUB_SERVICE,
      namespace: KUBEEDGE_NAMESPACE,
      annotations: {
        [LB_ID_ANNOTATION]: loadBalancerId,
        // On CloudCore's own balancer the Service owns every listener; on the stage's, the
        // ingress controller's listeners stay and these five are added beside them.
        [LB_OVERRIDE_LISTENERS_ANNOTATION]: overrideListeners ? "true" : "false",
      },
    },
    spec: {
      type: "LoadBalancer",
      // Keeps the devices' addresses, and sends traffic only to nodes running CloudCore.
      externalTrafficPolicy: "Local",
      selector: { ...CLOUDCORE_LABELS },
      ports: CLOUDCORE_PORTS.map((p) => ({ name: p.name, port: p.port, targetPort: p.port, protocol: p.protocol, nodePort: nodePortOf(p.port) })),
    },
  };
}

type Policy = k8s.types.input.networking.v1.NetworkPolicy & { apiVersion: "networking.k8s.io/v1"; metadata: { name: string; namespace: string } };

/**
 * Ingress into the kubeedge namespace: nothing but CloudCore's five ports, from anywhere (the
 * devices connect from wherever they are, through the load balancer, and the API server's
 * stream connections arrive through iptables-manager's DNAT). Egress stays open: CloudCore talks
 * to the API server, whose address a managed ACK control plane does not pin.
 */
export function kubeEdgeNetworkPolicies(): Policy[] {
  const policy = (name: string, spec: k8s.types.input.networking.v1.NetworkPolicySpec): Policy => ({ apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name, namespace: KUBEEDGE_NAMESPACE }, spec });
  return [
    policy("default-deny-ingress", { podSelector: {}, policyTypes: ["Ingress"] }),
    policy("allow-cloudcore-ports", {
      podSelector: { matchLabels: { ...CLOUDCORE_LABELS } },
      policyTypes: ["Ingress"],
      ingress: [{ from: [{ ipBlock: { cidr: "0.0.0.0/0" } }], ports: CLOUDCORE_PORTS.map((p) => ({ protocol: p.protocol, port: p.port })) }],
    }),
  ];
}
