#!/usr/bin/env bash
# Installs or upgrades the chart into <namespace> on the CI cluster (ci/lib.sh) with CI's values and waits for
# every pod to be ready; a failed install or upgrade rolls back, and a container that cannot pull
# its image or be configured fails the step at once. Then the chart's own test places an order.
set -euo pipefail
namespace="${1:?usage: ci/deploy.sh <namespace> <tag>}"
tag="${2:?usage: ci/deploy.sh <namespace> <tag>}"
cd "$(dirname "$0")/.."
. ci/lib.sh
require_tools
require_kubeconfig
provide_volumes "$namespace"
helm_ci upgrade --install "$RELEASE" charts/chaos-platform \
  --namespace "$namespace" --create-namespace \
  "${CI_VALUES[@]}" --set global.image.tag="$tag" \
  --wait --rollback-on-failure --timeout 10m &
wait_failing_fast "$namespace" $!
helm_ci test "$RELEASE" --namespace "$namespace" --filter "name=$PLACE_ORDER_TEST" --timeout 2m &
wait_failing_fast "$namespace" $!
