export { type EdgeClusterOutputs, EdgeClusters, type EdgeClustersArgs } from "./edge";
export { EdgeFleetStatus, type EdgeFleetStatusArgs } from "./fleet-exporter";
export { STATUS_FILE as EDGE_STATUS_FILE } from "./status";
