#!/usr/bin/env bash
# Prints every image the chart runs with CI's values (ci/kind-values.yaml), one per line: the
# containers' images and the netem image chaosctl gives network-delay's ephemeral containers.
set -euo pipefail
tag="${1:?usage: ci/chart-images.sh <tag>}"
cd "$(dirname "$0")/.."
helm template chaos-platform charts/chaos-platform -f ci/kind-values.yaml --set global.image.tag="$tag" 2>/dev/null |
  sed -n -e 's/^ *image: *"\{0,1\}\([^"]*\)"\{0,1\} *$/\1/p' -e 's/.*--netem-image=\([^ ;]*\).*/\1/p' |
  sort -u
