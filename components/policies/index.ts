export { Kyverno, type KyvernoArgs } from "./kyverno";
export {
  baselinePodSecurity,
  type ClusterPolicyObject,
  disallowLatestTag,
  namespaceCondition,
  type PolicyScopes,
  platformPolicies,
  RECOVERY_NAMESPACES,
  requireResourceLimits,
} from "./policies";
export { kyvernoValues } from "./values";
export { PLATFORM_POLICY_SCOPES } from "./scopes";
