/** Small host files of E3: SSH, node exporter, data disk, custom CA trust, package sync. */

/** sshd drop-in: maintenance SSH on its own port, keys only. */
export function renderSshdConfig(port: number): string {
  return `# Rendered by the EDP Pulumi program (components/e3/render/host.ts).
Port ${port}
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
`;
}

/** /etc/default/prometheus-node-exporter: port and the textfile directory the CRL metrics go to. */
export function renderNodeExporterDefaults(port: number, textfileDir: string): string {
  return `# Rendered by the EDP Pulumi program (components/e3/render/host.ts).
ARGS="--web.listen-address=:${port} --collector.textfile.directory=${textfileDir}"
`;
}

export interface DataDiskParams {
  /** Alibaba disk id (d-...); the guest sees it as the disk's serial without the "d-". */
  diskId: string;
  mountPoint: string;
  label: string;
  /** Seconds to wait for the attachment to show up. */
  waitSeconds: number;
}

/**
 * Finds the data disk by its serial (never by a device name such as /dev/vdb, which depends on
 * the instance type), creates a file system only when there is none, and mounts it.
 */
export function renderDataDiskScript(p: DataDiskParams): string {
  const serial = p.diskId.replace(/^d-/, "");
  return `#!/bin/bash
# Rendered by the EDP Pulumi program (components/e3/render/host.ts).
set -euo pipefail
serial='${serial}'
mount_point='${p.mountPoint}'
label='${p.label}'

device=""
for _ in $(seq 1 ${Math.max(1, Math.ceil(p.waitSeconds / 5))}); do
  for candidate in /dev/disk/by-id/*"$serial"; do
    if [ -b "$candidate" ]; then device=$(readlink -f "$candidate"); break 2; fi
  done
  sleep 5
done
[ -n "$device" ] || { echo "data disk with serial $serial is not attached" >&2; exit 1; }

# A file system is made only on an empty disk: never on one that holds data.
if ! blkid -p "$device" >/dev/null 2>&1; then
  mkfs.ext4 -q -L "$label" "$device"
fi
mkdir -p "$mount_point"
if ! grep -q "^LABEL=$label " /etc/fstab; then
  echo "LABEL=$label $mount_point ext4 defaults,nofail,x-systemd.device-timeout=5min 0 2" >> /etc/fstab
  systemctl daemon-reload
fi
mountpoint -q "$mount_point" || mount "$mount_point"
`;
}

/** Splits a PEM bundle into its certificates (update-ca-certificates wants one per file). */
export function splitPemCertificates(bundle: string): string[] {
  const found = bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return found.map((c) => `${c.trim()}\n`);
}

export interface PackageSyncParams {
  /** rsync source of the master repository: user@host:/path. */
  upstream: string;
  /** SSH port of the master repository. */
  upstreamPort: number;
  /** Directory Apache publishes the mirror from. */
  destination: string;
  /** Private key of the packages user. */
  keyFile: string;
}

/**
 * sync-packages (manual §4.7): mirrors the master repository over SSH. The repository is copied
 * as published, with its upstream signatures, so devices keep trusting the key they already have.
 */
export function renderPackageSyncScript(p: PackageSyncParams): string {
  return `#!/bin/bash
# Rendered by the EDP Pulumi program (components/e3/render/host.ts).
set -euo pipefail
exec rsync --archive --delete --delay-updates --partial-dir=.rsync-partial \\
  -e "ssh -i ${p.keyFile} -p ${p.upstreamPort} -o BatchMode=yes -o StrictHostKeyChecking=accept-new" \\
  '${p.upstream.replace(/\/*$/, "/")}' '${p.destination.replace(/\/*$/, "/")}'
`;
}

export function renderPackageSyncUnits(scriptPath: string): { service: string; timer: string } {
  return {
    service: `[Unit]
Description=Mirror the Debian master repository (EDP, manual 4.7)
Wants=network-online.target
After=network-online.target
RequiresMountsFor=/srv/edp

[Service]
Type=oneshot
User=packages
ExecStart=${scriptPath}
`,
    timer: `[Unit]
Description=Mirror the Debian master repository hourly (EDP)

[Timer]
OnBootSec=10min
OnUnitActiveSec=1h
RandomizedDelaySec=5min

[Install]
WantedBy=timers.target
`,
  };
}
