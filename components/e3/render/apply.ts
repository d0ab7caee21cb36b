/**
 * The script that delivers E3's configuration over SSH (remote.Command, script on stdin, never
 * written to disk): it writes each file only when its content differs, remembers which groups of
 * files changed, and then runs the host steps, which look at those groups to decide what to
 * reload. Running it twice changes nothing the second time.
 */
import { createHash } from "node:crypto";

export interface E3File {
  /** Absolute path on the host. */
  path: string;
  content: string;
  /** Octal mode, e.g. "0644". */
  mode: string;
  /** owner:group */
  owner: string;
  /** Group of files this belongs to; the host steps reload what a changed group needs. */
  tag: string;
}

/** A directory the apply creates (before any file in it) with its own mode and owner. */
export interface E3Dir {
  path: string;
  /** Octal mode, e.g. "0750". */
  mode: string;
  /** owner:group */
  owner: string;
}

/** A directory of which the apply keeps only the listed files (for sets that can shrink). */
export interface ManagedDir {
  path: string;
  /** Glob of the files the apply owns in it. */
  pattern: string;
  tag: string;
}

const TAG = /^[a-z][a-z0-9_]*$/;

const OWNER = /^[a-z_][a-z0-9_-]*:[a-z_][a-z0-9_-]*$/;

function assertValid(files: E3File[], dirs: E3Dir[]): void {
  for (const d of dirs) {
    if (!d.path.startsWith("/") || d.path.includes("'") || /\s/.test(d.path)) throw new Error(`bad directory ${JSON.stringify(d.path)}`);
    if (!/^0[0-7]{3}$/.test(d.mode)) throw new Error(`${d.path}: bad mode ${d.mode}`);
    if (!OWNER.test(d.owner)) throw new Error(`${d.path}: bad owner ${d.owner}`);
  }
  const seen = new Set<string>();
  for (const f of files) {
    if (!f.path.startsWith("/") || f.path.includes("'") || /\s/.test(f.path)) throw new Error(`bad path ${JSON.stringify(f.path)}`);
    if (seen.has(f.path)) throw new Error(`${f.path} is rendered twice`);
    seen.add(f.path);
    if (!/^0[0-7]{3}$/.test(f.mode)) throw new Error(`${f.path}: bad mode ${f.mode}`);
    if (!OWNER.test(f.owner)) throw new Error(`${f.path}: bad owner ${f.owner}`);
    if (!TAG.test(f.tag)) throw new Error(`${f.path}: bad tag ${f.tag}`);
  }
}

/** SHA-256 over every file's path, mode, owner and content (and the directories): the trigger of the apply command. */
export function filesHash(files: E3File[], dirs: E3Dir[] = []): string {
  const h = createHash("sha256");
  for (const f of [...files].sort((a, b) => a.path.localeCompare(b.path))) {
    h.update(`${f.path}\0${f.mode}\0${f.owner}\0${f.content.length}\0${f.content}\0`);
  }
  for (const d of [...dirs].sort((a, b) => a.path.localeCompare(b.path))) h.update(`dir\0${d.path}\0${d.mode}\0${d.owner}\0`);
  return h.digest("hex");
}

/** Users and groups the files and directories belong to: the apply waits until they exist. */
export function accountsOf(files: E3File[], dirs: E3Dir[]): { users: string[]; groups: string[] } {
  const owners = [...files, ...dirs].map((x) => x.owner.split(":"));
  return { users: [...new Set(owners.map(([u]) => u))].sort(), groups: [...new Set(owners.map(([, g]) => g))].sort() };
}

/**
 * Renders the apply script. With EDP_APPLY_ROOT set, files go under that prefix, ownership is
 * left alone and the host steps are skipped: the script prints the changed groups and stops
 * (how the unit-level tests run it; the E3-in-a-box test runs it as root on a Debian root).
 *
 * On the host it first waits (up to accountWaitSeconds) for cloud-init and for every user and
 * group a file belongs to: on first boot the packages and users come from cloud-init, and a
 * delivery that arrives earlier would otherwise fail on `chown` with an unknown group.
 */
export function renderApplyScript(files: E3File[], managedDirs: ManagedDir[], hostSteps: string, dirs: E3Dir[] = [], accountWaitSeconds = 900): string {
  assertValid(files, dirs);
  const accounts = accountsOf(files, dirs);
  const tags = [...new Set([...files.map((f) => f.tag), ...managedDirs.map((d) => d.tag)])].sort();
  const puts = files.map((f) => {
    const b64 = Buffer.from(f.content, "utf8").toString("base64");
    return `put '${f.path}' ${f.mode} ${f.owner} ${f.tag} <<'EDP_FILE'\n${b64.replace(/(.{76})/g, "$1\n")}\nEDP_FILE`;
  });
  const prunes = managedDirs.map((d) => {
    const keep = files.filter((f) => f.path.startsWith(`${d.path}/`)).map((f) => `'${f.path.slice(d.path.length + 1)}'`);
    return `prune '${d.path}' '${d.pattern}' ${d.tag} ${keep.join(" ")}`;
  });
  return `#!/bin/bash
# Rendered by the EDP Pulumi program (components/e3/render/apply.ts).
set -euo pipefail
# Directories are readable by default; each file is made private by mktemp (0600) and then gets
# its own mode, so no secret is ever readable in between. A umask of 077 here would create every
# parent directory 0700 root and lock the service users out of their own files.
umask 022
root="\${EDP_APPLY_ROOT:-}"
declare -A changed=(${tags.map((t) => `[${t}]=0`).join(" ")})

if [ -z "$root" ]; then
  # First boot: cloud-init installs the packages that create these accounts. Wait for them.
  if command -v cloud-init >/dev/null 2>&1; then cloud-init status --wait >/dev/null 2>&1 || true; fi
  deadline=$((SECONDS + ${accountWaitSeconds}))
  # <database> <kind> <name>: waits until getent knows the account.
  wait_for_account() {
    until getent "$1" "$3" >/dev/null; do
      [ "$SECONDS" -lt "$deadline" ] || { echo "$2 $3 does not exist after ${accountWaitSeconds}s; has cloud-init finished?" >&2; exit 1; }
      sleep 5
    done
  }
  for user in ${accounts.users.join(" ")}; do wait_for_account passwd user "$user"; done
  for group in ${accounts.groups.join(" ")}; do wait_for_account group group "$group"; done
fi

dir() {
  local path=$1 mode=$2 owner=$3 dest
  dest="$root$path"
  if [ -z "$root" ]; then
    install -d -m "$mode" -o "\${owner%%:*}" -g "\${owner##*:}" "$dest"
  else
    install -d -m "$mode" "$dest"
  fi
}

put() {
  local path=$1 mode=$2 owner=$3 tag=$4 dest tmp
  dest="$root$path"
  [ -d "$(dirname "$dest")" ] || install -d -m 0755 "$(dirname "$dest")"
  tmp=$(mktemp "$dest.edp-apply.XXXXXX")
  base64 -d > "$tmp"
  chmod "$mode" "$tmp"
  if [ -z "$root" ]; then chown "$owner" "$tmp"; fi
  if [ -f "$dest" ] && cmp -s "$tmp" "$dest" && [ "$(stat -c %a "$dest")" = "$(stat -c %a "$tmp")" ] \\
     && { [ -n "$root" ] || [ "$(stat -c %U:%G "$dest")" = "$owner" ]; }; then
    rm -f "$tmp"
    return 0
  fi
  mv -f "$tmp" "$dest"
  changed[$tag]=1
}

prune() {
  local dir=$1 pattern=$2 tag=$3 file name keep
  shift 3
  [ -d "$root$dir" ] || return 0
  for file in "$root$dir"/$pattern; do
    [ -e "$file" ] || continue
    name=$(basename "$file")
    keep=0
    for k in "$@"; do [ "$k" = "$name" ] && keep=1; done
    if [ "$keep" = 0 ]; then rm -f "$file"; changed[$tag]=1; fi
  done
}

${[...dirs].sort((a, b) => a.path.localeCompare(b.path)).map((d) => `dir '${d.path}' ${d.mode} ${d.owner}`).join("\n")}
${puts.join("\n")}
${prunes.join("\n")}

if [ -n "$root" ]; then
  for tag in $(printf '%s\\n' "\${!changed[@]}" | sort); do
    if [ "\${changed[$tag]}" = 1 ]; then echo "changed: $tag"; fi
  done
  exit 0
fi

${hostSteps}
`;
}
