#!/usr/bin/env bash
# Runs chaosctl's default suite inside the cluster, as a Job with the chart's least-privilege
# `chaosctl` ServiceAccount (a port-forward would die with the very pod pod-kill deletes), then
# renders its report into <report-dir>: chaos-report.json, chaos-junit.xml, chaos-report.html.
# Exit code: chaosctl's (0 pass, 1 a threshold failed or a fault did not land).
set -euo pipefail
namespace="${1:?usage: ci/chaos-test.sh <namespace> <report-dir> [image-tag]}"
report_dir="${2:?usage: ci/chaos-test.sh <namespace> <report-dir> [image-tag]}"
tag="${3:-${IMAGE_TAG:-dev}}"
cd "$(dirname "$0")/.."
export PATH="$(ci/helm-tools.sh):$PATH"
marker='---chaos-report.json---'
# chaosctl itself renders the report here, so it must be built on this agent too.
[ -f cli/dist/cli.js ] || { npm ci --no-audit --no-fund && npx turbo run build --filter=@chaos-platform/chaosctl; }

kubectl -n "$namespace" delete job chaosctl --ignore-not-found --wait
kubectl -n "$namespace" apply -f - <<YAML
apiVersion: batch/v1
kind: Job
metadata:
  name: chaosctl
  labels: { app.kubernetes.io/name: chaosctl, app.kubernetes.io/part-of: chaos-platform }
spec:
  backoffLimit: 0
  activeDeadlineSeconds: 1500
  template:
    metadata:
      labels: { app.kubernetes.io/name: chaosctl, app.kubernetes.io/part-of: chaos-platform }
    spec:
      serviceAccountName: chaosctl
      restartPolicy: Never
      securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: RuntimeDefault } }
      containers:
        - name: chaosctl
          image: chaos-platform/chaosctl:${tag}
          command: [sh, -c]
          args:
            - node cli/dist/cli.js run-all --driver kubernetes --namespace ${namespace} --report-dir /tmp/reports;
              code=\$?; echo '${marker}'; cat /tmp/reports/chaos-report.json; exit \$code
          securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: [ALL] } }
          volumeMounts: [{ name: tmp, mountPath: /tmp }]
      volumes: [{ name: tmp, emptyDir: {} }]
YAML
kubectl -n "$namespace" wait job/chaosctl --for=jsonpath='{.status.conditions[?(@.status=="True")].type}' --timeout=25m >/dev/null || true
mkdir -p "$report_dir"
kubectl -n "$namespace" logs job/chaosctl | sed -n "/^${marker}\$/,\$p" | tail -n +2 > "$report_dir/chaos-report.json"
node cli/dist/cli.js report "$report_dir/chaos-report.json" --report-dir "$report_dir"
