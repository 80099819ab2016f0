#!/usr/bin/env bash
# Removes this build's release and its namespace: the volume claims and the kept database Secret
# go with it, so the next build starts from nothing. The cluster stays for the next build
# (`kind delete cluster --name <cluster>` or `npm run cluster:down` drops it). Never touches a
# system namespace.
set -euo pipefail
namespace="${1:?usage: ci/cleanup.sh <namespace>}"
cd "$(dirname "$0")/.."
. ci/lib.sh
case "$namespace" in
  default | kube-system | kube-public | kube-node-lease | local-path-storage)
    echo "ci: refusing to delete the namespace $namespace" >&2
    exit 1
    ;;
esac
if [ ! -s "$CI_KUBECONFIG" ]; then
  echo "ci: no kubeconfig at $CI_KUBECONFIG: nothing was deployed"
  exit 0
fi
helm_ci uninstall "$RELEASE" --namespace "$namespace" --ignore-not-found --wait --timeout 5m || true
kubectl_ci delete namespace "$namespace" --ignore-not-found --wait --timeout=5m
release_volumes "$namespace"
