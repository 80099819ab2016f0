#!/usr/bin/env bash
# Runs chaosctl's default suite inside the cluster: the chart's chaos-suite helm test, a pod with
# the release's least-privilege chaosctl ServiceAccount and the labels the NetworkPolicies admit
# (a port-forward would die with the very pod pod-kill deletes). Then renders its report into
# <report-dir> with the chaosctl image: chaos-report.json, chaos-junit.xml, chaos-report.html,
# and keeps the pod's whole log as chaos-suite.log. Exit code: 0 when every threshold held.
set -euo pipefail
namespace="${1:?usage: ci/chaos-test.sh <namespace> <report-dir> <image-tag>}"
report_dir="${2:?usage: ci/chaos-test.sh <namespace> <report-dir> <image-tag>}"
tag="${3:?usage: ci/chaos-test.sh <namespace> <report-dir> <image-tag>}"
cd "$(dirname "$0")/.."
. ci/lib.sh
require_kubeconfig
mkdir -p "$report_dir"
status=0
helm_ci test "$RELEASE" --namespace "$namespace" --filter "name=$CHAOS_SUITE_TEST" --timeout 25m &
wait_failing_fast "$namespace" $! || status=$?
# The pod's phase can say it ended before the runtime has written the last of its output to the
# log (containerd copies it in 64 KiB chunks): read the log again until the report in it is whole
# (its closing `}` line), for 15 s at most.
for _ in $(seq 1 15); do
  kubectl_ci --namespace "$namespace" logs "pod/$CHAOS_SUITE_TEST" > "$report_dir/chaos-suite.log" || true
  ci/report-from-log.sh "$report_dir/chaos-suite.log" > "$report_dir/chaos-report.json"
  [ "$(tail -n 1 "$report_dir/chaos-report.json")" = "}" ] && break
  sleep 1
done
if [ ! -s "$report_dir/chaos-report.json" ]; then
  echo "ci: the chaos suite left no report (its log: $report_dir/chaos-suite.log)" >&2
  exit 1
fi
chaosctl_in_image "$tag" "$report_dir" report /reports/chaos-report.json --report-dir /reports || status=$?
exit "$status"
