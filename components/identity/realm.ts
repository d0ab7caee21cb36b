/**
 * The platform realm Keycloak imports at start. Rendered by a pure function; every secret in it
 * is a `${ENV_VAR}` reference that Keycloak resolves from its environment while importing, so
 * the ConfigMap that carries the JSON holds no secret.
 */

export const REALM = "edp";
export const GRAFANA_CLIENT_ID = "grafana";
export const PORTAL_CLIENT_ID = "edp-portal";
/** Realm roles: Grafana maps the first two to its Admin and Editor roles. */
export const REALM_ROLES = ["grafana-admin", "grafana-editor", "edp-admin"] as const;
/** Environment variables the realm import reads (keys of the keycloak-realm-secrets Secret). */
export const REALM_ENV_REFS = { grafanaClientSecret: "GRAFANA_CLIENT_SECRET", adminPassword: "EDP_ADMIN_PASSWORD" } as const;

export interface RealmInput {
  /** Grafana's host (grafana.api.<stage>.<zone>). */
  grafanaHost: string;
  /** The portal's host (edp-portal.api.<stage>.<zone>). */
  portalHost: string;
}

const envRef = (name: string) => `\${${name}}`;

const rolesMapper = {
  name: "realm roles",
  protocol: "openid-connect",
  protocolMapper: "oidc-usermodel-realm-role-mapper",
  config: {
    "claim.name": "roles",
    "jsonType.label": "String",
    multivalued: "true",
    "id.token.claim": "true",
    "access.token.claim": "true",
    "userinfo.token.claim": "true",
  },
};

export function renderRealm(input: RealmInput): Record<string, unknown> {
  const grafana = `https://${input.grafanaHost}`;
  const portal = `https://${input.portalHost}`;
  return {
    realm: REALM,
    enabled: true,
    displayName: "Edge Device Platform",
    sslRequired: "external",
    registrationAllowed: false,
    loginWithEmailAllowed: true,
    bruteForceProtected: true,
    roles: { realm: REALM_ROLES.map((name) => ({ name })) },
    clients: [
      {
        clientId: GRAFANA_CLIENT_ID,
        name: "Grafana",
        protocol: "openid-connect",
        enabled: true,
        publicClient: false,
        clientAuthenticatorType: "client-secret",
        secret: envRef(REALM_ENV_REFS.grafanaClientSecret),
        standardFlowEnabled: true,
        directAccessGrantsEnabled: false,
        serviceAccountsEnabled: false,
        redirectUris: [`${grafana}/login/generic_oauth`],
        webOrigins: [grafana],
        attributes: { "pkce.code.challenge.method": "S256", "post.logout.redirect.uris": `${grafana}/*` },
        protocolMappers: [rolesMapper],
      },
      {
        // The portal is a browser application: a public client with PKCE, no secret to leak.
        clientId: PORTAL_CLIENT_ID,
        name: "EDP portal",
        protocol: "openid-connect",
        enabled: true,
        publicClient: true,
        standardFlowEnabled: true,
        directAccessGrantsEnabled: false,
        redirectUris: [`${portal}/device-management/*`],
        webOrigins: [portal],
        attributes: { "pkce.code.challenge.method": "S256", "post.logout.redirect.uris": `${portal}/device-management/*` },
        protocolMappers: [rolesMapper],
      },
    ],
    users: [
      {
        // The manual's "admin" with all permissions (§3.9.5); the password must be changed at first login.
        username: "admin",
        enabled: true,
        emailVerified: false,
        credentials: [{ type: "password", value: envRef(REALM_ENV_REFS.adminPassword), temporary: true }],
        realmRoles: [...REALM_ROLES],
      },
    ],
  };
}

/** The realm as the JSON file Keycloak imports. */
export function realmJson(input: RealmInput): string {
  return `${JSON.stringify(renderRealm(input), null, 2)}\n`;
}

/** Names of the `${VAR}` environment references in a text, sorted and unique. */
export function envRefsIn(text: string): string[] {
  return [...new Set([...text.matchAll(/\$\{([A-Z_][A-Z0-9_]*)(?::[^}]*)?\}/g)].map((m) => m[1]))].sort();
}
