#!/usr/bin/env bash
# Installs what the tests need on a fresh Debian 12 machine with any Node >= 20 (npm ci brings the
# project's own Node 24, the pinned `node` package, which every npm script runs under): the Debian packages
# listed in .ci/debian-packages.txt (as root, or with sudo), the pinned npm packages, the pinned
# Helm 3 the chart tests render with, and the chart cache (scripts/charts.ts: from
# EDP_CHART_ARCHIVES or ../shared/charts, else `helm pull`; every archive checked by digest).
set -euo pipefail
cd "$(dirname "$0")/.."

mapfile -t packages < <(grep -v -E '^\s*(#|$)' .ci/debian-packages.txt)
if [ "${#packages[@]}" -gt 0 ]; then
  missing=()
  for p in "${packages[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p"); done
  if [ "${#missing[@]}" -gt 0 ]; then
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    echo "installing Debian packages: ${missing[*]}"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

# The E3-in-a-box test's Debian root (tests/harness/e3-box.ts): the longest step on a fresh
# machine, mostly one core of dpkg, so it runs in the background (detached: it may outlast this
# script) while the rest of setup and the first tests run. It runs at nice 10: the tests, which
# use both cores, come first, and it takes what they leave. The box test waits for it under the
# same lock; a root already in the cache is reused at once.
mkdir -p .cache
if [ "$(id -u)" -eq 0 ]; then
  setsid nohup nice -n 10 npx tsx tests/harness/e3-box-root.ts > .cache/e3-box-root.log 2>&1 < /dev/null &
fi

bash scripts/install-helm.sh
npx tsx scripts/charts.ts
