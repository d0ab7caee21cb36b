/**
 * "E3 in a box": a Debian 12 root built with mmdebstrap from Debian's packages (the packages
 * E3's cloud-init user data lists, plus what Alibaba's Debian 12 image already has and the
 * configuration script uses), cached outside the repository under /var/cache/edp-tests/ keyed by
 * a hash of the package list. Each session mounts a copy-on-write overlay of the cached root in
 * its own mount, network and PID namespaces (unshare), with a loop device as the data disk, and
 * runs commands in it as root with chroot. Nothing in the box reaches beyond its loopback.
 *
 * Needs root, mmdebstrap, unshare/nsenter (util-linux), iproute2, overlayfs and loop devices.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import YAML from "yaml";

export const BOX_CACHE = process.env.EDP_BOX_CACHE ?? "/var/cache/edp-tests";
const SUITE = "bookworm";
const MIRRORS = [
  "deb http://deb.debian.org/debian bookworm main",
  "deb http://deb.debian.org/debian bookworm-updates main",
  "deb http://deb.debian.org/debian-security bookworm-security main",
];
/**
 * Packages of Alibaba's Debian 12 image that the configuration script uses (systemctl, mkfs.ext4,
 * sshd, sudo); the image has them before cloud-init runs.
 */
export const IMAGE_BASE_PACKAGES = ["systemd", "e2fsprogs", "openssh-server", "procps", "iproute2", "sudo", "ca-certificates"];
/** Bump when the way the root is built changes, so old caches are not reused. */
const BUILD_VERSION = 2;

export function canRunBox(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root (unshare, chroot, mount, loop devices)";
  for (const bin of ["mmdebstrap", "unshare", "nsenter", "losetup", "ip"]) {
    if (spawnSync("sh", ["-c", `command -v ${bin}`]).status !== 0) return `${bin} is not installed (.ci/debian-packages.txt)`;
  }
  return undefined;
}

export interface RootBuild {
  dir: string;
  /** Not built by this call (it may have waited for another process's build: seconds). */
  cached: boolean;
  seconds: number;
}

/** Where the cached root for these packages lives (keyed by the package list and build). */
export function rootDir(packages: string[]): string {
  const list = [...new Set([...IMAGE_BASE_PACKAGES, ...packages])].sort();
  const key = createHash("sha256").update(JSON.stringify({ SUITE, MIRRORS, list, BUILD_VERSION })).digest("hex").slice(0, 16);
  return path.join(BOX_CACHE, `e3-root-${key}`);
}

/**
 * The host's apt archive: scripts/setup.sh has just installed most of E3's packages on the host
 * (apache2, postgresql, docker-registry, notary, git, curl), so their .debs are there and the
 * build downloads only the rest.
 */
const HOST_APT_ARCHIVES = "/var/cache/apt/archives";

/**
 * The cached root for these packages, built first if there is none. The build is what a cold CI
 * machine pays for, so it is kept lean: minbase plus only the packages E3 needs, no recommends,
 * no documentation or locales, dpkg without fsync, and .debs from the host's apt archive.
 */
export function ensureRoot(packages: string[]): RootBuild {
  const list = [...new Set([...IMAGE_BASE_PACKAGES, ...packages])].sort();
  const dir = rootDir(packages);
  const built = () => fs.existsSync(path.join(dir, "etc", "debian_version"));
  if (built()) return { dir, cached: true, seconds: 0 };
  fs.mkdirSync(BOX_CACHE, { recursive: true });
  const tmp = `${dir}.building-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  const started = Date.now();
  const archives = fs.existsSync(HOST_APT_ARCHIVES) ? HOST_APT_ARCHIVES : undefined;
  const mmdebstrap = [
    "mmdebstrap",
    "--variant=minbase",
    "--mode=root",
    "--quiet",
    `--include=${list.join(",")}`,
    // Speed: no fsync during the build, no documentation or translations (mmdebstrap installs
    // no recommends by default).
    "--dpkgopt=force-unsafe-io",
    "--dpkgopt=path-exclude=/usr/share/man/*",
    "--dpkgopt=path-exclude=/usr/share/doc/*",
    "--dpkgopt=path-include=/usr/share/doc/*/copyright",
    "--dpkgopt=path-exclude=/usr/share/locale/*",
    "--dpkgopt=path-exclude=/usr/share/info/*",
    // The host's .debs, hard-linked into the root's archive (same file system: instant, and
    // what mmdebstrap later removes there is only the links); apt downloads the rest.
    ...(archives ? [`--setup-hook=mkdir -p "$1${HOST_APT_ARCHIVES}" && { cp -l ${archives}/*.deb "$1${HOST_APT_ARCHIVES}/" 2>/dev/null || true; }`] : []),
    SUITE,
    tmp,
    ...MIRRORS,
  ];
  // Under a lock: scripts/setup.sh starts this build in the background, and the test that needs
  // the root waits here for it (and then finds the root built) instead of building it twice.
  const r = spawnSync(
    "flock",
    [path.join(BOX_CACHE, "e3-root.lock"), "sh", "-c", 'dir=$0 tmp=$1; shift; test -e "$dir/etc/debian_version" && exit 0; "$@" && mv "$tmp" "$dir" && echo built', dir, tmp, ...mmdebstrap],
    { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 },
  );
  fs.rmSync(tmp, { recursive: true, force: true });
  if (r.status !== 0 || !built()) throw new Error(`building the E3 box root failed (${r.status}): ${(r.stderr ?? "").slice(-4000)}`);
  // Not built here: another process (setup's background build) did, and this one waited for it.
  return { dir, cached: !r.stdout.includes("built"), seconds: (Date.now() - started) / 1000 };
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** One running box: namespaces held by a sleeping process, the overlay root mounted in them. */
export class E3Box {
  readonly root: string;
  private holder?: ChildProcess;
  private nsPid = 0;
  private loop = "";
  private readonly work: string;

  constructor(
    private readonly lower: string,
    /** Serial of the data disk (the disk id without "d-"): the script finds it by this. */
    private readonly diskSerial: string,
  ) {
    this.work = fs.mkdtempSync(path.join(os.tmpdir(), "edp-e3-box-"));
    this.root = path.join(this.work, "root");
  }

  async start(): Promise<void> {
    for (const d of ["upper", "ovl-work", "root"]) fs.mkdirSync(path.join(this.work, d));
    this.holder = spawn("unshare", ["--mount", "--net", "--pid", "--fork", "--propagation", "private", "sleep", "infinity"], { stdio: "ignore" });
    const unsharePid = this.holder.pid ?? 0;
    for (let i = 0; i < 100 && !this.nsPid; i++) {
      const children = fs.existsSync(`/proc/${unsharePid}/task/${unsharePid}/children`) ? fs.readFileSync(`/proc/${unsharePid}/task/${unsharePid}/children`, "utf8").trim() : "";
      if (children) this.nsPid = Number(children.split(/\s+/)[0]);
      else await new Promise((r) => setTimeout(r, 50));
    }
    if (!this.nsPid) throw new Error("the box's namespaces did not come up");

    // The data disk: an empty 256 MiB loop device, as a freshly attached ESSD would be.
    const image = path.join(this.work, "data-disk.img");
    execFileSync("truncate", ["-s", "256M", image]);
    this.loop = execFileSync("losetup", ["--find", "--show", image], { encoding: "utf8" }).trim();
    const loopName = path.basename(this.loop);

    const r = this.root;
    const setup = `set -e
mount -t overlay overlay -o lowerdir=${this.lower},upperdir=${this.work}/upper,workdir=${this.work}/ovl-work ${r}
mount -t proc proc ${r}/proc
mount -t sysfs -o ro sysfs ${r}/sys
mount -t tmpfs -o mode=0755 tmpfs ${r}/dev
for n in null zero full random urandom tty; do touch ${r}/dev/$n; mount --bind /dev/$n ${r}/dev/$n; done
mkdir -p ${r}/dev/pts ${r}/dev/shm ${r}/dev/disk/by-id
mount -t devpts -o newinstance,ptmxmode=0666 devpts ${r}/dev/pts
ln -s pts/ptmx ${r}/dev/ptmx
ln -s /proc/self/fd ${r}/dev/fd; ln -s /proc/self/fd/0 ${r}/dev/stdin; ln -s /proc/self/fd/1 ${r}/dev/stdout; ln -s /proc/self/fd/2 ${r}/dev/stderr
mount -t tmpfs -o mode=1777 tmpfs ${r}/dev/shm
touch ${r}/dev/${loopName}; mount --bind ${this.loop} ${r}/dev/${loopName}
ln -s ../../${loopName} ${r}/dev/disk/by-id/virtio-${this.diskSerial}
mount -t tmpfs -o mode=0755 tmpfs ${r}/run
mount -t tmpfs -o mode=1777 tmpfs ${r}/tmp
ip link set lo up
`;
    const out = spawnSync("nsenter", ["-t", String(this.nsPid), "-m", "-n", "-p", "sh", "-c", setup], { encoding: "utf8" });
    if (out.status !== 0) throw new Error(`box setup failed: ${out.stderr}`);
    // What systemd does at boot for /run (e.g. /run/lock, which apache2ctl needs). Some entries
    // (for kernel features the box lacks) fail; the ones the packages declare for /run matter.
    this.exec("systemd-tmpfiles --create --boot --prefix=/run --prefix=/var/lib >/dev/null 2>&1 || true");
  }

  /** Runs a command on the host inside the box's network namespace (checks "from outside"). */
  outside(cmd: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv; timeout?: number } = {}): ExecResult {
    const r = spawnSync("nsenter", ["-t", String(this.nsPid), "-n", cmd, ...args], {
      encoding: "utf8",
      input: opts.input,
      env: opts.env ?? process.env,
      timeout: opts.timeout ?? 120_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  }

  /** Starts a long-running host process in the box's network namespace. */
  spawnOutside(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
    return spawn("nsenter", ["-t", String(this.nsPid), "-n", cmd, ...args], { stdio: ["ignore", "pipe", "pipe"], env });
  }

  /** Runs a command as root inside the box (chroot), with a clean root environment. */
  exec(script: string, opts: { input?: string; timeout?: number } = {}): ExecResult {
    const r = spawnSync(
      "nsenter",
      ["-t", String(this.nsPid), "-m", "-n", "-p", "chroot", this.root, "/usr/bin/env", "-i", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "LANG=C.UTF-8", "bash", "-c", script],
      { encoding: "utf8", input: opts.input, timeout: opts.timeout ?? 600_000, maxBuffer: 64 * 1024 * 1024 },
    );
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  }

  /** As exec, but asynchronous (for runs that must overlap with requests from the test). */
  execAsync(script: string): Promise<ExecResult> {
    return new Promise((resolve) => {
      const p = spawn(
        "nsenter",
        ["-t", String(this.nsPid), "-m", "-n", "-p", "chroot", this.root, "/usr/bin/env", "-i", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "bash", "-c", script],
        { stdio: ["ignore", "pipe", "pipe"] },
      );
      let stdout = "";
      let stderr = "";
      p.stdout.on("data", (d) => (stdout += String(d)));
      p.stderr.on("data", (d) => (stderr += String(d)));
      p.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
    });
  }

  /** Applies what cloud-init would from the user data: users and write_files (packages are in the root already). */
  applyUserData(userData: string): void {
    const doc = YAML.parse(userData.replace(/^#cloud-config\n/, "")) as {
      users?: (string | { name: string; gecos?: string; shell?: string; system?: boolean; sudo?: string; ssh_authorized_keys?: string[] })[];
      write_files?: { path: string; content: string; permissions?: string; owner?: string }[];
    };
    const lines: string[] = ["set -e"];
    for (const u of doc.users ?? []) {
      if (typeof u === "string") continue;
      const opts = [u.system ? "--system" : "--create-home", "--user-group", "--shell", u.shell ?? "/bin/bash", "--comment", JSON.stringify(u.gecos ?? "")].join(" ");
      lines.push(`getent passwd ${u.name} >/dev/null || useradd ${opts} ${u.name}`);
      if (u.sudo) lines.push(`echo ${JSON.stringify(`${u.name} ${u.sudo}`)} > /etc/sudoers.d/90-cloud-init-users`);
      if (u.ssh_authorized_keys?.length) {
        lines.push(`install -d -m 0700 -o ${u.name} -g ${u.name} ~${u.name}/.ssh`);
        lines.push(`printf '%s\\n' ${u.ssh_authorized_keys.map((k) => JSON.stringify(k)).join(" ")} > ~${u.name}/.ssh/authorized_keys`);
      }
    }
    for (const f of doc.write_files ?? []) {
      const b64 = Buffer.from(f.content).toString("base64");
      lines.push(`mkdir -p "$(dirname ${f.path})"; echo ${b64} | base64 -d > ${f.path}; chmod ${f.permissions ?? "0644"} ${f.path}; chown ${f.owner ?? "root:root"} ${f.path}`);
    }
    const r = this.exec(lines.join("\n"));
    if (r.code !== 0) throw new Error(`applying the user data failed: ${r.stderr}`);
  }

  /** A path inside the box as the host sees it: through the namespace's root (the overlay is mounted only there). */
  hostPath(p: string): string {
    return path.join(`/proc/${this.nsPid}/root`, this.root, p);
  }

  /** Writes a file into the box as root (harness stand-ins, never part of the product). */
  writeFile(p: string, content: string, mode = 0o644): void {
    const target = this.hostPath(p);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, content);
    fs.chmodSync(target, mode);
  }

  readFile(p: string): string {
    return fs.readFileSync(this.hostPath(p), "utf8");
  }

  stop(): void {
    // Killing the namespace's init ends every process in the box; the mounts go with the namespace.
    if (this.nsPid) spawnSync("kill", ["-KILL", String(this.nsPid)]);
    this.holder?.kill("SIGKILL");
    for (let i = 0; i < 50 && this.nsPid && fs.existsSync(`/proc/${this.nsPid}`); i++) spawnSync("sleep", ["0.1"]);
    if (this.loop) spawnSync("losetup", ["-d", this.loop]);
    fs.rmSync(this.work, { recursive: true, force: true });
  }
}
