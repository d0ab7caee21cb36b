/**
 * Automatic renewal of E3's server certificate on the host (manual §4: Let's Encrypt on E3):
 * Debian's `dehydrated` ACME client answers HTTP-01 challenges from the web root Apache serves on
 * port 80, a daily timer renews the certificate when less than 30 days are left, and a hook
 * installs it and reloads Apache gracefully. The certificate Pulumi makes from the platform CA is
 * only the bootstrap Apache starts with until the first ACME certificate arrives. The renew
 * script writes the certificate's notAfter as a metric, so an alert fires before it expires
 * whether or not ACME works.
 */

export interface AcmeParams {
  /** ACME directory URL (Let's Encrypt's by default). */
  directoryUrl: string;
  /** Contact e-mail for the ACME account; optional. */
  email?: string;
  /** Names on the certificate; the first is its subject. */
  domains: string[];
  /** Directory Apache serves under /.well-known/acme-challenge/ on port 80. */
  challengeDir: string;
  /** Where Apache reads the server certificate (full chain) and key. */
  certFile: string;
  keyFile: string;
  /** Marker file: present once an ACME certificate is in place (the bootstrap is then left alone). */
  acmeMarker: string;
  hookPath: string;
  /** Command that makes Apache re-read its certificate without dropping connections. */
  reloadCommand: string;
  textfileDir: string;
}

export const CERT_METRICS = {
  notAfter: "edp_e3_server_cert_not_after_timestamp_seconds",
  renewSuccess: "edp_e3_server_cert_renew_success",
  acme: "edp_e3_server_cert_from_acme",
} as const;

const sh = (s: string) => `'${s.replace(/'/g, `'"'"'`)}'`;

/** /etc/dehydrated/conf.d/edp.sh: sourced by Debian's /etc/dehydrated/config. */
export function renderDehydratedConfig(p: AcmeParams): string {
  return `# Rendered by the EDP Pulumi program (components/e3/render/acme.ts).
CA=${sh(p.directoryUrl)}
CHALLENGETYPE="http-01"
WELLKNOWN=${sh(p.challengeDir)}
KEY_ALGO="secp384r1"
# dehydrated's account key is always RSA of KEYSIZE bits (default 4096); 2048 is what Let's
# Encrypt and certbot use, and makes the first run's key generation seconds shorter.
KEYSIZE="2048"
RENEW_DAYS="30"
HOOK=${sh(p.hookPath)}
${p.email ? `CONTACT_EMAIL=${sh(p.email)}\n` : ""}`;
}

export function renderDehydratedDomains(p: Pick<AcmeParams, "domains">): string {
  return `${p.domains.join(" ")}\n`;
}

/** The dehydrated hook: installs a new certificate where Apache reads it, then reloads Apache. */
export function renderAcmeHook(p: AcmeParams): string {
  return `#!/bin/bash
# Rendered by the EDP Pulumi program (components/e3/render/acme.ts).
set -euo pipefail
case "\${1:-}" in
  deploy_cert)
    key=$3 fullchain=$5
    install -m 0600 -o root -g root "$key" ${sh(p.keyFile)}.new
    install -m 0644 -o root -g root "$fullchain" ${sh(p.certFile)}.new
    mv -f ${sh(p.keyFile)}.new ${sh(p.keyFile)}
    mv -f ${sh(p.certFile)}.new ${sh(p.certFile)}
    touch ${sh(p.acmeMarker)}
    ${p.reloadCommand}
    echo "edp-acme-hook: installed the certificate for $2"
    ;;
  *) ;;
esac
`;
}

/** edp-cert-renew: one ACME round (register once, renew when due) and the expiry metrics. */
export function renderCertRenewScript(p: AcmeParams): string {
  return `#!/bin/bash
# Rendered by the EDP Pulumi program (components/e3/render/acme.ts).
set -uo pipefail
textfile_dir=${sh(p.textfileDir)}
rc=0
mkdir -p ${sh(p.challengeDir)}
dehydrated --register --accept-terms >/dev/null || rc=$?
if [ "$rc" = 0 ]; then dehydrated --cron --keep-going || rc=$?; fi
[ "$rc" = 0 ] || echo "edp-cert-renew: ACME renewal failed ($rc); Apache keeps its current certificate" >&2

not_after=0
if line=$(openssl x509 -in ${sh(p.certFile)} -noout -enddate 2>/dev/null); then not_after=$(date -d "\${line#notAfter=}" +%s); fi
mkdir -p "$textfile_dir"
metrics=$(mktemp "$textfile_dir/.edp_cert.prom.XXXXXX")
cat > "$metrics" <<METRICS
# HELP ${CERT_METRICS.notAfter} notAfter of the server certificate Apache presents.
# TYPE ${CERT_METRICS.notAfter} gauge
${CERT_METRICS.notAfter} $not_after
# HELP ${CERT_METRICS.renewSuccess} 1 if the last ACME renewal round succeeded.
# TYPE ${CERT_METRICS.renewSuccess} gauge
${CERT_METRICS.renewSuccess} $([ "$rc" = 0 ] && echo 1 || echo 0)
# HELP ${CERT_METRICS.acme} 1 once the certificate comes from ACME, 0 while the bootstrap certificate is in use.
# TYPE ${CERT_METRICS.acme} gauge
${CERT_METRICS.acme} $([ -f ${sh(p.acmeMarker)} ] && echo 1 || echo 0)
METRICS
chmod 0644 "$metrics"
mv -f "$metrics" "$textfile_dir/edp_cert.prom"
exit "$rc"
`;
}

export function renderCertRenewUnits(scriptPath: string): { service: string; timer: string } {
  return {
    service: `[Unit]
Description=Renew E3's server certificate with ACME (EDP)
Wants=network-online.target
After=network-online.target apache2.service

[Service]
Type=oneshot
ExecStart=${scriptPath}
`,
    timer: `[Unit]
Description=Renew E3's server certificate daily (EDP)

[Timer]
OnBootSec=5min
OnCalendar=daily
RandomizedDelaySec=1h
Persistent=true

[Install]
WantedBy=timers.target
`,
  };
}
