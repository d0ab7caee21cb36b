/**
 * The platform realm, rendered by a pure function. Every secret in it is first a `${ENV_VAR}`
 * reference (a key of the keycloak-realm-secrets Secret), so the realm can be reviewed and
 * tested without values; `resolveRealm` puts the values in, and the result lives only in a
 * Kubernetes Secret that keycloak-config-cli applies on every change (keycloak.ts).
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
        // userLabel "initial": keycloak-config-cli sets this password when it creates the user,
        // never again, so re-applying the realm does not undo the change made at first login.
        credentials: [{ type: "password", value: envRef(REALM_ENV_REFS.adminPassword), temporary: true, userLabel: "initial" }],
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

/**
 * Replaces each `${VAR}` reference in the realm JSON by its value (JSON-escaped). Fails, naming
 * them, when a reference has no value, rather than applying a realm with a literal `${VAR}` as a
 * client secret.
 */
export function resolveRealm(json: string, values: Record<string, string>): string {
  const missing = envRefsIn(json).filter((name) => values[name] === undefined);
  if (missing.length > 0) throw new Error(`the realm references ${missing.join(", ")}, which keycloak-realm-secrets does not provide`);
  return json.replace(/\$\{([A-Z_][A-Z0-9_]*)(?::[^}]*)?\}/g, (_ref, name: string) => JSON.stringify(values[name]).slice(1, -1));
}
