#!/usr/bin/env bash
# Builds the single-node cluster's binaries from the Go module proxy (versions and checksums pinned
# by build/go.mod, build/go.sum and build/coredns/), the pause binary from Kubernetes' own pause.c,
# and installs containerd, runc and the CNI plugins from Debian. Cached: a second run with the same
# pins does nothing.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=ci/cluster/env.sh
source "$here/env.sh"

need_debian() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  if ((${#missing[@]})); then
    echo "cluster: installing ${missing[*]} from Debian" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}
need_debian containerd runc containernetworking-plugins iptables iproute2 conntrack openssl gcc libc6-dev

# Kubernetes' binaries report the version they were released as (hack/lib/version.sh sets these).
version="$(sed -n 's/^require k8s.io\/kubernetes \(v[^ ]*\)$/\1/p' "$here/build/go.mod")"
minor="$(echo "$version" | cut -d. -f2)"
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done

# The cache is keyed by what the binaries are made of: the pins and the link flags.
stamp="$( (cat "$here/build/go.mod" "$here/build/go.sum" "$here/build/coredns/go.mod" "$here/build/coredns/go.sum"
  echo "$ldflags") | sha256sum | cut -c1-16)"
if [[ -f "$CLUSTER_BIN/.stamp" && "$(cat "$CLUSTER_BIN/.stamp")" == "$stamp" ]]; then
  exit 0
fi
[[ -x /usr/local/go/bin/go ]] && PATH="$PATH:/usr/local/go/bin"
command -v go >/dev/null || { echo "cluster: needs Go 1.25 or newer on PATH (go.dev/dl or Debian's golang)" >&2; exit 1; }
mkdir -p "$CLUSTER_BIN"
started=$SECONDS

export CGO_ENABLED=0 GOFLAGS=-mod=readonly
(
  cd "$here/build"
  for cmd in kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl; do
    echo "cluster: building $cmd $version" >&2
    go build -trimpath -ldflags "$ldflags" -o "$CLUSTER_BIN/$cmd" "k8s.io/kubernetes/cmd/$cmd"
  done
  echo "cluster: building etcd" >&2
  go build -trimpath -ldflags "-s -w" -o "$CLUSTER_BIN/etcd" go.etcd.io/etcd/server/v3
)
(
  cd "$here/build/coredns"
  echo "cluster: building coredns" >&2
  go build -trimpath -ldflags "-s -w" -o "$CLUSTER_BIN/coredns" github.com/coredns/coredns
)

# The pause container: Kubernetes' build/pause/linux/pause.c, from the module just verified.
pause_src="$(cd "$here/build" && go list -m -f '{{.Dir}}' k8s.io/kubernetes)/build/pause/linux/pause.c"
gcc -Os -static -DVERSION="$version" -o "$CLUSTER_BIN/pause" "$pause_src"
strip "$CLUSTER_BIN/pause"

echo "$stamp" >"$CLUSTER_BIN/.stamp"
echo "cluster: built in $((SECONDS - started)) s into $CLUSTER_BIN" >&2
