#!/usr/bin/env bash
# Prints this build's namespace: chaos-<build number>-<hash of the job name> under Jenkins (every
# branch and build its own, a valid DNS label), chaos-platform by hand. A build never meets the
# volume claims, kept Secret or half-finished release an earlier one left.
set -euo pipefail
if [ -n "${BUILD_NUMBER:-}" ] && [ -n "${JOB_NAME:-}" ]; then
  echo "chaos-${BUILD_NUMBER}-$(printf '%s' "$JOB_NAME" | sha1sum | cut -c1-10)"
else
  echo chaos-platform
fi
