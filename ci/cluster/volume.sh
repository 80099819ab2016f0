#!/usr/bin/env bash
# The single-node cluster has no storage provisioner: this makes the hostPath PersistentVolume a
# claim binds to (pre-bound to it by claimRef, so no other claim takes it), in a directory under
# the cluster's state; `--delete` removes the namespace's volumes and their data.
#   ci/cluster/volume.sh <namespace> <claim> [size]      ci/cluster/volume.sh --delete <namespace>
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=ci/cluster/env.sh
source "$here/env.sh"
# shellcheck source=ci/cluster/lib.sh
source "$here/lib.sh"
if [[ "${1:-}" == --delete ]]; then
  namespace="${2:?usage: ci/cluster/volume.sh --delete <namespace>}"
  kubectl_node delete pv -l "chaos-platform.dev/claim-namespace=$namespace" --ignore-not-found --wait=false >/dev/null
  rm -rf --one-file-system "$CLUSTER_STATE/pv/$namespace"
  exit 0
fi
namespace="${1:?usage: ci/cluster/volume.sh <namespace> <claim> [size]}"
claim="${2:?usage: ci/cluster/volume.sh <namespace> <claim> [size]}"
size="${3:-2Gi}"
dir="$CLUSTER_STATE/pv/$namespace/$claim"
# Whatever uid the pod runs as owns what it creates inside (hostPath volumes get no fsGroup).
mkdir -p "$dir"
chmod 0777 "$dir"
kubectl_node apply -f - >/dev/null <<YAML
apiVersion: v1
kind: PersistentVolume
metadata:
  name: $namespace-$claim
  labels: { chaos-platform.dev/claim-namespace: $namespace }
spec:
  capacity: { storage: $size }
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  claimRef: { namespace: $namespace, name: $claim }
  hostPath: { path: $dir, type: Directory }
YAML
