#!/usr/bin/env bash
# Builds the three service images and chaosctl's from docker/Dockerfile, tagged with the given tag
# (CI: the git SHA):  ci/build-images.sh <tag>
# The four builds share the Dockerfile's `workspace` stage (install and compile, once); the first
# build makes it, the other three take it from the build cache. Prints each build's time.
#   CONTAINER_ENGINE   docker or podman (default: docker when its daemon answers, else podman)
#   IMAGE_BUILD_FLAGS  extra flags for every build, split on spaces (.ci/podman-machine.sh sets them)
set -euo pipefail
tag="${1:?usage: ci/build-images.sh <tag>}"
cd "$(dirname "$0")/.."

engine="${CONTAINER_ENGINE:-}"
if [ -z "$engine" ]; then
  if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
    engine=docker
  elif command -v podman >/dev/null 2>&1; then
    engine=podman
  else
    echo "build-images: neither a docker daemon nor podman is available" >&2
    exit 1
  fi
fi
read -r -a extra <<<"${IMAGE_BUILD_FLAGS:-}"

build() {
  local image="$1"
  shift
  local started=$SECONDS
  "$engine" build "${extra[@]}" -f docker/Dockerfile -t "chaos-platform/$image:$tag" "$@" .
  echo "build-images: chaos-platform/$image:$tag built in $((SECONDS - started)) s"
}

for service in order-service inventory-service notification-service; do
  build "$service" --target service --build-arg SERVICE="$service"
done
build chaosctl --target chaosctl
