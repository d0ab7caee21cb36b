/**
 * Every file of the E3 host in production, rendered from resolved settings, and the host steps
 * that put a changed file into effect. The component resolves its outputs into E3Settings and
 * hands the result to renderApplyScript.
 */
import { E3_PORTS } from "../../../config/limits";
import { type ApacheParams, type E3HostNames, renderApacheConfig } from "./apache";
import { type AcmeParams, renderAcmeHook, renderCertRenewScript, renderCertRenewUnits, renderDehydratedConfig, renderDehydratedDomains } from "./acme";
import type { E3Dir, E3File, ManagedDir } from "./apply";
import { renderCrlRefreshScript, renderCrlRefreshService, renderCrlRefreshTimer } from "./crl-refresh";
import {
  renderDataDiskScript,
  renderNodeExporterDefaults,
  renderPackageSyncScript,
  renderPackageSyncUnits,
  renderSshdConfig,
  splitPemCertificates,
} from "./host";
import {
  type NotaryParams,
  renderNotaryDatabaseSql,
  renderNotaryServerConfig,
  renderNotarySignerConfig,
  renderNotarySignerEnv,
  renderNotaryUnit,
} from "./notary";
import { renderRegistryConfig, renderRegistryDropIn } from "./registry";

/** Where things live on the E3 host. */
export const E3_LAYOUT = {
  dataMount: "/srv/edp",
  dataLabel: "edp-data",
  registryDir: "/srv/edp/registry",
  gitRoot: "/srv/edp/git",
  packagesDir: "/srv/edp/packages/public",
  acmeWebroot: "/var/www/acme",
  tlsDir: "/etc/edp/tls",
  deviceCaFile: "/etc/edp/tls/device-ca.pem",
  crlFile: "/etc/edp/tls/device-crl.pem",
  serverCertFile: "/etc/edp/tls/server.pem",
  serverKeyFile: "/etc/edp/tls/server.key",
  /** The certificate Pulumi makes (platform CA): Apache's until ACME delivers one. */
  bootstrapCertFile: "/etc/edp/tls/bootstrap.pem",
  bootstrapKeyFile: "/etc/edp/tls/bootstrap.key",
  acmeMarker: "/etc/edp/tls/server.acme",
  /** Platform CA (and edp:e3.customCaBundle): verifies the ingress for proxying and the CRL download. */
  serviceCaFile: "/etc/edp/tls/service-ca.pem",
  systemCaBundle: "/etc/ssl/certs/ca-certificates.crt",
  customCaDir: "/usr/local/share/ca-certificates/edp",
  textfileDir: "/var/lib/prometheus/node-exporter",
  crlRefreshScript: "/usr/local/sbin/edp-crl-refresh",
  certRenewScript: "/usr/local/sbin/edp-cert-renew",
  acmeHook: "/usr/local/sbin/edp-acme-hook",
  notaryDatabaseSql: "/etc/edp/notary-database.sql",
  dataDiskScript: "/usr/local/sbin/edp-data-disk",
  packageSyncScript: "/usr/local/bin/sync-packages",
  packagesHome: "/home/packages",
  // Ports from config/limits.ts, where the config checks edp:e3 ports against them.
  registryListen: `127.0.0.1:${E3_PORTS.registry}`,
  notaryServerListen: `127.0.0.1:${E3_PORTS.notaryServer}`,
  notarySignerPort: E3_PORTS.notarySigner,
  notaryDir: "/etc/notary",
  deployUser: "edp-deploy",
  /** OU of operator certificates: the only ones allowed to push (registry, Notary, Git). */
  operatorOu: "edp-operators",
} as const;

export interface E3Settings {
  stage: string;
  hosts: E3HostNames;
  /** https://<edp-service internal host> */
  serviceUrl: string;
  crlUrl: string;
  deviceCaPem: string;
  /** Bootstrap server certificate followed by its issuer chain (the platform CA). */
  serverCertPem: string;
  serverKeyPem: string;
  /** The platform CA: the ingress's and Vault's certificates chain to it. */
  platformCaPem: string;
  acme: { directoryUrl: string; email?: string };
  sshPort: number;
  nodeExporterPort: number;
  crlRefreshMinutes: number;
  customCaBundle?: string;
  dataDiskId: string;
  packages: { upstream: string; upstreamPort: number; privateKeyOpenssh: string; publicKeyOpenssh: string };
  registryHttpSecret: string;
  notary: {
    serverDbPassword: string;
    signerDbPassword: string;
    signerPassphrase: string;
    caPem: string;
    signerCertPem: string;
    signerKeyPem: string;
    serverCertPem: string;
    serverKeyPem: string;
  };
}

/** Apache as it runs on E3; the tests call renderApacheConfig with loopback values instead. */
export function productionApacheParams(s: Pick<E3Settings, "hosts" | "serviceUrl">): ApacheParams {
  const L = E3_LAYOUT;
  return {
    serverRoot: "/etc/apache2",
    modulesDir: "/usr/lib/apache2/modules",
    listenAddress: "",
    httpsPort: 443,
    httpPort: 80,
    runUser: "www-data",
    runGroup: "www-data",
    pidFile: "/run/apache2/apache2.pid",
    runtimeDir: "/run/apache2",
    logDir: "/var/log/apache2",
    mimeTypesFile: "/etc/mime.types",
    hosts: s.hosts,
    tls: { certFile: L.serverCertFile, keyFile: L.serverKeyFile, deviceCaFile: L.deviceCaFile, crlFile: L.crlFile },
    serviceUrl: s.serviceUrl,
    serviceCaFile: L.serviceCaFile,
    registryUrl: `http://${L.registryListen}`,
    notaryUrl: `http://${L.notaryServerListen}`,
    packagesDir: L.packagesDir,
    gitRoot: L.gitRoot,
    gitHttpBackend: "/usr/lib/git-core/git-http-backend",
    acmeWebroot: L.acmeWebroot,
    operatorOu: L.operatorOu,
  };
}

function acmeParams(s: Pick<E3Settings, "hosts" | "acme">): AcmeParams {
  const L = E3_LAYOUT;
  const h = s.hosts;
  return {
    directoryUrl: s.acme.directoryUrl,
    email: s.acme.email,
    domains: [h.onboarding, h.docker, h.git, h.monitoring, h.packages, h.access],
    challengeDir: `${L.acmeWebroot}/.well-known/acme-challenge`,
    certFile: L.serverCertFile,
    keyFile: L.serverKeyFile,
    acmeMarker: L.acmeMarker,
    hookPath: L.acmeHook,
    reloadCommand: "systemctl try-reload-or-restart apache2",
    textfileDir: L.textfileDir,
  };
}

/**
 * Directories with their own owner and mode, made before the files in them: each service user
 * can traverse to its own files and to no one else's.
 */
export const E3_DIRS: E3Dir[] = [
  { path: "/etc/edp", mode: "0755", owner: "root:root" },
  { path: E3_LAYOUT.tlsDir, mode: "0755", owner: "root:root" },
  { path: E3_LAYOUT.notaryDir, mode: "0750", owner: "root:notary" },
  { path: "/etc/docker/registry", mode: "0750", owner: "root:docker-registry" },
  { path: `${E3_LAYOUT.packagesHome}/.ssh`, mode: "0700", owner: "packages:packages" },
  { path: "/etc/dehydrated/conf.d", mode: "0755", owner: "root:root" },
];

function notaryParams(s: E3Settings): NotaryParams {
  const d = E3_LAYOUT.notaryDir;
  return {
    serverListen: E3_LAYOUT.notaryServerListen,
    signerHost: "127.0.0.1",
    signerPort: E3_LAYOUT.notarySignerPort,
    postgres: { host: "127.0.0.1", port: E3_PORTS.postgres },
    serverDb: { name: "notaryserver", user: "notary_server", password: s.notary.serverDbPassword },
    signerDb: { name: "notarysigner", user: "notary_signer", password: s.notary.signerDbPassword },
    signerKeyAlias: "edp",
    tls: {
      caFile: `${d}/ca.pem`,
      signerCertFile: `${d}/signer.pem`,
      signerKeyFile: `${d}/signer.key`,
      serverClientCertFile: `${d}/server.pem`,
      serverClientKeyFile: `${d}/server.key`,
    },
  };
}

export function renderE3Files(s: E3Settings): { files: E3File[]; managedDirs: ManagedDir[]; dirs: E3Dir[] } {
  const L = E3_LAYOUT;
  const file = (path: string, content: string, tag: string, mode = "0644", owner = "root:root"): E3File => ({ path, content, tag, mode, owner });
  const np = notaryParams(s);
  const sync = renderPackageSyncUnits(L.packageSyncScript);
  const customCas = splitPemCertificates(s.customCaBundle ?? "");
  const acme = acmeParams(s);
  const renew = renderCertRenewUnits(L.certRenewScript);
  const files: E3File[] = [
    file(L.dataDiskScript, renderDataDiskScript({ diskId: s.dataDiskId, mountPoint: L.dataMount, label: L.dataLabel, waitSeconds: 300 }), "disk", "0755"),
    file("/etc/ssh/sshd_config.d/10-edp.conf", renderSshdConfig(s.sshPort), "sshd"),
    ...customCas.map((pem, i) => file(`${L.customCaDir}/edp-custom-${i + 1}.crt`, pem, "ca")),
    // TLS material Apache reads as root at start-up. The bootstrap certificate is copied to
    // server.pem by the host steps only until ACME has installed one.
    file(L.deviceCaFile, s.deviceCaPem, "apache"),
    file(L.bootstrapCertFile, s.serverCertPem, "apache"),
    file(L.bootstrapKeyFile, s.serverKeyPem, "apache", "0600"),
    file(L.serviceCaFile, [s.platformCaPem, ...customCas].map((c) => `${c.trim()}\n`).join(""), "apache"),
    file("/etc/apache2/apache2.conf", renderApacheConfig(productionApacheParams(s)), "apache"),
    file(
      L.crlRefreshScript,
      renderCrlRefreshScript({
        crlUrl: s.crlUrl,
        serverCaFile: L.serviceCaFile,
        deviceCaFile: L.deviceCaFile,
        crlFile: L.crlFile,
        textfileDir: L.textfileDir,
        reloadCommand: "systemctl try-reload-or-restart apache2",
        timeoutSeconds: 60,
      }),
      "crl",
      "0755",
    ),
    file("/etc/systemd/system/edp-crl-refresh.service", renderCrlRefreshService({ scriptPath: L.crlRefreshScript }), "units"),
    file("/etc/systemd/system/edp-crl-refresh.timer", renderCrlRefreshTimer({ scriptPath: L.crlRefreshScript, refreshMinutes: s.crlRefreshMinutes }), "units"),
    file("/etc/docker/registry/config.yml", renderRegistryConfig({ listen: L.registryListen, storageDir: L.registryDir, httpSecret: s.registryHttpSecret }), "registry", "0640", "root:docker-registry"),
    file("/etc/systemd/system/docker-registry.service.d/10-edp.conf", renderRegistryDropIn(L.dataMount), "units"),
    file(`${L.notaryDir}/server.json`, renderNotaryServerConfig(np), "notary", "0640", "root:notary"),
    file(`${L.notaryDir}/signer.json`, renderNotarySignerConfig(np), "notary", "0640", "root:notary"),
    file(`${L.notaryDir}/signer.env`, renderNotarySignerEnv(np.signerKeyAlias, s.notary.signerPassphrase), "notary", "0600"),
    file(np.tls.caFile, s.notary.caPem, "notary"),
    file(np.tls.signerCertFile, s.notary.signerCertPem, "notary"),
    file(np.tls.signerKeyFile, s.notary.signerKeyPem, "notary", "0640", "root:notary"),
    file(np.tls.serverClientCertFile, s.notary.serverCertPem, "notary"),
    file(np.tls.serverClientKeyFile, s.notary.serverKeyPem, "notary", "0640", "root:notary"),
    // Root reads it and hands it to psql on stdin: postgres needs no access to /etc/edp.
    file(L.notaryDatabaseSql, renderNotaryDatabaseSql(np), "notary", "0600"),
    file("/etc/systemd/system/notary-server.service", renderNotaryUnit("server", `${L.notaryDir}/server.json`), "units"),
    file("/etc/systemd/system/notary-signer.service", renderNotaryUnit("signer", `${L.notaryDir}/signer.json`, `${L.notaryDir}/signer.env`), "units"),
    file("/etc/default/prometheus-node-exporter", renderNodeExporterDefaults(s.nodeExporterPort, L.textfileDir), "node_exporter"),
    file(
      L.packageSyncScript,
      renderPackageSyncScript({
        upstream: s.packages.upstream,
        upstreamPort: s.packages.upstreamPort,
        destination: L.packagesDir,
        keyFile: `${L.packagesHome}/.ssh/id_ed25519`,
      }),
      "packages",
      "0755",
    ),
    file(`${L.packagesHome}/.ssh/id_ed25519`, s.packages.privateKeyOpenssh, "packages", "0600", "packages:packages"),
    file(`${L.packagesHome}/.ssh/id_ed25519.pub`, `${s.packages.publicKeyOpenssh.trim().split(/\s+/).slice(0, 2).join(" ")} packages@e3-${s.stage}\n`, "packages", "0644", "packages:packages"),
    file("/etc/systemd/system/edp-packages-sync.service", sync.service, "units"),
    file("/etc/systemd/system/edp-packages-sync.timer", sync.timer, "units"),
    file("/etc/dehydrated/conf.d/edp.sh", renderDehydratedConfig(acme), "acme"),
    file("/etc/dehydrated/domains.txt", renderDehydratedDomains(acme), "acme"),
    file(L.acmeHook, renderAcmeHook(acme), "acme", "0755"),
    file(L.certRenewScript, renderCertRenewScript(acme), "acme", "0755"),
    file("/etc/systemd/system/edp-cert-renew.service", renew.service, "units"),
    file("/etc/systemd/system/edp-cert-renew.timer", renew.timer, "units"),
  ];
  return { files, managedDirs: [{ path: L.customCaDir, pattern: "edp-custom-*.crt", tag: "ca" }], dirs: E3_DIRS };
}

/** What the apply does on the host after writing the files; `changed[tag]` says what changed. */
export function renderHostSteps(): string {
  const L = E3_LAYOUT;
  return `${L.dataDiskScript}
install -d -o docker-registry -g docker-registry -m 0750 ${L.registryDir}
# Git repositories: the CGI (www-data) writes them when an operator pushes.
install -d -o www-data -g www-data -m 0755 ${L.gitRoot}
install -d -o root -g root -m 0755 ${L.dataMount}/packages ${L.acmeWebroot} ${L.acmeWebroot}/.well-known ${L.acmeWebroot}/.well-known/acme-challenge
install -d -o packages -g packages -m 0755 ${L.packagesDir}
install -d -o prometheus -g prometheus -m 0755 ${L.textfileDir}

if [ "\${changed[units]}" = 1 ]; then systemctl daemon-reload; fi
if [ "\${changed[ca]}" = 1 ]; then update-ca-certificates --fresh >/dev/null; fi
if [ "\${changed[sshd]}" = 1 ]; then sshd -t && systemctl reload ssh; fi

# Until ACME has delivered a certificate, Apache presents the one Pulumi made.
if [ ! -f ${L.acmeMarker} ] || [ ! -f ${L.serverCertFile} ]; then
  for pair in "${L.bootstrapCertFile} ${L.serverCertFile} 0644" "${L.bootstrapKeyFile} ${L.serverKeyFile} 0600"; do
    set -- $pair
    if ! cmp -s "$1" "$2"; then install -m "$3" -o root -g root "$1" "$2"; changed[apache]=1; fi
  done
fi

runuser -u postgres -- psql -q -X -f - < ${L.notaryDatabaseSql}
if [ "\${changed[notary]}" = 1 ] || [ "\${changed[units]}" = 1 ]; then
  systemctl enable notary-signer notary-server >/dev/null 2>&1
  systemctl restart notary-signer notary-server
fi
if [ "\${changed[registry]}" = 1 ] || [ "\${changed[units]}" = 1 ]; then systemctl restart docker-registry; fi
if [ "\${changed[node_exporter]}" = 1 ]; then systemctl restart prometheus-node-exporter; fi

# Apache cannot start without a CRL. A refresh that fails while a valid CRL is in force (Vault
# briefly down) does not fail the run; without a valid CRL it does.
${L.crlRefreshScript} --keep-valid
apache2ctl -t
if [ "\${changed[apache]}" = 1 ] || [ "\${changed[ca]}" = 1 ] || ! systemctl is-active --quiet apache2; then
  systemctl enable apache2 >/dev/null 2>&1
  systemctl reload-or-restart apache2
fi
# ACME needs Apache on port 80; a failure leaves the current certificate (and alerts), not the run.
if [ "\${changed[acme]}" = 1 ] || [ ! -f ${L.acmeMarker} ]; then
  ${L.certRenewScript} || echo "warning: ACME did not renew the server certificate this time; edp-cert-renew.timer retries daily" >&2
fi
systemctl enable --now edp-crl-refresh.timer edp-packages-sync.timer edp-cert-renew.timer >/dev/null 2>&1
echo "E3 configuration applied"
`;
}
