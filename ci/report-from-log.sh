#!/usr/bin/env bash
# Prints the JSON report from the chaos suite pod's log (`kubectl logs` merges its streams):
# progress lines (stderr), then the report `run-all --json` prints on stdout, pretty-printed from
# an opening `{` line to its closing `}` line. The container runtime copies the two streams line by
# line as each arrives, so a progress line can land among the report's (seen on a real containerd):
# inside the report only its own lines count, each indented or its closing `}`. Prints nothing when
# the log holds no report.
set -euo pipefail
log="${1:?usage: ci/report-from-log.sh <log>}"
awk '/^\{$/ { report = ""; inside = 1 }
     inside && (/^\{$/ || /^\}$/ || /^ /) { report = report $0 "\n" }
     END { if (report ~ /^\{\n/) printf "%s", report }' "$log"
