export { HTTP_PORT, MANAGEMENT_PORT, ROUTE_HOSTS, type Route, type Runtime, SERVICE_CATALOG, type ServiceSpec } from "./catalog";
export { EdpServices, type EdpServicesArgs } from "./edp-services";
export {
  deploymentArgs,
  imageFor,
  ingressArgs,
  labelsFor,
  METRICS_LABEL,
  PART_OF_LABEL,
  replicasFor,
  resourcesFor,
  routeHost,
  routeTable,
  type ServiceContext,
  selectorLabels,
  serviceArgs,
  serviceEnv,
} from "./render";
