#!/usr/bin/env bash
# Prints the JSON report from the chaos suite pod's log (`kubectl logs` merges its streams):
# progress lines (stderr), then the report `run-all --json` prints on stdout, pretty-printed from
# an opening `{` line to the end. Prints nothing when the log holds no report.
set -euo pipefail
log="${1:?usage: ci/report-from-log.sh <log>}"
awk '/^\{$/ { report = "" } { report = report $0 "\n" } END { if (report ~ /^\{\n/) printf "%s", report }' "$log"
