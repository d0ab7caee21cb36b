/** The namespaces each policy covers on the central cluster. */
import { PLATFORM_NAMESPACES as NS } from "../namespaces";
import type { PolicyScopes } from "./policies";

/**
 * Pod security covers the namespaces whose Pods this repository or a well-behaved chart defines;
 * monitoring and loki run node agents that need host access (their Pod Security label says so).
 * Limits are refused where we write the Pods, and reported where a chart does.
 */
export const PLATFORM_POLICY_SCOPES: PolicyScopes = {
  podSecurity: [NS.edp.name, NS.keycloak.name, NS.ingress.name, NS.certManager.name],
  limitsEnforced: [NS.edp.name, NS.keycloak.name],
  limitsAudited: [NS.ingress.name, NS.certManager.name, NS.monitoring.name, NS.loki.name, "postgres", "vault"],
};
