#!/usr/bin/env bash
# Fails the build unless chaosctl's report says every experiment passed: recovery within the SLA,
# error rate and p95 within limits, no order lost. Prints each experiment's figures. Runs node in
# the chaosctl image: the agent needs none.
set -euo pipefail
report="${1:?usage: ci/validate.sh <chaos-report.json> <image-tag>}"
tag="${2:?usage: ci/validate.sh <chaos-report.json> <image-tag>}"
cd "$(dirname "$0")/.."
. ci/lib.sh
[ -s "$report" ] || { echo "ci: no report at $report" >&2; exit 1; }
node_in_image "$tag" "$(dirname "$report")" -e '
  const report = JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8"));
  for (const e of report.experiments) {
    const recovery = e.recovery.totalMs === null ? "-" : (e.recovery.totalMs / 1000).toFixed(2) + " s";
    console.log(`${e.status.toUpperCase().padEnd(5)} ${e.name}: recovery ${recovery}, errors ${(e.traffic.during.errorRate * 100).toFixed(2)}%, p95 ${e.traffic.during.p95Ms} ms`);
  }
  process.exit(report.verdict === "pass" ? 0 : 1);
' "/reports/$(basename "$report")"
