/**
 * The enrolment script of one device of a K3s site (a secret stack output, like the edge
 * bootstrap script). Run as root on the device, it installs WireGuard from Debian's packages,
 * writes the tunnel config and brings the tunnel up, installs the site's pinned K3s as server or
 * agent (the server with Calico, seed 004's global policies, Flux and the site's desired-state
 * sync), and joins the site with its token. The worker taint is not applied here but by the
 * server's reconciler, once every DaemonSet tolerates it (seed 004's order for a running site).
 *
 * Re-running it changes nothing: every file is written only when its content differs, and a
 * service is restarted only when its file changed. It refuses a device that is not the one it
 * was made for: a device marked for another uuid, a first run on a host not named after the
 * device, or a device whose WireGuard key is not the key config names.
 */
import { createHash } from "node:crypto";
import { plainYaml } from "../shared/yaml";
import { REQUIRED_FLUX_CRDS } from "../edge/bootstrap-script";
import { SITE_RELEASES } from "../versions";
import { K3S_MANIFESTS_DIR } from "./k3s-manifests";
import type { PlannedDevice, PlannedSite } from "./plan";
import { RECONCILE_SCRIPT, RECONCILE_UNIT } from "./reconcile";
import { DEVICE_CONFIG_FILE, DEVICE_INTERFACE, DEVICE_KEY_FILE } from "./wireguard";

/** Exit codes, in the script's header and the README. */
export const ENROL_EXIT = { failed: 1, wrongDevice: 3, usage: 64, unavailable: 69, notRoot: 77 } as const;
/** Stack output holding the scripts, keyed `<site>/<device>`. */
export const ENROL_OUTPUT = "siteEnrolmentScripts";
export const DEVICE_MARKER = "/etc/edp/device.env";
export const K3S_CONFIG = "/etc/rancher/k3s/config.yaml";

/** The command an operator runs on the device (as root) to enrol it. */
export const enrolCommand = (stage: string, site: string, device: string) =>
  `pulumi stack output --stack ${stage} --show-secrets --json ${ENROL_OUTPUT} | jq -r '.["${site}/${device}"]' | ssh root@${device} bash -s --`;

export interface EnrolmentInput {
  stage: string;
  site: Pick<PlannedSite, "name" | "k3sVersion" | "clusterCidr" | "serviceCidr" | "serverUrl" | "deviceTraffic">;
  /** Whether agents join over the tunnel (no LAN address of the server): nodes then use their tunnel address. */
  joinsOverTunnel: boolean;
  device: PlannedDevice;
  /** The site's K3s join token (secret). */
  token: string;
  /** The device's /etc/wireguard/edp0.conf. */
  wireGuardConfig: string;
  /** The public key the device's key file must have. */
  publicKey: string;
  /** The centrally generated private key (keySource generated only; secret). */
  generatedPrivateKey?: string;
  /** Server only: the site's manifests for K3s's auto-deploy directory, file name to YAML. */
  serverManifests?: Record<string, string>;
  /** Server only: the site's desired-state bootstrap (components/edge/bootstrap-script.ts). */
  siteBootstrapScript?: string;
  /** Server only: the reconciler and its units. */
  reconcile?: { script: string; service: string; timer: string };
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

function heredoc(body: string, tag: string): string {
  const delimiter = `EDP_${tag}_${createHash("sha256").update(body).digest("hex").slice(0, 12)}`;
  if (body.split("\n").some((line) => line.includes(delimiter))) throw new Error(`here-document delimiter ${delimiter} occurs in its body`);
  return `<<'${delimiter}'\n${body.endsWith("\n") ? body : `${body}\n`}${delimiter}`;
}

/** K3s's config file (K3s reads /etc/rancher/k3s/config.yaml; keys are its flags). */
export function renderK3sConfig(input: Pick<EnrolmentInput, "site" | "device" | "token" | "joinsOverTunnel">): string {
  const d = input.device;
  const labels = Object.entries(d.labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`);
  const common: Record<string, unknown> = {
    "node-name": d.name,
    token: input.token,
    "node-label": labels,
    ...(input.joinsOverTunnel ? { "node-ip": d.address } : {}),
  };
  const body =
    d.role === "server"
      ? {
          ...common,
          "flannel-backend": "none",
          "disable-network-policy": true,
          "cluster-cidr": input.site.clusterCidr,
          "service-cidr": input.site.serviceCidr,
          "tls-san": [d.address],
          "write-kubeconfig-mode": "0600",
        }
      : { ...common, server: input.site.serverUrl };
  return `# Rendered by the EDP Pulumi program (components/sites/enrol-script.ts): ${d.role} ${d.id}.\n${plainYaml(body)}`;
}

export function renderEnrolmentScript(input: EnrolmentInput): string {
  const { stage, site, device: d } = input;
  const isServer = d.role === "server";
  if (isServer && (!input.serverManifests || !input.siteBootstrapScript || !input.reconcile)) throw new Error(`server ${d.id} needs its manifests, site bootstrap and reconciler`);
  if (d.keySource === "generated" && !input.generatedPrivateKey) throw new Error(`${d.id} has a generated key but none was given`);
  const unit = isServer ? "k3s" : "k3s-agent";
  const crds = REQUIRED_FLUX_CRDS.map((c) => c.crd).join(" ");
  const manifests = Object.entries(input.serverManifests ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([file, yaml], i) => `  put ${q(`${K3S_MANIFESTS_DIR}/${file}`)} 0600 ${heredoc(yaml, `MANIFEST${i}`)}`)
    .join("\n");

  const serverSteps = isServer
    ? `
  # Calico replaces flannel (seed 004); its pool is the site's pod CIDR. The manifest is fetched
  # once per Calico release, before K3s first starts, so K3s's deploy controller applies it.
  local calico="$ROOT${K3S_MANIFESTS_DIR}/calico.yaml" tmp
  if ! head -n 1 "$calico" 2>/dev/null | grep -qxF "# edp calico $CALICO_VERSION"; then
    step "fetching Calico $CALICO_VERSION"
    mkdir -p "$(dirname "$calico")"
    tmp="$(mktemp)"
    curl -fsSL --retry 3 "$CALICO_URL" -o "$tmp" || die ${ENROL_EXIT.unavailable} "cannot download $CALICO_URL"
    grep -q '# - name: CALICO_IPV4POOL_CIDR' "$tmp" || die ${ENROL_EXIT.failed} "Calico's manifest has no CALICO_IPV4POOL_CIDR to set; check the pinned release"
    { echo "# edp calico $CALICO_VERSION"; sed -e 's|# - name: CALICO_IPV4POOL_CIDR|- name: CALICO_IPV4POOL_CIDR|' -e "s|#   value: \\"192.168.0.0/16\\"|  value: \\"$CLUSTER_CIDR\\"|" "$tmp"; } >"$calico.new"
    rm -f "$tmp"
    chmod 0600 "$calico.new"
    mv "$calico.new" "$calico"
  fi
  # Seed 004's global policies and Flux (K3s applies what is in its manifests directory).
${manifests}
  put ${q(RECONCILE_SCRIPT)} 0755 ${heredoc(input.reconcile?.script ?? "", "RECONCILE")}
  put ${q(`/etc/systemd/system/${RECONCILE_UNIT}.service`)} 0644 ${heredoc(input.reconcile?.service ?? "", "RECONCILE_SERVICE")}
  units_changed=$changed
  put ${q(`/etc/systemd/system/${RECONCILE_UNIT}.timer`)} 0644 ${heredoc(input.reconcile?.timer ?? "", "RECONCILE_TIMER")}
  [ "$changed" = 1 ] && units_changed=1
`
    : "";

  const serverAfter = isServer
    ? `
  step "waiting for the K3s API"
  local i=0
  until kubectl get --raw /readyz >/dev/null 2>&1 </dev/null; do
    i=$((i + 1))
    [ "$i" -lt "$WAIT_TRIES" ] || die ${ENROL_EXIT.failed} "the K3s API did not become ready; see journalctl -u ${unit}"
    sleep 2
  done
  step "waiting for Flux's APIs (K3s installs the flux2 chart)"
  local crd
  for crd in ${crds}; do
    i=0
    until kubectl wait --for=condition=Established --timeout=10s "crd/$crd" >/dev/null 2>&1 </dev/null; do
      i=$((i + 1))
      [ "$i" -lt "$WAIT_TRIES" ] || die ${ENROL_EXIT.failed} "CustomResourceDefinition $crd did not become established; see kubectl -n kube-system get helmcharts,jobs"
      sleep 2
    done
  done
  # The site's desired-state sync, as for an edge cluster bootstrapped by script. Its kubectl
  # context is named after the site: this device has proven above that it is the site's server.
  step "applying the site's desired-state sync"
  kubeconfig="$(mktemp)"
  trap 'rm -f "$kubeconfig"' EXIT
  cat "$ROOT/etc/rancher/k3s/k3s.yaml" >"$kubeconfig"
  KUBECONFIG="$kubeconfig" kubectl config rename-context default "$SITE" >/dev/null </dev/null || true
  if ! KUBECONFIG="$kubeconfig" bash -s -- --context "$SITE" ${heredoc(input.siteBootstrapScript ?? "", "SITE_SYNC")}
  then
    die ${ENROL_EXIT.failed} "the site's desired-state sync failed (see above); re-run when fixed"
  fi
  if [ "$units_changed" = 1 ]; then systemctl daemon-reload; fi
  systemctl enable --now ${RECONCILE_UNIT}.timer >/dev/null
  step "applying the device list (labels, worker taint, revocations)"
  "$ROOT${RECONCILE_SCRIPT}" || die ${ENROL_EXIT.failed} "${RECONCILE_SCRIPT} failed"
`
    : "";

  return `#!/usr/bin/env bash
# Enrolment of device ${d.name} (${d.role}) of K3s site ${site.name}, stage ${stage}, uuid ${d.uuid}.
# Generated by the EDP Pulumi program (components/sites/enrol-script.ts). It holds the site's
# join token${d.keySource === "generated" ? " and this device's WireGuard private key" : ""}: do not store it, pipe it to the device as root:
#   ${enrolCommand(stage, site.name, d.name)}
# Safe to re-run: files are written only when they differ, services restarted only when theirs did.
# Exit codes: 1 a step failed, 3 not device ${d.name}, 64 bad usage, 69 a download failed, 77 not root.
set -euo pipefail
umask 077

readonly STAGE=${q(stage)}
readonly SITE=${q(site.name)}
readonly DEVICE=${q(d.name)}
readonly DEVICE_UUID=${q(d.uuid)}
readonly PUBLIC_KEY=${q(input.publicKey)}
readonly K3S_VERSION=${q(site.k3sVersion)}
readonly K3S_INSTALL_URL=${q(SITE_RELEASES.k3sInstallScript(site.k3sVersion))}
${
  isServer
    ? `readonly CALICO_VERSION=${q(SITE_RELEASES.calico)}
readonly CALICO_URL=${q(SITE_RELEASES.calicoManifest(SITE_RELEASES.calico))}
readonly CLUSTER_CIDR=${q(site.clusterCidr)}
readonly WAIT_TRIES="\${EDP_ENROL_WAIT_TRIES:-150}"
`
    : ""
}# Tests run the script against a directory instead of / (and without root).
readonly ROOT="\${EDP_ENROL_ROOT:-}"
changed=0

die() {
  local code="$1"
  shift
  printf 'enrol %s/%s: %s\\n' "$SITE" "$DEVICE" "$*" >&2
  exit "$code"
}

step() {
  printf '==> %s\\n' "$*"
}

# put PATH MODE <content on stdin>: writes the file only when it differs; sets changed=1 if it did.
put() {
  local dest="$ROOT$1" mode="$2" tmp
  mkdir -p "$(dirname "$dest")"
  tmp="$(mktemp "$dest.edp-enrol.XXXXXX")"
  cat >"$tmp"
  chmod "$mode" "$tmp"
  if [ -f "$dest" ] && cmp -s "$tmp" "$dest" && [ "$(stat -c %a "$dest")" = "$(stat -c %a "$tmp")" ]; then
    rm -f "$tmp"
    changed=0
    return 0
  fi
  mv "$tmp" "$dest"
  changed=1
  step "wrote $1"
}

check_identity() {
  local marker="$ROOT${DEVICE_MARKER}" marked="" host
  if [ -f "$marker" ]; then
    marked="$(sed -n 's/^EDP_DEVICE_UUID=//p' "$marker")"
    if [ "$marked" != "$DEVICE_UUID" ]; then
      die ${ENROL_EXIT.wrongDevice} "refusing: this host is enrolled as $(sed -n 's/^EDP_DEVICE=//p' "$marker") (uuid $marked), not $SITE/$DEVICE; use its own script"
    fi
    step "device identity: marker matches $SITE/$DEVICE"
    return 0
  fi
  host="$(hostname)"
  if [ "$host" != "$DEVICE" ]; then
    die ${ENROL_EXIT.wrongDevice} "refusing: this host is '$host', not '$DEVICE', and carries no EDP marker. If it is the device, name it first: hostnamectl set-hostname $DEVICE"
  fi
  step "device identity: new device, hostname is $DEVICE"
}

install_wireguard() {
  if dpkg-query -W -f='\${Status}' wireguard-tools 2>/dev/null | grep -q 'install ok installed'; then return 0; fi
  step "installing wireguard-tools from Debian"
  apt-get update -qq || die ${ENROL_EXIT.unavailable} "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wireguard-tools || die ${ENROL_EXIT.unavailable} "installing wireguard-tools failed"
}

check_key() {
  local key="$ROOT${DEVICE_KEY_FILE}" actual
${
  d.keySource === "generated"
    ? `  put ${q(DEVICE_KEY_FILE)} 0600 ${heredoc(`${input.generatedPrivateKey ?? ""}\n`, "KEY")}`
    : `  [ -f "$key" ] || die ${ENROL_EXIT.wrongDevice} "refusing: ${DEVICE_KEY_FILE} does not exist, but config names this device's own key. On the device: wg genkey | tee ${DEVICE_KEY_FILE} | wg pubkey"`
}
  actual="$(wg pubkey <"$key")" || die ${ENROL_EXIT.wrongDevice} "${DEVICE_KEY_FILE} is not a WireGuard private key"
  if [ "$actual" != "$PUBLIC_KEY" ]; then
    die ${ENROL_EXIT.wrongDevice} "refusing: the WireGuard key of this host ($actual) is not the key config names for $SITE/$DEVICE ($PUBLIC_KEY)"
  fi
  step "WireGuard key matches config"
}

main() {
  if [ "$#" -gt 0 ]; then
    die ${ENROL_EXIT.usage} "takes no arguments (got: $*)"
  fi
  if [ -z "$ROOT" ] && [ "$(id -u)" != 0 ]; then
    die ${ENROL_EXIT.notRoot} "run as root"
  fi
  check_identity
  install_wireguard
  check_key
  put ${q(DEVICE_MARKER)} 0644 ${heredoc(`EDP_STAGE=${stage}\nEDP_SITE=${site.name}\nEDP_DEVICE=${d.name}\nEDP_DEVICE_UUID=${d.uuid}\n`, "MARKER")}

  put ${q(DEVICE_CONFIG_FILE)} 0600 ${heredoc(input.wireGuardConfig, "WG")}
  systemctl enable wg-quick@${DEVICE_INTERFACE} >/dev/null 2>&1
  if [ "$changed" = 1 ]; then
    systemctl restart wg-quick@${DEVICE_INTERFACE}
  elif ! systemctl is-active --quiet wg-quick@${DEVICE_INTERFACE}; then
    systemctl start wg-quick@${DEVICE_INTERFACE}
  fi
  step "tunnel ${DEVICE_INTERFACE} up (${d.address})"

  local ${isServer ? "units_changed=0 " : ""}k3s_changed
  put ${q(K3S_CONFIG)} 0600 ${heredoc(renderK3sConfig(input), "K3S")}
  k3s_changed=$changed
${serverSteps}
  # The whole output is read first: k3s prints two lines, and a reader that stops after the first
  # (head -n 1) makes k3s's second write fail, which pipefail turned into "not installed".
  local k3s_installed
  k3s_installed="$(k3s --version 2>/dev/null || true)"
  if [[ "\${k3s_installed%%$'\\n'*}" == *" $K3S_VERSION "* ]]; then
    if [ "$k3s_changed" = 1 ]; then
      step "K3s config changed: restarting ${unit}"
      systemctl restart ${unit}
    elif ! systemctl is-active --quiet ${unit}; then
      systemctl start ${unit}
    fi
  else
    step "installing K3s $K3S_VERSION (${d.role})"
    local installer
    installer="$(mktemp)"
    curl -fsSL --retry 3 "$K3S_INSTALL_URL" -o "$installer" || die ${ENROL_EXIT.unavailable} "cannot download $K3S_INSTALL_URL"
    # install.sh downloads the release's binary and checks it against the release's sha256sum file.
    INSTALL_K3S_VERSION="$K3S_VERSION" INSTALL_K3S_EXEC=${isServer ? "server" : "agent"} sh "$installer" || die ${ENROL_EXIT.failed} "the K3s installer failed"
    rm -f "$installer"
  fi
${serverAfter}
  step "done: $SITE/$DEVICE enrolled in stage $STAGE (${d.role}, tunnel ${d.address})"
}

main "$@"
`;
}
