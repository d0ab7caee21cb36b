/**
 * First-boot user data of the E3 host. It installs Debian's packages, creates the users and
 * moves SSH to the maintenance port, and nothing else: every configuration file (and every
 * secret) arrives later through Cloud Assistant or SSH (the apply script), so the instance ignores changes to
 * its user data and a changed setting never replaces the VM. User data is readable by anyone
 * allowed to describe the instance, another reason it carries no secret.
 */
import { plainYaml } from "../../shared/yaml";
import { renderSshdConfig } from "./host";

/** Debian 12 packages of the E3 host. */
export const E3_PACKAGES = [
  "apache2",
  "ca-certificates",
  "curl",
  "dehydrated",
  "docker-registry",
  "git",
  "notary",
  "openssl",
  "postgresql",
  "prometheus-node-exporter",
  "rsync",
] as const;

export interface CloudInitParams {
  hostname: string;
  sshPort: number;
  /** The deploy user the apply command logs in as, when the configuration comes over SSH. */
  deploy?: { user: string; publicKey: string };
}

export function renderCloudInit(p: CloudInitParams): string {
  const doc = {
    hostname: p.hostname,
    preserve_hostname: false,
    package_update: true,
    package_upgrade: true,
    packages: [...E3_PACKAGES],
    ssh_pwauth: false,
    disable_root: true,
    users: [
      "default",
      ...(p.deploy
        ? [
            {
              name: p.deploy.user,
              gecos: "EDP configuration delivery (Pulumi)",
              shell: "/bin/bash",
              lock_passwd: true,
              sudo: "ALL=(ALL) NOPASSWD:ALL",
              ssh_authorized_keys: [p.deploy.publicKey.trim()],
            },
          ]
        : []),
      { name: "packages", gecos: "Debian package mirror (manual 4.7)", shell: "/bin/bash", lock_passwd: true },
      { name: "notary", gecos: "Notary server and signer", system: true, shell: "/usr/sbin/nologin" },
    ],
    write_files: [{ path: "/etc/ssh/sshd_config.d/10-edp.conf", content: renderSshdConfig(p.sshPort), permissions: "0644", owner: "root:root" }],
    runcmd: [["systemctl", "restart", "ssh"]],
  };
  return `#cloud-config\n${plainYaml(doc)}`;
}
