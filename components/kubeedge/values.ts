/**
 * What CloudCore is installed with, and the placement rules that keep central workloads off
 * KubeEdge nodes. Pure: typed input in, Helm values and Kubernetes fragments out.
 */
import { KUBEEDGE_VERSION } from "../versions";
import { EDGE_TOLERATION } from "./cluster-facts";

export * from "./cluster-facts";

export interface CloudCorePort {
  name: string;
  port: number;
  protocol: "TCP" | "UDP";
  /** Who connects, for the README and messages. */
  use: string;
}

/**
 * The ports of the guide's firewall table (seed 003, "Master Node"), as CloudCore 1.23 listens on
 * them (the chart's configmap): the listeners of CloudCore's load balancer are exactly these.
 */
export const CLOUDCORE_PORTS: readonly CloudCorePort[] = [
  { name: "cloudhub", port: 10000, protocol: "TCP", use: "EdgeCore to CloudHub (websocket)" },
  { name: "cloudhub-quic", port: 10001, protocol: "UDP", use: "EdgeCore to CloudHub (quic)" },
  { name: "cloudhub-https", port: 10002, protocol: "TCP", use: "keadm join: the node's certificate, against the token" },
  { name: "cloudstream", port: 10003, protocol: "TCP", use: "the API server's kubectl logs/exec, through iptables-manager's DNAT of port 10350" },
  { name: "tunnelport", port: 10004, protocol: "TCP", use: "EdgeCore's edgeStream tunnel" },
];

export interface CloudCoreValuesInput {
  replicas: number;
  /** Address the devices reach CloudHub on (the load balancer's): CloudCore puts it in its certificate. */
  advertiseAddress: string;
  /** DNS name of that address (`edp-cloudcore.api.<stage>.<zone>`), also in the certificate. */
  dnsName: string;
  hubProtocol: "websocket" | "quic";
  edgeMesh: boolean;
}

/** Values of the cloudcore chart. */
export function cloudCoreValues(input: CloudCoreValuesInput) {
  const image = { tag: KUBEEDGE_VERSION };
  return {
    cloudCore: {
      replicaCount: input.replicas,
      // On the pod network, so that the namespace's NetworkPolicies apply to CloudCore and the
      // load balancer's Service reaches it like any pod (the chart's host-network default opens
      // ports 10000-10004 on every node).
      hostNetWork: false,
      image,
      modules: {
        cloudHub: {
          advertiseAddress: [input.advertiseAddress],
          dnsNames: [input.dnsName],
          websocket: { enable: true },
          quic: { enable: input.hubProtocol === "quic" },
          https: { enable: true },
        },
        // The guide's §2.7: kubectl logs/exec to edge pods.
        cloudStream: { enable: true },
        // The guide's §2.8: EdgeMesh needs CloudCore's dynamicController.
        dynamicController: { enable: input.edgeMesh },
      },
      // The load balancer's Service is the program's own (exactly the guide's ports); the chart's
      // would be a NodePort Service on 30000-30004 once CloudCore leaves the host network.
      service: { enable: false },
    },
    iptablesManager: { image },
    controllerManager: { image },
    admission: { image },
    // The chart's MQTT broker for EdgeCore's eventBus runs on the edge nodes, so it tolerates their taint.
    mosquitto: { tolerations: [{ ...EDGE_TOLERATION }] },
  };
}
