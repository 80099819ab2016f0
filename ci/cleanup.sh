#!/usr/bin/env bash
# Removes the release (the KIND cluster is kept for the next build; `kind delete cluster` drops it).
set -euo pipefail
namespace="${1:?usage: ci/cleanup.sh <namespace>}"
cd "$(dirname "$0")/.."
export PATH="$(ci/helm-tools.sh):$PATH"
helm uninstall chaos-platform --namespace "$namespace" --wait || true
