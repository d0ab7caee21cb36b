/**
 * Every file of the E3 host in production, rendered from resolved settings, and the host steps
 * that put a changed file into effect. The component resolves its outputs into E3Settings and
 * hands the result to renderApplyScript.
 */
import { E3_PORTS } from "../../../config/limits";
import { type ApacheParams, type E3HostNames, renderApacheConfig } from "./apache";
import type { E3File, ManagedDir } from "./apply";
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
  systemCaBundle: "/etc/ssl/certs/ca-certificates.crt",
  customCaDir: "/usr/local/share/ca-certificates/edp",
  textfileDir: "/var/lib/prometheus/node-exporter",
  crlRefreshScript: "/usr/local/sbin/edp-crl-refresh",
  dataDiskScript: "/usr/local/sbin/edp-data-disk",
  packageSyncScript: "/usr/local/bin/sync-packages",
  packagesHome: "/home/packages",
  // Ports from config/limits.ts, where the config checks edp:e3 ports against them.
  registryListen: `127.0.0.1:${E3_PORTS.registry}`,
  notaryServerListen: `127.0.0.1:${E3_PORTS.notaryServer}`,
  notarySignerPort: E3_PORTS.notarySigner,
  notaryDir: "/etc/notary",
  deployUser: "edp-deploy",
} as const;

export interface E3Settings {
  stage: string;
  hosts: E3HostNames;
  /** https://<edp-service internal host> */
  serviceUrl: string;
  crlUrl: string;
  deviceCaPem: string;
  /** Server certificate followed by its issuer chain. */
  serverCertPem: string;
  serverKeyPem: string;
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
    serviceCaFile: L.systemCaBundle,
    registryUrl: `http://${L.registryListen}`,
    notaryUrl: `http://${L.notaryServerListen}`,
    packagesDir: L.packagesDir,
    gitRoot: L.gitRoot,
    gitHttpBackend: "/usr/lib/git-core/git-http-backend",
    acmeWebroot: L.acmeWebroot,
  };
}

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

export function renderE3Files(s: E3Settings): { files: E3File[]; managedDirs: ManagedDir[] } {
  const L = E3_LAYOUT;
  const file = (path: string, content: string, tag: string, mode = "0644", owner = "root:root"): E3File => ({ path, content, tag, mode, owner });
  const np = notaryParams(s);
  const sync = renderPackageSyncUnits(L.packageSyncScript);
  const customCas = splitPemCertificates(s.customCaBundle ?? "");
  const files: E3File[] = [
    file(L.dataDiskScript, renderDataDiskScript({ diskId: s.dataDiskId, mountPoint: L.dataMount, label: L.dataLabel, waitSeconds: 300 }), "disk", "0755"),
    file("/etc/ssh/sshd_config.d/10-edp.conf", renderSshdConfig(s.sshPort), "sshd"),
    ...customCas.map((pem, i) => file(`${L.customCaDir}/edp-custom-${i + 1}.crt`, pem, "ca")),
    // TLS material Apache reads as root at start-up.
    file(L.deviceCaFile, s.deviceCaPem, "apache"),
    file(L.serverCertFile, s.serverCertPem, "apache"),
    file(L.serverKeyFile, s.serverKeyPem, "apache", "0600"),
    file("/etc/apache2/apache2.conf", renderApacheConfig(productionApacheParams(s)), "apache"),
    file(
      L.crlRefreshScript,
      renderCrlRefreshScript({
        crlUrl: s.crlUrl,
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
    file(`${L.notaryDir}/database.sql`, renderNotaryDatabaseSql(np), "notary", "0600", "postgres:postgres"),
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
  ];
  return { files, managedDirs: [{ path: L.customCaDir, pattern: "edp-custom-*.crt", tag: "ca" }] };
}

/** What the apply does on the host after writing the files; `changed[tag]` says what changed. */
export function renderHostSteps(): string {
  const L = E3_LAYOUT;
  return `# Packages and users come from cloud-init on first boot; wait for it.
cloud-init status --wait >/dev/null || true

${L.dataDiskScript}
install -d -o docker-registry -g docker-registry -m 0750 ${L.registryDir}
install -d -o root -g root -m 0755 ${L.gitRoot} ${L.dataMount}/packages ${L.acmeWebroot}
install -d -o packages -g packages -m 0755 ${L.packagesDir}
install -d -o prometheus -g prometheus -m 0755 ${L.textfileDir}

if [ "\${changed[units]}" = 1 ]; then systemctl daemon-reload; fi
if [ "\${changed[ca]}" = 1 ]; then update-ca-certificates --fresh >/dev/null; fi
if [ "\${changed[sshd]}" = 1 ]; then sshd -t && systemctl reload ssh; fi

runuser -u postgres -- psql -q -X -f ${L.notaryDir}/database.sql
if [ "\${changed[notary]}" = 1 ] || [ "\${changed[units]}" = 1 ]; then
  systemctl enable notary-signer notary-server >/dev/null 2>&1
  systemctl restart notary-signer notary-server
fi
if [ "\${changed[registry]}" = 1 ] || [ "\${changed[units]}" = 1 ]; then systemctl restart docker-registry; fi
if [ "\${changed[node_exporter]}" = 1 ]; then systemctl restart prometheus-node-exporter; fi

# Apache cannot start without a CRL: fetch one before (re)loading it.
${L.crlRefreshScript}
apache2ctl -t
if [ "\${changed[apache]}" = 1 ] || [ "\${changed[ca]}" = 1 ] || ! systemctl is-active --quiet apache2; then
  systemctl enable apache2 >/dev/null 2>&1
  systemctl reload-or-restart apache2
fi
systemctl enable --now edp-crl-refresh.timer edp-packages-sync.timer >/dev/null 2>&1
echo "E3 configuration applied"
`;
}
