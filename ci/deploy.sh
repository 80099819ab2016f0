#!/usr/bin/env bash
# Installs or upgrades the chart and waits for every pod to be ready; a failed upgrade rolls back.
set -euo pipefail
namespace="${1:?usage: ci/deploy.sh <namespace> <tag>}"
tag="${2:?usage: ci/deploy.sh <namespace> <tag>}"
cd "$(dirname "$0")/.."
export PATH="$(ci/helm-tools.sh):$PATH"
helm upgrade --install chaos-platform charts/chaos-platform \
  --namespace "$namespace" --create-namespace \
  --set global.image.tag="$tag" \
  --wait --atomic --timeout 10m
helm test chaos-platform --namespace "$namespace" --timeout 2m
