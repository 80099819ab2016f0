#!/usr/bin/env bash
# Builds the three service images and chaosctl's, tagged with the given tag (CI: the git SHA).
set -euo pipefail
tag="${1:?usage: ci/build-images.sh <tag>}"
cd "$(dirname "$0")/.."
for service in order-service inventory-service notification-service; do
  docker build -f docker/service.Dockerfile --build-arg SERVICE="$service" -t "chaos-platform/$service:$tag" .
done
docker build -f docker/chaosctl.Dockerfile -t "chaos-platform/chaosctl:$tag" .
