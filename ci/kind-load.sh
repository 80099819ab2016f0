#!/usr/bin/env bash
# Creates the KIND cluster when it does not exist (the pinned node image), writes the pipeline's
# own kubeconfig for it (`kind get kubeconfig`; the agent's ~/.kube/config is never touched), and
# loads every image the chart runs into it: the platform's, PostgreSQL's, the helm test's curl and
# network-delay's netem image (pulled first when the agent lacks them).
set -euo pipefail
cluster="${1:?usage: ci/kind-load.sh <cluster> <tag>}"
tag="${2:?usage: ci/kind-load.sh <cluster> <tag>}"
cd "$(dirname "$0")/.."
KIND_CLUSTER="$cluster"
. ci/lib.sh
require_tools
if ! kind get clusters | grep -qx "$cluster"; then
  kind create cluster --name "$cluster" --image "$KIND_NODE_IMAGE" --kubeconfig "$KIND_KUBECONFIG" --wait 120s
fi
mkdir -p "$(dirname "$KIND_KUBECONFIG")"
(umask 077 && kind get kubeconfig --name "$cluster" > "$KIND_KUBECONFIG")
for image in $(ci/chart-images.sh "$tag"); do
  case "$image" in
    chaos-platform/*) ;; # built by ci/build-images.sh
    *) docker image inspect "$image" >/dev/null 2>&1 || docker pull "$image" ;;
  esac
  kind load docker-image --name "$cluster" "$image"
done
