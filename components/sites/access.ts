/**
 * Maintenance access to devices (manual §5.2) through E3 as `edp-access`: an SSH bastion where
 * each operator logs in with their own key, can do nothing but open one connection to port 22
 * of a device that config marks as open for maintenance, over the WireGuard tunnel, and every
 * session is logged with the operator's name, the device and the outcome.
 *
 * How an operator connects (the device name is all they pass):
 *   ssh -o ProxyCommand='ssh -p <e3.sshPort> edp-access@<edp-access host> %h' <user>@<device>
 */
import { SSH_PUBLIC_KEY } from "../../config/validators";

export const ACCESS_USER = "edp-access";
export const ACCESS_DIR = "/etc/edp/access";
export const ACCESS_AUTHORIZED_KEYS = `${ACCESS_DIR}/authorized_keys`;
export const ACCESS_DEVICES = `${ACCESS_DIR}/devices`;
export const ACCESS_COMMAND = "/usr/local/sbin/edp-access";
export const ACCESS_SSHD_DROPIN = "/etc/ssh/sshd_config.d/20-edp-access.conf";
/** Seconds a connection to a device may take to open. */
export const CONNECT_TIMEOUT_SECONDS = 10;

export interface Operator {
  name: string;
  sshPublicKey: string;
}

/**
 * One line per operator: `restrict` turns off every forwarding, PTY and agent, and the forced
 * command receives the operator's name from this file, never from the client.
 */
export function renderAuthorizedKeys(operators: Operator[]): string {
  const lines = operators.map((o) => {
    if (!/^[a-z][a-z0-9-]{0,31}$/.test(o.name)) throw new Error(`bad operator name ${JSON.stringify(o.name)}`);
    const key = o.sshPublicKey.trim();
    if (!SSH_PUBLIC_KEY.test(key)) throw new Error(`operator ${o.name}: not an OpenSSH public key line`);
    const [type, blob] = key.split(" ");
    return `restrict,command="${ACCESS_COMMAND} ${o.name}" ${type} ${blob} ${o.name}`;
  });
  return `# Rendered by the EDP Pulumi program (components/sites/access.ts): one key per operator.\n${lines.join("\n")}${lines.length ? "\n" : ""}`;
}

/** `<device> <tunnel address>` of every device open for maintenance; nothing else is reachable. */
export function renderAccessDevices(devices: { name: string; address: string }[]): string {
  const lines = [...devices].sort((a, b) => a.name.localeCompare(b.name)).map((d) => `${d.name} ${d.address}`);
  return `# Rendered by the EDP Pulumi program: devices open for maintenance.\n${lines.join("\n")}${lines.length ? "\n" : ""}`;
}

/**
 * sshd settings of the bastion user. `Match all` ends the block, so the settings after the
 * Include in Debian's sshd_config stay global.
 */
export function renderAccessSshdConfig(): string {
  return `# Rendered by the EDP Pulumi program (components/sites/access.ts).
Match User ${ACCESS_USER}
  AuthorizedKeysFile ${ACCESS_AUTHORIZED_KEYS}
  AuthenticationMethods publickey
  PermitTTY no
  AllowTcpForwarding no
  AllowStreamLocalForwarding no
  AllowAgentForwarding no
  X11Forwarding no
  PermitTunnel no
  LogLevel VERBOSE
Match all
`;
}

/** The forced command: `edp-access <operator>`, the device name in SSH_ORIGINAL_COMMAND. */
export function renderAccessCommand(): string {
  return `#!/bin/bash
# Rendered by the EDP Pulumi program (components/sites/access.ts). Forced command of the
# edp-access bastion: connects the operator's SSH client to port 22 of one device over the
# WireGuard tunnel, if that device is open for maintenance, and logs the session.
set -uo pipefail
devices_file="\${EDP_ACCESS_DEVICES:-${ACCESS_DEVICES}}"
operator="\${1:-}"
device="\${SSH_ORIGINAL_COMMAND:-}"
client="\${SSH_CLIENT:-local}"
client="\${client%% *}"

log() {
  logger -t edp-access -p authpriv.notice -- "$*" 2>/dev/null || true
  printf 'edp-access: %s\\n' "$*" >&2
}

if [[ ! "$operator" =~ ^[a-z][a-z0-9-]{0,31}$ ]]; then
  log "refused: no operator name (authorized_keys must name one)"
  exit 64
fi
if [[ ! "$device" =~ ^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$ ]]; then
  log "refused operator=$operator from=$client: not a device name (usage: ssh -o ProxyCommand='ssh edp-access@<host> %h' user@<device>)"
  exit 64
fi
address=""
while read -r name addr; do
  case "$name" in "" | "#"*) continue ;; esac
  if [ "$name" = "$device" ]; then address="$addr"; fi
done <"$devices_file"
if [ -z "$address" ]; then
  log "denied operator=$operator from=$client device=$device: not open for maintenance"
  exit 77
fi
started=$(date +%s)
log "open operator=$operator from=$client device=$device address=$address"
nc -w ${CONNECT_TIMEOUT_SECONDS} -N "$address" 22
status=$?
log "close operator=$operator from=$client device=$device address=$address status=$status seconds=$(($(date +%s) - started))"
exit "$status"
`;
}
