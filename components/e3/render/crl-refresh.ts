/**
 * The CRL refresh of the E3 host: a shell script run by a systemd timer that downloads Vault's
 * CRL (checking the server against the platform CA), and installs it only when openssl says it
 * is signed by the device CA, valid now (lastUpdate not ahead of E3's clock, nextUpdate ahead)
 * and not older than the CRL in force (its CRL number is not lower). It swaps the file in with a
 * rename (Apache never sees a half-written file), reloads Apache gracefully (no connection is
 * dropped) and writes node-exporter textfile metrics, one per reason a CRL can be refused, so
 * that each case alerts (alerts.ts). Whatever goes wrong, the current CRL stays.
 *
 * Why each check: a CRL from the future makes Apache refuse every device ("CRL is not yet
 * valid"); an older CRL (lower number) would re-admit a device revoked since; an expired one
 * refuses everybody.
 */

export interface CrlRefreshParams {
  /** Where Vault publishes the device CA's CRL (PEM). */
  crlUrl: string;
  /** CA bundle the CRL server's certificate must chain to (the platform CA). */
  serverCaFile: string;
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
  number: "edp_e3_crl_number",
  lastSuccess: "edp_e3_crl_refresh_last_success_timestamp_seconds",
  lastAttempt: "edp_e3_crl_refresh_last_attempt_timestamp_seconds",
  success: "edp_e3_crl_refresh_success",
  /** 1 for the reason the last refresh refused a CRL (label reason), 0 for the others. */
  refused: "edp_e3_crl_refresh_refused",
} as const;

/** Why a refresh refuses a CRL: the label values of CRL_METRICS.refused. */
export const CRL_REFUSALS = {
  download: "the download failed (Vault or the ingress unreachable, or the server not trusted)",
  not_a_crl: "the download is not a CRL",
  signature: "the CRL is not signed by the device CA",
  not_yet_valid: "the CRL's lastUpdate is ahead of E3's clock",
  expired: "the CRL's nextUpdate has passed",
  older: "the CRL's number is lower than that of the CRL in force",
} as const;
export type CrlRefusal = keyof typeof CRL_REFUSALS;

const sh = (s: string) => `'${s.replace(/'/g, `'"'"'`)}'`;

export function renderCrlRefreshScript(p: CrlRefreshParams): string {
  const reasons = Object.keys(CRL_REFUSALS) as CrlRefusal[];
  return `#!/bin/bash
# Rendered by the EDP Pulumi program (components/e3/render/crl-refresh.ts).
# Usage: edp-crl-refresh [--keep-valid]
#   --keep-valid: exit 0 when the refresh fails but the CRL in force is still valid (the
#   configuration run uses it, so a brief Vault outage does not fail a deployment).
set -euo pipefail

url=${sh(p.crlUrl)}
server_ca=${sh(p.serverCaFile)}
ca=${sh(p.deviceCaFile)}
crl=${sh(p.crlFile)}
textfile_dir=${sh(p.textfileDir)}
keep_valid=0
[ "\${1:-}" = "--keep-valid" ] && keep_valid=1

now=$(date +%s)
tmp=$(mktemp "$crl.new.XXXXXX")
trap 'rm -f "$tmp"' EXIT

date_of() {
  local line
  line=$(openssl crl -in "$1" -noout "-$2") || return 1
  date -d "\${line#*=}" +%s
}
# The CRL number as a decimal string (Vault's numbers fit easily in 63 bits).
number_of() {
  local line
  line=$(openssl crl -in "$1" -noout -crlnumber) || return 1
  line=\${line#crlNumber=}
  line=\${line#0x}
  [ -n "$line" ] && [ "$line" != "<NONE>" ] || return 1
  echo $((16#$line))
}
signed_by_ca() {
  local verify
  verify=$(openssl crl -in "$1" -noout -CAfile "$ca" 2>&1) || return 1
  case "$verify" in *"verify OK"*) return 0 ;; *) return 1 ;; esac
}
valid_now() {
  local last next
  last=$(date_of "$1" lastupdate) && next=$(date_of "$1" nextupdate) || return 1
  [ "$last" -le "$now" ] && [ "$next" -gt "$now" ]
}

write_metrics() {
  local refused=$1 success=0 next_update number last_success metrics reason
  [ -n "$refused" ] || success=1
  mkdir -p "$textfile_dir"
  next_update=$(date_of "$crl" nextupdate 2>/dev/null || echo 0)
  number=$(number_of "$crl" 2>/dev/null || echo -1)
  last_success=0
  if [ -f "$textfile_dir/edp_crl.prom" ]; then
    last_success=$(awk '$1 == "${CRL_METRICS.lastSuccess}" { print $2 }' "$textfile_dir/edp_crl.prom")
    last_success=\${last_success:-0}
  fi
  if [ "$success" = 1 ]; then last_success=$now; fi
  metrics=$(mktemp "$textfile_dir/.edp_crl.prom.XXXXXX")
  {
    echo "# HELP ${CRL_METRICS.nextUpdate} nextUpdate of the CRL Apache enforces; every client certificate is rejected after it."
    echo "# TYPE ${CRL_METRICS.nextUpdate} gauge"
    echo "${CRL_METRICS.nextUpdate} $next_update"
    echo "# HELP ${CRL_METRICS.number} CRL number of the CRL Apache enforces (-1 if none)."
    echo "# TYPE ${CRL_METRICS.number} gauge"
    echo "${CRL_METRICS.number} $number"
    echo "# HELP ${CRL_METRICS.lastSuccess} Last time a refresh ended with a valid CRL in force from the current download."
    echo "# TYPE ${CRL_METRICS.lastSuccess} gauge"
    echo "${CRL_METRICS.lastSuccess} $last_success"
    echo "# HELP ${CRL_METRICS.lastAttempt} Last time the CRL refresh ran."
    echo "# TYPE ${CRL_METRICS.lastAttempt} gauge"
    echo "${CRL_METRICS.lastAttempt} $now"
    echo "# HELP ${CRL_METRICS.success} 1 if the last CRL refresh succeeded, 0 if it refused the download."
    echo "# TYPE ${CRL_METRICS.success} gauge"
    echo "${CRL_METRICS.success} $success"
    echo "# HELP ${CRL_METRICS.refused} 1 for the reason the last refresh refused a CRL, 0 for the others."
    echo "# TYPE ${CRL_METRICS.refused} gauge"
    for reason in ${reasons.join(" ")}; do
      echo "${CRL_METRICS.refused}{reason=\\"$reason\\"} $([ "$reason" = "$refused" ] && echo 1 || echo 0)"
    done
  } > "$metrics"
  chmod 0644 "$metrics"
  mv -f "$metrics" "$textfile_dir/edp_crl.prom"
}

refuse() {
  local reason=$1
  shift
  echo "edp-crl-refresh: refused ($reason): $*; keeping the current CRL" >&2
  write_metrics "$reason"
  if [ "$keep_valid" = 1 ] && [ -f "$crl" ] && signed_by_ca "$crl" && valid_now "$crl"; then
    echo "edp-crl-refresh: the CRL in force is valid until $(date -u -d "@$(date_of "$crl" nextupdate)")" >&2
    exit 0
  fi
  exit 1
}

curl --fail --silent --show-error --location --max-time ${p.timeoutSeconds} --retry 3 --retry-connrefused --retry-delay 2 \\
  --cacert "$server_ca" --output "$tmp" "$url" || refuse download "download from $url failed"
# Vault serves PEM on .../crl/pem; accept DER as well and store PEM, which Apache expects.
if ! grep -q -- "-----BEGIN X509 CRL-----" "$tmp"; then
  openssl crl -inform DER -in "$tmp" -out "$tmp" 2>/dev/null || refuse not_a_crl "the download is not a CRL"
fi
openssl crl -in "$tmp" -noout >/dev/null 2>&1 || refuse not_a_crl "the download is not a CRL"
signed_by_ca "$tmp" || refuse signature "the CRL is not signed by the device CA"
last_update=$(date_of "$tmp" lastupdate) || refuse not_a_crl "the CRL has no lastUpdate"
next_update=$(date_of "$tmp" nextupdate) || refuse not_a_crl "the CRL has no nextUpdate"
[ "$last_update" -le "$now" ] || refuse not_yet_valid "its lastUpdate $(date -u -d "@$last_update") is ahead of this host's clock"
[ "$next_update" -gt "$now" ] || refuse expired "it expired at $(date -u -d "@$next_update")"
new_number=$(number_of "$tmp") || refuse not_a_crl "the CRL has no CRL number"
if [ -f "$crl" ] && current_number=$(number_of "$crl" 2>/dev/null) && [ "$new_number" -lt "$current_number" ]; then
  refuse older "its number $new_number is lower than $current_number of the CRL in force"
fi

if [ -f "$crl" ] && cmp -s "$tmp" "$crl"; then
  write_metrics ""
  exit 0
fi
chmod 0644 "$tmp"
mv -f "$tmp" "$crl"
trap - EXIT
${p.reloadCommand}
write_metrics ""
echo "edp-crl-refresh: installed CRL number $new_number, valid until $(date -u -d "@$next_update")"
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
