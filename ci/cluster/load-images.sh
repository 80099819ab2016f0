#!/usr/bin/env bash
# The single-node cluster's counterpart of ci/kind-load.sh: puts every image the chart runs into
# the node's containerd (nothing is pulled from a registry): the four built by ci/build-images.sh
# <tag>, saved from podman or docker, and the third-party stand-ins of ci/cluster/stand-ins.sh.
#   ci/cluster/load-images.sh <tag>
set -euo pipefail
tag="${1:?usage: ci/cluster/load-images.sh <tag>}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=ci/cluster/env.sh
source "$here/env.sh"
# shellcheck source=ci/cluster/lib.sh
source "$here/lib.sh"
[[ -S "$CLUSTER_RUN/containerd/containerd.sock" ]] || fail "the cluster is not up: npm run cluster:up"
engine="${CONTAINER_ENGINE:-}"
if [[ -z "$engine" ]]; then
  if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then engine=docker; else engine=podman; fi
fi
started=$SECONDS
images=()
for name in order-service inventory-service notification-service chaosctl; do
  image="chaos-platform/$name:$tag"
  "$engine" image inspect "$image" >/dev/null 2>&1 || fail "no image $image: run ci/build-images.sh $tag first"
  images+=("$image")
done
archive="$(mktemp --suffix=.tar)"
trap 'rm -f "$archive"' EXIT
# One archive: the four images share their base layers.
if [[ $engine == podman ]]; then
  podman save --quiet --multi-image-archive --format docker-archive -o "$archive" "${images[@]}"
else
  docker save -o "$archive" "${images[@]}"
fi
ctr_node images import "$archive" >/dev/null
# podman names a local image localhost/<name>; Kubernetes asks for docker.io/<name>.
present="$(ctr_node images ls -q)"
for image in "${images[@]}"; do
  if grep -qx "localhost/$image" <<<"$present"; then
    ctr_node images tag --force "localhost/$image" "docker.io/$image" >/dev/null
  fi
done
ctr_node images import "$("$here/stand-ins.sh")" >/dev/null
echo "cluster: images loaded in $((SECONDS - started)) s" >&2
