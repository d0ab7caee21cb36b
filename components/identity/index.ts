export { issuerUrlFor, KEYCLOAK_HTTP_PORT, KEYCLOAK_MANAGEMENT_PORT, Keycloak, type KeycloakArgs, keycloakEnv, keycloakHost, PUBLIC_PATHS, REALM_FILE, realmApplyJob, realmChecksum } from "./keycloak";
export { GRAFANA_CLIENT_ID, PORTAL_CLIENT_ID, envRefsIn, REALM, REALM_ENV_REFS, REALM_ROLES, type RealmInput, realmJson, renderRealm, resolveRealm } from "./realm";
