/**
 * The complete Apache configuration of the E3 host (Debian's apache2 package), rendered from
 * typed parameters so the tests can start the very same file on loopback ports and temp paths.
 *
 * Device certificates are verified at the TLS layer against the device CA and its CRL, but the
 * decision is made per location: `SSLVerifyClient optional` at the virtual host, and
 * `Require expr %{SSL_CLIENT_VERIFY} == 'SUCCESS'` everywhere except /onboarding/. A
 * per-location `SSLVerifyClient require` would need a TLS renegotiation, which TLS 1.3 and
 * HTTP/2 do not have.
 *
 * Who may write: devices only read (GET/HEAD on the registry and Notary, clone and fetch on Git);
 * pushes need an operator certificate, a certificate from the same device CA (so the same CRL
 * revokes it) whose subject carries OU=<operatorOu>. Vault's device role never sets an OU, so
 * a device cannot obtain one.
 */

/** Mozilla's "intermediate" server profile (ssl-config.mozilla.org, guideline 5.7). */
export const MOZILLA_INTERMEDIATE = {
  protocols: "-all +TLSv1.2 +TLSv1.3",
  ciphers: [
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305",
    "ECDHE-RSA-CHACHA20-POLY1305",
    "DHE-RSA-AES128-GCM-SHA256",
    "DHE-RSA-AES256-GCM-SHA384",
    "DHE-RSA-CHACHA20-POLY1305",
  ].join(":"),
} as const;

/**
 * Headers that carry the client certificate to the backends. Whatever a client sends under
 * these names (or their underscore spellings, which some frameworks treat as the same header)
 * is removed before Apache sets them from its own TLS variables.
 */
export const CLIENT_CERT_HEADERS = {
  verify: "X-SSL-Client-Verify",
  subject: "X-SSL-Client-S-DN",
  issuer: "X-SSL-Client-I-DN",
  serial: "X-SSL-Client-Serial",
  cert: "X-SSL-Client-Cert",
} as const;

/**
 * Every other header name a backend might take a client certificate from (ingress-nginx's
 * ssl-client-*, RFC 9440's Client-Cert, Envoy's X-Forwarded-Client-Cert, Traefik's, IIS's, ...).
 * A client must never be able to send one through E3, so each is removed and never set.
 */
export const FOREIGN_CLIENT_CERT_HEADERS = [
  "Ssl-Client-Cert",
  "Ssl-Client-Verify",
  "Ssl-Client-Subject-Dn",
  "Ssl-Client-Issuer-Dn",
  "Ssl-Client-Escaped-Cert",
  "Client-Cert",
  "Client-Cert-Chain",
  "X-Client-Cert",
  "X-Client-Certificate",
  "X-Client-Verify",
  "X-Client-DN",
  "X-Client-Subject",
  "X-SSL-Cert",
  "X-SSL-Client-DN",
  "X-SSL-Client-Escaped-Cert",
  "X-SSL-Client-Fingerprint",
  "X-Forwarded-Client-Cert",
  "X-Forwarded-Tls-Client-Cert",
  "X-Forwarded-Tls-Client-Cert-Info",
  "X-ARR-ClientCert",
  "X-Amzn-Mtls-Clientcert",
  "Remote-User",
  "X-Remote-User",
] as const;

/** The public host names E3 answers for (manual §4.2). */
export interface E3HostNames {
  docker: string;
  git: string;
  monitoring: string;
  onboarding: string;
  packages: string;
  access: string;
}

export interface ApacheParams {
  /** ServerRoot; relative paths in the config resolve against it. */
  serverRoot: string;
  /** Directory of Debian's Apache modules (/usr/lib/apache2/modules). */
  modulesDir: string;
  /** Address to listen on: "" for every address, "127.0.0.1" in tests. */
  listenAddress: string;
  httpsPort: number;
  httpPort: number;
  /** Unprivileged user and group the workers run as. */
  runUser: string;
  runGroup: string;
  pidFile: string;
  /** Runtime directory for mutexes, the cgid socket and the TLS session cache. */
  runtimeDir: string;
  logDir: string;
  /** Debian's mime.types. */
  mimeTypesFile: string;
  hosts: E3HostNames;
  tls: {
    certFile: string;
    keyFile: string;
    /** PEM bundle of the device CA chain that client certificates must chain to. */
    deviceCaFile: string;
    /** PEM CRLs for every CA in deviceCaFile (SSLCARevocationCheck chain). */
    crlFile: string;
  };
  /** Base URL of the cluster's ingress for the EDP services (manual §4.3: edp-service host). */
  serviceUrl: string;
  /** CA bundle that verifies the ingress's certificate, when serviceUrl is https. */
  serviceCaFile: string;
  /** docker-registry on loopback, e.g. http://127.0.0.1:5000. */
  registryUrl: string;
  /** notary-server on loopback, e.g. http://127.0.0.1:4443. */
  notaryUrl: string;
  /** Directory the Debian package repository is published from. */
  packagesDir: string;
  /** Root of the bare Git repositories served over HTTPS. */
  gitRoot: string;
  /** Git's CGI program (/usr/lib/git-core/git-http-backend). */
  gitHttpBackend: string;
  /** Web root for ACME HTTP-01 challenges on the plain HTTP port. */
  acmeWebroot: string;
  /** OU that marks an operator's certificate: the only certificates allowed to push. */
  operatorOu: string;
}

const MODULES = [
  "mpm_event",
  "authz_core",
  "authz_host",
  "alias",
  "mime",
  "dir",
  "env",
  "headers",
  "rewrite",
  "socache_shmcb",
  "ssl",
  "http2",
  "proxy",
  "proxy_http",
  "cgid",
  "reqtimeout",
];

const q = (s: string) => `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;

function indent(lines: string[], by = "  "): string[] {
  return lines.map((l) => (l === "" ? l : by + l));
}

/** Removes spoofable client-certificate headers, then sets them from Apache's TLS variables. */
export function clientCertHeaderLines(): string[] {
  const out: string[] = [];
  for (const name of [...Object.values(CLIENT_CERT_HEADERS), ...FOREIGN_CLIENT_CERT_HEADERS]) {
    out.push(`RequestHeader unset ${name} early`);
    out.push(`RequestHeader unset ${name.replace(/-/g, "_")} early`);
  }
  const verified = `"expr=%{SSL_CLIENT_VERIFY} == 'SUCCESS'"`;
  out.push(`RequestHeader set ${CLIENT_CERT_HEADERS.verify} "%{SSL_CLIENT_VERIFY}s"`);
  out.push(`RequestHeader set ${CLIENT_CERT_HEADERS.subject} "%{SSL_CLIENT_S_DN}s" ${verified}`);
  out.push(`RequestHeader set ${CLIENT_CERT_HEADERS.issuer} "%{SSL_CLIENT_I_DN}s" ${verified}`);
  out.push(`RequestHeader set ${CLIENT_CERT_HEADERS.serial} "%{SSL_CLIENT_M_SERIAL}s" ${verified}`);
  // The PEM's line breaks become spaces: a header value cannot hold a newline.
  out.push(`RequestHeader set ${CLIENT_CERT_HEADERS.cert} "%{SSL_CLIENT_CERT}s" ${verified}`);
  return out;
}

function tlsVhostLines(p: ApacheParams): string[] {
  return [
    "SSLEngine on",
    `SSLCertificateFile ${q(p.tls.certFile)}`,
    `SSLCertificateKeyFile ${q(p.tls.keyFile)}`,
    `SSLCACertificateFile ${q(p.tls.deviceCaFile)}`,
    `SSLCARevocationFile ${q(p.tls.crlFile)}`,
    "SSLCARevocationCheck chain",
    "SSLVerifyClient optional",
    "SSLVerifyDepth 3",
    'Header always set Strict-Transport-Security "max-age=63072000"',
    ...clientCertHeaderLines(),
    "",
    "# Every path needs a valid device certificate unless a later <Location> says otherwise.",
    '<Location "/">',
    "  Require expr %{SSL_CLIENT_VERIFY} == 'SUCCESS'",
    "</Location>",
  ];
}

/**
 * Requests whose raw path holds `;`, a backslash (plain or %5C), an encoded dot, slash or
 * semicolon, or a double encoding (%25) are refused before routing: Apache would pass such a
 * path unnormalised, and a Java or Go backend may read `/onboarding/..;/x` as `/x`, a path that
 * needs a certificate.
 */
export const UNSAFE_PATH_PATTERN = "^[A-Z]+ [^?# ]*(;|\\\\|%5[cC]|%25|%2[eEfF]|%3[bB])";

function refuseUnsafePaths(): string[] {
  return ["RewriteEngine on", `RewriteCond %{THE_REQUEST} ${q(UNSAFE_PATH_PATTERN)}`, "RewriteRule ^ - [F]"];
}

/** Reads for every valid certificate; anything else only with an operator's certificate. */
const readOrOperator = (p: ApacheParams) =>
  `Require expr %{SSL_CLIENT_VERIFY} == 'SUCCESS' && (%{REQUEST_METHOD} in {'GET', 'HEAD'} || %{SSL_CLIENT_S_DN_OU} == '${p.operatorOu}')`;

function vhost(p: ApacheParams, serverName: string, aliases: string[], body: string[]): string[] {
  return [
    `<VirtualHost ${p.listenAddress || "*"}:${p.httpsPort}>`,
    `  ServerName ${serverName}`,
    ...(aliases.length ? [`  ServerAlias ${aliases.join(" ")}`] : []),
    ...indent(tlsVhostLines(p)),
    "",
    ...indent(body),
    "</VirtualHost>",
    "",
  ];
}

function proxyTo(path: string, base: string): string[] {
  const target = `${base.replace(/\/+$/, "")}${path}`;
  return [`ProxyPass ${q(path)} ${q(target)}`, `ProxyPassReverse ${q(path)} ${q(target)}`];
}

/** Renders /etc/apache2/apache2.conf (the whole configuration; Debian's conf.d layout is not used). */
export function renderApacheConfig(p: ApacheParams): string {
  const listen = (port: number) => (p.listenAddress ? `${p.listenAddress}:${port}` : `${port}`);
  const httpsSuffix = p.httpsPort === 443 ? "" : `:${p.httpsPort}`;
  const serviceTls = p.serviceUrl.startsWith("https://");
  const lines: string[] = [
    "# Rendered by the EDP Pulumi program (components/e3/render/apache.ts). Changes made here are",
    "# overwritten by the next `pulumi up`.",
    `ServerRoot ${q(p.serverRoot)}`,
    `PidFile ${q(p.pidFile)}`,
    `DefaultRuntimeDir ${q(p.runtimeDir)}`,
    `Mutex file:${p.runtimeDir} default`,
    ...MODULES.map((m) => `LoadModule ${m}_module ${q(`${p.modulesDir}/mod_${m}.so`)}`),
    `User ${p.runUser}`,
    `Group ${p.runGroup}`,
    `Listen ${listen(p.httpPort)}`,
    `Listen ${listen(p.httpsPort)} https`,
    "ServerTokens Prod",
    "ServerSignature Off",
    "TraceEnable Off",
    "Timeout 300",
    "KeepAlive On",
    "HostnameLookups Off",
    `TypesConfig ${q(p.mimeTypesFile)}`,
    `ErrorLog ${q(`${p.logDir}/error.log`)}`,
    "LogLevel warn",
    'LogFormat "%h %{SSL_CLIENT_M_SERIAL}x \\"%{SSL_CLIENT_S_DN}x\\" %t \\"%r\\" %>s %b %{SSL_PROTOCOL}x %{SSL_CLIENT_VERIFY}x %D" e3',
    `CustomLog ${q(`${p.logDir}/access.log`)} e3`,
    `ScriptSock ${q(`${p.runtimeDir}/cgid.sock`)}`,
    "",
    "<Directory />",
    "  AllowOverride None",
    "  Require all denied",
    "</Directory>",
    "",
    "# TLS: Mozilla intermediate (TLS 1.2 and 1.3).",
    `SSLProtocol ${MOZILLA_INTERMEDIATE.protocols}`,
    `SSLCipherSuite ${MOZILLA_INTERMEDIATE.ciphers}`,
    "SSLHonorCipherOrder off",
    "SSLSessionTickets off",
    `SSLSessionCache ${q(`shmcb:${p.runtimeDir}/ssl_scache(512000)`)}`,
    "SSLSessionCacheTimeout 300",
    "SSLRandomSeed startup builtin",
    "SSLRandomSeed connect builtin",
    "# Slow clients cannot hold workers: headers within 20-40 s, then at least 500 bytes/s.",
    "RequestReadTimeout header=20-40,MinRate=500 body=20,MinRate=500",
    "Protocols h2 http/1.1",
    "",
    "ProxyRequests Off",
    "ProxyTimeout 300",
    ...(serviceTls
      ? ["SSLProxyEngine on", "SSLProxyVerify require", "SSLProxyCheckPeerName on", "SSLProxyCheckPeerExpire on", `SSLProxyCACertificateFile ${q(p.serviceCaFile)}`]
      : []),
    "",
    "# Plain HTTP serves ACME challenges only and redirects everything else to HTTPS.",
    `<VirtualHost ${p.listenAddress || "*"}:${p.httpPort}>`,
    `  ServerName ${p.hosts.onboarding}`,
    "  ServerAlias *",
    `  Alias "/.well-known/acme-challenge/" ${q(`${p.acmeWebroot}/.well-known/acme-challenge/`)}`,
    `  <Directory ${q(`${p.acmeWebroot}/.well-known/acme-challenge`)}>`,
    "    Require all granted",
    "  </Directory>",
    "  RewriteEngine on",
    "  RewriteCond %{REQUEST_URI} !^/\\.well-known/acme-challenge/",
    `  RewriteRule ^ https://%{SERVER_NAME}${httpsSuffix}%{REQUEST_URI} [R=301,L]`,
    "</VirtualHost>",
    "",
    "# The first HTTPS virtual host answers names it does not know (and clients without SNI): nothing.",
    ...vhost(p, `unknown.${p.hosts.access}`, [], ['<Location "/">', "  Require all denied", "</Location>"]),
    "# EDP services in the cluster (manual §4.3): onboarding without a certificate, the rest with one.",
    ...vhost(p, p.hosts.onboarding, [p.hosts.monitoring, p.hosts.access], [
      ...refuseUnsafePaths(),
      ...proxyTo("/onboarding/", p.serviceUrl),
      ...proxyTo("/monitoring/", p.serviceUrl),
      ...proxyTo("/vault/", p.serviceUrl),
      '<Location "/onboarding/">',
      "  Require all granted",
      "</Location>",
    ]),
    "# Docker registry, and Notary for Docker Content Trust under the same name: Notary's paths",
    "# (/v2/<name>/_trust/...) must be matched before the registry's /v2/. Devices pull; pushes",
    "# (to the registry and to Notary) need an operator's certificate.",
    ...vhost(p, p.hosts.docker, [], [
      ...refuseUnsafePaths(),
      '<Location "/">',
      `  ${readOrOperator(p)}`,
      "</Location>",
      "LimitRequestBody 0",
      'RequestHeader set X-Forwarded-Proto "https"',
      "ProxyPreserveHost On",
      `ProxyPassMatch "^/(v2/.+/_trust/.*)$" ${q(`${p.notaryUrl.replace(/\/+$/, "")}/$1`)}`,
      ...proxyTo("/_notary_server/", p.notaryUrl),
      `ProxyPass "/v2/" ${q(`${p.registryUrl.replace(/\/+$/, "")}/v2/`)} nocanon`,
      `ProxyPassReverse "/v2/" ${q(`${p.registryUrl.replace(/\/+$/, "")}/v2/`)}`,
    ]),
    "# Git over HTTPS: devices clone and fetch; a push (git-receive-pack) needs an operator's",
    "# certificate, whose CN git-http-backend sees as REMOTE_USER (it refuses pushes without one).",
    ...vhost(p, p.hosts.git, [], [
      ...refuseUnsafePaths(),
      "SSLUserName SSL_CLIENT_S_DN_CN",
      `SetEnv GIT_PROJECT_ROOT ${q(p.gitRoot)}`,
      "SetEnv GIT_HTTP_EXPORT_ALL 1",
      // The repositories belong to their maintainers, the CGI runs as the web user: without this,
      // git refuses them as "dubious ownership". Only GIT_PROJECT_ROOT is served either way.
      "SetEnv GIT_CONFIG_COUNT 1",
      "SetEnv GIT_CONFIG_KEY_0 safe.directory",
      'SetEnv GIT_CONFIG_VALUE_0 "*"',
      `ScriptAlias "/" ${q(`${p.gitHttpBackend}/`)}`,
      `<Directory ${q(p.gitHttpBackend.replace(/\/[^/]+$/, ""))}>`,
      "  Options +ExecCGI",
      "  Require expr %{SSL_CLIENT_VERIFY} == 'SUCCESS'",
      "</Directory>",
      // A <Location> (not the <Directory> above): Location sections are merged last, and this one
      // replaces the virtual host's certificate-only <Location "/">.
      '<Location "/">',
      `  Require expr %{SSL_CLIENT_VERIFY} == 'SUCCESS' && (%{SSL_CLIENT_S_DN_OU} == '${p.operatorOu}' || !(%{QUERY_STRING} =~ /service=git-receive-pack/ || %{REQUEST_URI} =~ m#/git-receive-pack$#))`,
      "</Location>",
    ]),
    "# Debian package repository (mirrored from the master repository, signed upstream).",
    ...vhost(p, p.hosts.packages, [], [
      `DocumentRoot ${q(p.packagesDir)}`,
      `<Directory ${q(p.packagesDir)}>`,
      "  Options -Indexes +FollowSymLinks",
      "  Require expr %{SSL_CLIENT_VERIFY} == 'SUCCESS'",
      "</Directory>",
    ]),
  ];
  return `${lines.join("\n")}\n`;
}
