/**
 * Seed 002's chart-template deployments on a KubeEdge node: the same templates and the same
 * `{{uuid}}`/`{{name}}`/`{{hostname}}` substitution as on an edge cluster, installed as a Helm
 * release on the central cluster (the node is one of its nodes) and pinned to the node by host
 * name. Pure.
 */
import type { KubeEdgeInput } from "../../config/kubeedge";
import { type ChartTemplate, HOSTNAME_LABEL, mergeValues, substitute } from "../edge/templates";
import { EDGE_UUID_NAMESPACE, uuidV5 } from "../edge/uuid";
import { EDGE_TOLERATION } from "./values";

/** Namespace of the KubeEdge deployments' releases and pods. */
export const KUBEEDGE_WORKLOAD_NAMESPACE = "edp-kubeedge";

type KubeEdgeDeployment = KubeEdgeInput["deployments"][number];
type KubeEdgeNode = KubeEdgeInput["nodes"][number];

/** `{{uuid}}` of a KubeEdge deployment: stable across runs; ':' keeps it apart from every edge cluster's. */
export const kubeEdgeDeploymentUuid = (stage: string, deployment: string) => uuidV5(`kubeedge:${stage}/${deployment}`, EDGE_UUID_NAMESPACE);

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Values a KubeEdge deployment is installed with: template, then deployment values, substituted
 * (the node's name is its host name), then placement: a nodeSelector on the node's host name and
 * tolerations of the edge role taint, the node's own taints and the specialised taint, appended
 * to the chart's conventional `nodeSelector` and `tolerations` values. taintKey is edp:edgeSpecialisedTaintKey.
 */
export function kubeEdgeDeploymentValues(stage: string, d: KubeEdgeDeployment, template: ChartTemplate, node: KubeEdgeNode, taintKey: string): Record<string, unknown> {
  const vars = { uuid: kubeEdgeDeploymentUuid(stage, d.name), name: d.name, hostname: node.name };
  const values = substitute(mergeValues(template.values, d.values), vars, d.name) as Record<string, unknown>;
  const nodeSelector = isRecord(values.nodeSelector) ? values.nodeSelector : {};
  const tolerations = Array.isArray(values.tolerations) ? values.tolerations : [];
  return {
    ...values,
    nodeSelector: { ...nodeSelector, [HOSTNAME_LABEL]: node.name },
    tolerations: [
      ...tolerations,
      { ...EDGE_TOLERATION },
      ...node.taints.map((t) => ({ key: t.key, operator: "Equal", value: t.value, effect: t.effect })),
      { key: taintKey, operator: "Exists" },
    ],
  };
}
