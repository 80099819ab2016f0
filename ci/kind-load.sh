#!/usr/bin/env bash
# Loads the images into a KIND cluster (creating the cluster when it does not exist).
set -euo pipefail
cluster="${1:?usage: ci/kind-load.sh <cluster> <tag>}"
tag="${2:?usage: ci/kind-load.sh <cluster> <tag>}"
kind get clusters | grep -qx "$cluster" || kind create cluster --name "$cluster" --wait 120s
for image in order-service inventory-service notification-service chaosctl; do
  kind load docker-image --name "$cluster" "chaos-platform/$image:$tag"
done
