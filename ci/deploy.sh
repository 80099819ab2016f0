#!/usr/bin/env bash
# Installs or upgrades the chart into <namespace> on the KIND cluster with CI's values and waits for
# every pod to be ready; a failed install or upgrade rolls back, and a container that cannot pull
# its image or be configured fails the step at once. Then the chart's own test places an order.
set -euo pipefail
namespace="${1:?usage: ci/deploy.sh <namespace> <tag>}"
tag="${2:?usage: ci/deploy.sh <namespace> <tag>}"
cd "$(dirname "$0")/.."
. ci/lib.sh
require_tools
require_kubeconfig
helm_kind upgrade --install "$RELEASE" charts/chaos-platform \
  --namespace "$namespace" --create-namespace \
  -f ci/kind-values.yaml --set global.image.tag="$tag" \
  --wait --rollback-on-failure --timeout 10m &
wait_failing_fast "$namespace" $!
helm_kind test "$RELEASE" --namespace "$namespace" --filter "name=$PLACE_ORDER_TEST" --timeout 2m &
wait_failing_fast "$namespace" $!
