export { CLOUDCORE_DNS_NAME, KubeEdge, type KubeEdgeArgs } from "./kubeedge";
export { CLOUDCORE_PORTS, EDGE_EXCLUSION, EDGE_ROLE_LABEL, EDGE_TAINT, EDGE_TOLERATION, excludeEdgeNodes, keepsOffEdgeNodes } from "./values";
