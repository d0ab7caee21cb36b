/**
 * The CRL refresh of the E3 host: a shell script run by a systemd timer that downloads Vault's
 * CRL, checks it with openssl (signed by the device CA, nextUpdate still ahead), swaps it in
 * with a rename (Apache never sees a half-written file), reloads Apache gracefully and writes
 * node-exporter textfile metrics. Apache rejects every client certificate once its CRL has
 * expired, so a failed refresh keeps the old CRL and says so in the metrics; the alert rules in
 * alerts.ts fire long before the CRL runs out.
 */

export interface CrlRefreshParams {
  /** Where Vault publishes the device CA's CRL (PEM). */
  crlUrl: string;
  /** Device CA chain the CRL must be signed by. */
  deviceCaFile: string;
  /** The CRL file Apache reads (SSLCARevocationFile). */
  crlFile: string;
  /** node-exporter textfile collector directory. */
  textfileDir: string;
  /** Command that makes Apache re-read its CRL without dropping connections. */
  reloadCommand: string;
  /** Seconds a download may take. */
  timeoutSeconds: number;
}

/** Names of the metrics the script writes; alerts.ts builds its rules on them. */
export const CRL_METRICS = {
  nextUpdate: "edp_e3_crl_next_update_timestamp_seconds",
  lastSuccess: "edp_e3_crl_refresh_last_success_timestamp_seconds",
  lastAttempt: "edp_e3_crl_refresh_last_attempt_timestamp_seconds",
  success: "edp_e3_crl_refresh_success",
} as const;

const sh = (s: string) => `'${s.replace(/'/g, `'"'"'`)}'`;

export function renderCrlRefreshScript(p: CrlRefreshParams): string {
  return `#!/bin/bash
# Rendered by the EDP Pulumi program (components/e3/render/crl-refresh.ts).
set -euo pipefail

url=${sh(p.crlUrl)}
ca=${sh(p.deviceCaFile)}
crl=${sh(p.crlFile)}
textfile_dir=${sh(p.textfileDir)}

now=$(date +%s)
tmp=$(mktemp "$crl.new.XXXXXX")
trap 'rm -f "$tmp"' EXIT

next_update_of() {
  local line
  line=$(openssl crl -in "$1" -noout -nextupdate) || return 1
  date -d "\${line#nextUpdate=}" +%s
}

write_metrics() {
  local success=$1 next_update last_success metrics
  mkdir -p "$textfile_dir"
  next_update=$(next_update_of "$crl" 2>/dev/null || echo 0)
  last_success=0
  if [ -f "$textfile_dir/edp_crl.prom" ]; then
    last_success=$(awk '$1 == "${CRL_METRICS.lastSuccess}" { print $2 }' "$textfile_dir/edp_crl.prom")
    last_success=\${last_success:-0}
  fi
  if [ "$success" = 1 ]; then last_success=$now; fi
  metrics=$(mktemp "$textfile_dir/.edp_crl.prom.XXXXXX")
  cat > "$metrics" <<METRICS
# HELP ${CRL_METRICS.nextUpdate} nextUpdate of the CRL Apache enforces; every client certificate is rejected after it.
# TYPE ${CRL_METRICS.nextUpdate} gauge
${CRL_METRICS.nextUpdate} $next_update
# HELP ${CRL_METRICS.lastSuccess} Last time a downloaded CRL passed its checks and was installed.
# TYPE ${CRL_METRICS.lastSuccess} gauge
${CRL_METRICS.lastSuccess} $last_success
# HELP ${CRL_METRICS.lastAttempt} Last time the CRL refresh ran.
# TYPE ${CRL_METRICS.lastAttempt} gauge
${CRL_METRICS.lastAttempt} $now
# HELP ${CRL_METRICS.success} 1 if the last CRL refresh succeeded, 0 if it failed.
# TYPE ${CRL_METRICS.success} gauge
${CRL_METRICS.success} $success
METRICS
  chmod 0644 "$metrics"
  mv -f "$metrics" "$textfile_dir/edp_crl.prom"
}

fail() {
  echo "edp-crl-refresh: $*; keeping the current CRL" >&2
  write_metrics 0
  exit 1
}

curl --fail --silent --show-error --location --max-time ${p.timeoutSeconds} --output "$tmp" "$url" || fail "download from $url failed"
# Vault serves PEM on .../crl/pem; accept DER as well and store PEM, which Apache expects.
if ! grep -q -- "-----BEGIN X509 CRL-----" "$tmp"; then
  openssl crl -inform DER -in "$tmp" -out "$tmp" 2>/dev/null || fail "the download is not a CRL"
fi
verify=$(openssl crl -in "$tmp" -noout -CAfile "$ca" 2>&1) || fail "openssl could not check the CRL: $verify"
case "$verify" in
  *"verify OK"*) ;;
  *) fail "the CRL is not signed by the device CA: $verify" ;;
esac
next_update=$(next_update_of "$tmp") || fail "the CRL has no nextUpdate"
[ "$next_update" -gt "$now" ] || fail "the CRL expired at $(date -u -d "@$next_update")"

if [ -f "$crl" ] && cmp -s "$tmp" "$crl"; then
  write_metrics 1
  exit 0
fi
chmod 0644 "$tmp"
mv -f "$tmp" "$crl"
trap - EXIT
${p.reloadCommand}
write_metrics 1
`;
}

export interface CrlTimerParams {
  /** Path of the installed refresh script. */
  scriptPath: string;
  refreshMinutes: number;
}

export function renderCrlRefreshService(p: Pick<CrlTimerParams, "scriptPath">): string {
  return `[Unit]
Description=Refresh the device CRL that Apache enforces (EDP)
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
ExecStart=${p.scriptPath}
`;
}

export function renderCrlRefreshTimer(p: CrlTimerParams): string {
  return `[Unit]
Description=Refresh the device CRL every ${p.refreshMinutes} minutes (EDP)

[Timer]
OnBootSec=1min
OnUnitActiveSec=${p.refreshMinutes}min
AccuracySec=30s
Persistent=true

[Install]
WantedBy=timers.target
`;
}
