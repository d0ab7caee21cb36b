/**
 * What keeps a running site in line with config after enrolment (the part of Doni's job that
 * lives on the site): the site's device list arrives as a ConfigMap in the site's desired state
 * (Flux from OSS, like every edge cluster), and a timer on the server applies it: node labels,
 * the worker taint (only once every DaemonSet tolerates it, seed 004's order for a running site),
 * and revocation of nodes of the site that config no longer lists.
 */
import type { KubeObject } from "../edge/templates";
import { type PlannedSite, SITE_LABEL } from "./plan";

export const SITE_DEVICES_CONFIGMAP = "edp-site-devices";
export const SITE_DEVICES_NAMESPACE = "kube-system";
export const RECONCILE_SCRIPT = "/usr/local/sbin/edp-site-reconcile";
export const RECONCILE_UNIT = "edp-site-reconcile";
/** How often the server applies the device list. */
export const RECONCILE_INTERVAL = "2min";

/** The device list of a site, as the reconciler reads it (plain lines: no YAML or JSON parser on the device). */
export function siteDevicesConfigMap(site: PlannedSite): KubeObject {
  const t = site.taint;
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: SITE_DEVICES_CONFIGMAP, namespace: SITE_DEVICES_NAMESPACE, labels: { "app.kubernetes.io/managed-by": "edp-sites" } },
    data: {
      site: site.name,
      taint: `${t.key}=${t.value}:${t.effect}`,
      taintEnabled: String(t.enabled),
      // name role tainted(0/1)
      devices: site.devices.map((d) => `${d.name} ${d.role} ${d.tainted ? 1 : 0}\n`).join(""),
      // name key=value
      labels: site.devices.flatMap((d) => Object.entries(d.labels).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${d.name} ${k}=${v}\n`)).join(""),
    },
  };
}

export function renderReconcileUnits(): { service: string; timer: string } {
  return {
    service: `# Rendered by the EDP Pulumi program (components/sites/reconcile.ts).
[Unit]
Description=Apply the EDP site device list (labels, worker taint, revocations)
After=k3s.service
Requisite=k3s.service

[Service]
Type=oneshot
ExecStart=${RECONCILE_SCRIPT}
`,
    timer: `# Rendered by the EDP Pulumi program (components/sites/reconcile.ts).
[Unit]
Description=Apply the EDP site device list every ${RECONCILE_INTERVAL}

[Timer]
OnBootSec=${RECONCILE_INTERVAL}
OnUnitActiveSec=${RECONCILE_INTERVAL}

[Install]
WantedBy=timers.target
`,
  };
}

/** The reconciler of one site's server; kubectl is K3s's own. */
export function renderReconcileScript(site: string): string {
  return `#!/bin/bash
# Rendered by the EDP Pulumi program (components/sites/reconcile.ts): applies the device list of
# site ${site} from ${SITE_DEVICES_NAMESPACE}/${SITE_DEVICES_CONFIGMAP}. Safe to run at any time.
set -euo pipefail
readonly SITE=${JSON.stringify(site)}

log() { printf 'edp-site-reconcile: %s\\n' "$*"; }
kc() { kubectl "$@" </dev/null; }
cm() { kc -n ${SITE_DEVICES_NAMESPACE} get configmap ${SITE_DEVICES_CONFIGMAP} --ignore-not-found -o "jsonpath={.data.$1}"; }

listed_site="$(cm site)"
if [ -z "$listed_site" ]; then
  log "no device list yet (it arrives with the site's desired state); nothing to do"
  exit 0
fi
if [ "$listed_site" != "$SITE" ]; then
  log "refusing: the device list is for site '$listed_site', this server is of site '$SITE'"
  exit 3
fi
devices="$(cm devices)"
labels="$(cm labels)"
taint="$(cm taint)"
taint_enabled="$(cm taintEnabled)"
taint_key="\${taint%%=*}"
taint_rest="\${taint#*=}"
taint_value="\${taint_rest%%:*}"
taint_effect="\${taint_rest##*:}"

nodes=" $(kc get nodes -o 'jsonpath={range .items[*]}{.metadata.name}{" "}{end}') "
has_node() { [[ "$nodes" == *" $1 "* ]]; }

# Labels: K3s sets --node-label only when a node registers; later changes come from here.
while read -r name kv; do
  [ -n "\${name:-}" ] || continue
  if has_node "$name"; then kc label node "$name" "$kv" --overwrite >/dev/null; fi
done <<<"$labels"

# DaemonSets that would not run on a tainted worker: the taint waits until there are none.
untolerated=""
while IFS=$'\\t' read -r ds tolerations; do
  [ -n "\${ds:-}" ] || continue
  ok=0
  IFS=',' read -r -a list <<<"\${tolerations:-}"
  for t in "\${list[@]}"; do
    IFS='|' read -r key op value effect <<<"$t"
    [ -z "$effect" ] || [ "$effect" = "$taint_effect" ] || continue
    if [ "$op" = "Exists" ] && { [ -z "$key" ] || [ "$key" = "$taint_key" ]; }; then ok=1; fi
    if [ "$op" != "Exists" ] && [ "$key" = "$taint_key" ] && [ "$value" = "$taint_value" ]; then ok=1; fi
  done
  if [ "$ok" = 0 ]; then untolerated="$untolerated $ds"; fi
done < <(kc get daemonsets -A -o 'jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name}{"\\t"}{range .spec.template.spec.tolerations[*]}{.key}|{.operator}|{.value}|{.effect},{end}{"\\n"}{end}')

node_has_taint() {
  local keys
  keys=" $(kc get node "$1" -o 'jsonpath={range .spec.taints[*]}{.key}:{.effect}{" "}{end}') "
  [[ "$keys" == *" $taint_key:$taint_effect "* ]]
}

listed=" "
while read -r name role tainted; do
  [ -n "\${name:-}" ] || continue
  listed="$listed$name "
  has_node "$name" || continue
  if [ "$taint_enabled" = true ] && [ "$tainted" = 1 ]; then
    if node_has_taint "$name"; then continue; fi
    if [ -n "$untolerated" ]; then
      log "not tainting $name yet: these DaemonSets do not tolerate $taint:$untolerated"
      continue
    fi
    kc taint node "$name" "$taint_key=$taint_value:$taint_effect" --overwrite >/dev/null
    log "tainted $name with $taint"
  elif node_has_taint "$name"; then
    kc taint node "$name" "$taint_key:$taint_effect-" >/dev/null
    log "removed $taint from $name ($role)"
  fi
done <<<"$devices"

# Revocation: a node of this site that config no longer lists loses its node and its K3s node
# password, so it cannot come back under that name.
for node in $(kc get nodes -l "${SITE_LABEL}=$SITE" -o 'jsonpath={range .items[*]}{.metadata.name}{" "}{end}'); do
  if [[ "$listed" == *" $node "* ]]; then continue; fi
  kc delete node "$node" --wait=false >/dev/null
  kc -n kube-system delete secret "$node.node-password.k3s" --ignore-not-found >/dev/null
  log "revoked $node at $(date -u +%Y-%m-%dT%H:%M:%SZ): no longer a device of site $SITE"
done
`;
}
