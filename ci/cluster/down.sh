#!/usr/bin/env bash
# Stops the single-node cluster and returns the machine to how it was before ci/cluster/up.sh:
# no process, mount, cgroup, network namespace, veth or route of it left, its state removed (the
# built binaries stay cached). Idempotent; `--check` only reports what is left and exits 1 if any.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=ci/cluster/env.sh
source "$here/env.sh"

# What of the cluster is still on this machine, one line each (nothing when it is all gone).
leftovers() {
  local pid
  for pid in $(pgrep -f "$CLUSTER_BIN/|$CLUSTER_RUN/containerd" || true); do
    [[ $pid == "$$" ]] || echo "process $pid: $(tr '\0' ' ' </proc/"$pid"/cmdline 2>/dev/null | cut -c1-120)"
  done
  { grep -E " ($CLUSTER_STATE|$CLUSTER_RUN|/run/netns/$CLUSTER_NETNS)[/ ]" /proc/self/mounts || true; } | awk '{print "mount " $2}'
  [[ -e "/run/netns/$CLUSTER_NETNS" ]] && echo "network namespace $CLUSTER_NETNS"
  ip link show chaos-host >/dev/null 2>&1 && echo "veth chaos-host"
  { ip route show | grep -E "^($CLUSTER_SERVICE_CIDR|$CLUSTER_POD_CIDR|$CLUSTER_LINK_CIDR) " || true; } | sed 's/^/route /'
  local cg
  for cg in /sys/fs/cgroup/*/kubepods; do [[ -d $cg ]] && echo "cgroup $cg"; done
  [[ -e $CLUSTER_STATE || -e $CLUSTER_RUN ]] && echo "state $CLUSTER_STATE $CLUSTER_RUN"
  find /var/log/containers -maxdepth 1 -type l -lname "$CLUSTER_STATE/*" -printf 'log link %p\n' 2>/dev/null || true
  return 0
}

if [[ "${1:-}" == --check ]]; then
  left="$(leftovers)"
  [[ -z "$left" ]] && exit 0
  echo "$left"
  exit 1
fi
[[ $(id -u) -eq 0 ]] || { echo "cluster: needs root" >&2; exit 1; }

# Every container's processes first (they sit in the kubelet's cgroups, whichever shim started
# them), then the components, newest first, then the shims.
kill_cgroup_tree() {
  local controller="$1" dir
  [[ -d "/sys/fs/cgroup/$controller/kubepods" ]] || return 0
  # Freeze, kill, thaw: nothing forks in between.
  find "/sys/fs/cgroup/$controller/kubepods" -name cgroup.procs -exec cat {} + 2>/dev/null | xargs -r kill -9 2>/dev/null || true
}
for _ in 1 2 3; do kill_cgroup_tree pids; kill_cgroup_tree memory; done
for name in coredns kube-proxy kubelet containerd kube-scheduler kube-controller-manager kube-apiserver etcd; do
  pid="$(cat "$CLUSTER_RUN/pids/$name.pid" 2>/dev/null || true)"
  [[ -n "$pid" ]] && kill -TERM "$pid" 2>/dev/null || true
done
for _ in $(seq 1 50); do
  pgrep -f "$CLUSTER_BIN/|$CLUSTER_RUN/containerd" >/dev/null || break
  sleep 0.2
done
pkill -9 -f "$CLUSTER_BIN/|$CLUSTER_RUN/containerd" 2>/dev/null || true
for _ in $(seq 1 25); do
  pgrep -f "$CLUSTER_BIN/|$CLUSTER_RUN/containerd" >/dev/null || break
  sleep 0.2
done

# Mounts: volumes, overlay roots, shm, pod network namespaces; deepest first.
for _ in 1 2 3; do
  { grep -E " ($CLUSTER_STATE|$CLUSTER_RUN)[/ ]" /proc/self/mounts || true; } | awk '{print $2}' | sort -r |
    while read -r mount; do umount "$mount" 2>/dev/null || umount -l "$mount" 2>/dev/null || true; done
done

# The kubelet's links to our containers' logs (its legacy /var/log/containers).
find /var/log/containers -maxdepth 1 -type l -lname "$CLUSTER_STATE/*" -delete 2>/dev/null || true

# The kubelet's cgroups, deepest first, in every v1 hierarchy.
for cg in /sys/fs/cgroup/*/kubepods; do
  [[ -d $cg ]] && find "$cg" -depth -type d -exec rmdir {} \; 2>/dev/null || true
done

# Network: the route, the veth pair (both ends go with the namespace), the namespace.
ip route del "$CLUSTER_SERVICE_CIDR" 2>/dev/null || true
ip link del chaos-host 2>/dev/null || true
if [[ -e "/run/netns/$CLUSTER_NETNS" ]]; then
  ip netns del "$CLUSTER_NETNS" 2>/dev/null || true
fi
rm -rf --one-file-system "$CLUSTER_STATE" "$CLUSTER_RUN"

left="$(leftovers)"
if [[ -n "$left" ]]; then
  echo "cluster: down, but left behind:" >&2
  echo "$left" >&2
  exit 1
fi
echo "cluster: down" >&2
