/**
 * What the server of a site puts into K3s's auto-deploy directory
 * (/var/lib/rancher/k3s/server/manifests, applied by K3s's deploy controller, which retries until
 * the CRDs exist): Calico's global policies of seed 004, and Flux as a K3s HelmChart, so the site
 * pulls its desired state from OSS like every edge cluster.
 */
import { plainYaml } from "../shared/yaml";
import { FLUX_CHART_VALUES, FLUX_NAMESPACE, SEALED_SECRETS_NAMESPACE } from "../edge/manifests";
import type { KubeObject } from "../edge/templates";
import { CHARTS } from "../versions";

export const K3S_MANIFESTS_DIR = "/var/lib/rancher/k3s/server/manifests";

/** Namespaces that keep their own traffic: the cluster's system and the desired-state sync (Flux must reach OSS). */
export const POLICY_EXEMPT_NAMESPACES = ["kube-system", "calico-system", FLUX_NAMESPACE, ...(SEALED_SECRETS_NAMESPACE === "kube-system" ? [] : [SEALED_SECRETS_NAMESPACE])];

/**
 * Seed 004's global policies: allow-ping (ICMP and ICMPv6, everywhere) and default-deny (every
 * other namespace may only reach DNS until its own policies allow more). The manifest install
 * of Calico serves these as crd.projectcalico.org/v1 without the Calico API server.
 */
export function calicoGlobalPolicies(): KubeObject[] {
  const exempt = POLICY_EXEMPT_NAMESPACES.map((n) => `'${n}'`).join(", ");
  return [
    {
      apiVersion: "crd.projectcalico.org/v1",
      kind: "GlobalNetworkPolicy",
      metadata: { name: "allow-ping" },
      spec: {
        order: 100,
        selector: "all()",
        types: ["Ingress"],
        ingress: [
          { action: "Allow", protocol: "ICMP", icmp: { type: 8 } },
          { action: "Allow", protocol: "ICMPv6", icmp: { type: 128 } },
        ],
      },
    },
    {
      apiVersion: "crd.projectcalico.org/v1",
      kind: "GlobalNetworkPolicy",
      metadata: { name: "default-deny" },
      spec: {
        order: 2000,
        namespaceSelector: `projectcalico.org/name not in {${exempt}}`,
        types: ["Ingress", "Egress"],
        egress: [
          { action: "Allow", protocol: "UDP", destination: { selector: "k8s-app == 'kube-dns'", namespaceSelector: "projectcalico.org/name == 'kube-system'", ports: [53] } },
          { action: "Allow", protocol: "TCP", destination: { selector: "k8s-app == 'kube-dns'", namespaceSelector: "projectcalico.org/name == 'kube-system'", ports: [53] } },
        ],
      },
    },
  ];
}

/** Flux through K3s's own Helm controller, same chart and values as the directly bootstrapped clusters. */
export function fluxHelmChart(): KubeObject {
  return {
    apiVersion: "helm.cattle.io/v1",
    kind: "HelmChart",
    metadata: { name: "flux2", namespace: "kube-system" },
    spec: {
      repo: CHARTS.flux2.repository,
      chart: CHARTS.flux2.chart,
      version: CHARTS.flux2.version,
      targetNamespace: FLUX_NAMESPACE,
      createNamespace: true,
      valuesContent: plainYaml(FLUX_CHART_VALUES),
    },
  };
}
