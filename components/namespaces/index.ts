export { NAMESPACE_ROLES, type NamespaceRole, PLATFORM_NAMESPACES, PlatformNamespaces, type PlatformNamespacesArgs, podSecurityLabels } from "./namespaces";
