export { HTTP_PORT, MANAGEMENT_PORT, ROUTE_HOSTS, type Route, type Runtime, SERVICE_CATALOG, type ServiceSpec } from "./catalog";
export { EdpServices, type EdpServicesArgs, type ServiceDatabase, type ServiceVaultAccess } from "./edp-services";
export {
  type DatabaseConnection,
  databaseSecretData,
  databaseSecretName,
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
  VAULT_CA_MOUNT,
  type VaultClient,
  vaultEnv,
} from "./render";
