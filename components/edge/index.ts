export { type EdgeClusterOutputs, EdgeClusters, type EdgeClustersArgs } from "./edge";
