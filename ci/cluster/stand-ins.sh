#!/usr/bin/env bash
# Prints the path of a docker-archive holding the three third-party images the chart and chaosctl
# run, built here because no container registry is reachable: Debian bookworm (debootstrap
# minbase, from the mirror apt uses) with
#   chaos-platform/postgres:15-bookworm   PostgreSQL 15 behind an entrypoint that honours the
#                                         official postgres image's contract (POSTGRES_USER,
#                                         POSTGRES_PASSWORD, POSTGRES_DB, PGDATA,
#                                         /docker-entrypoint-initdb.d/*.sql), user postgres = uid 70
#                                         as in the alpine image the chart names by default
#   chaos-platform/curl:bookworm          curl (the chart's place-order helm test)
#   chaos-platform/netem:bookworm         iproute2's tc (network-delay's agent container)
# One root filesystem, three image configs. Cached by this script's hash.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=ci/cluster/env.sh
source "$here/env.sh"
out="$CLUSTER_CACHE/images/stand-ins-$(cat "$here/stand-ins.sh" "$here/postgres-entrypoint.sh" | sha256sum | cut -c1-12).tar"
if [[ -s "$out" ]]; then
  echo "$out"
  exit 0
fi
command -v debootstrap >/dev/null || {
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
}
work="$(mktemp -d)"
trap 'rm -rf --one-file-system "$work"' EXIT
rootfs="$work/rootfs"
mirror="$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)"
debootstrap --variant=minbase --include=curl,iproute2,ca-certificates bookworm "$rootfs" \
  "${mirror:-http://deb.debian.org/debian}" >"$work/debootstrap.log" 2>&1 ||
  { tail -n 20 "$work/debootstrap.log" >&2; exit 1; }

# PostgreSQL without the cluster Debian's packaging would create and start at install time.
printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
chmod +x "$rootfs/usr/sbin/policy-rc.d"
cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
chroot "$rootfs" sh -c 'groupadd --system --gid 70 postgres &&
  useradd --system --uid 70 --gid 70 --home-dir /var/lib/postgresql --shell /bin/sh postgres &&
  mkdir -p /etc/postgresql-common &&
  echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.conf &&
  apt-get install -y -qq --no-install-recommends postgresql-15 >/dev/null &&
  rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb /usr/sbin/policy-rc.d &&
  mkdir -p /var/run/postgresql /docker-entrypoint-initdb.d &&
  chown postgres:postgres /var/run/postgresql' >"$work/postgres.log" 2>&1 ||
  { tail -n 20 "$work/postgres.log" >&2; exit 1; }
: >"$rootfs/etc/resolv.conf"
install -m 0755 "$here/postgres-entrypoint.sh" "$rootfs/usr/local/bin/docker-entrypoint.sh"

tar -C "$rootfs" --numeric-owner -cf "$work/layer.tar" .
layer_sha="$(sha256sum "$work/layer.tar" | cut -d' ' -f1)"
mkdir -p "$work/archive/$layer_sha"
mv "$work/layer.tar" "$work/archive/$layer_sha/layer.tar"
path=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
manifest=()
image_config() { # <repo:tag> <config json fragment>
  local config sha
  config="{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Env\":[\"PATH=$path\"],$2},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:$layer_sha\"]}}"
  sha="$(printf '%s' "$config" | sha256sum | cut -d' ' -f1)"
  printf '%s' "$config" >"$work/archive/$sha.json"
  manifest+=("{\"Config\":\"$sha.json\",\"RepoTags\":[\"$1\"],\"Layers\":[\"$layer_sha/layer.tar\"]}")
}
image_config docker.io/chaos-platform/postgres:15-bookworm \
  '"Entrypoint":["docker-entrypoint.sh"],"Cmd":["postgres"],"User":"70:70","ExposedPorts":{"5432/tcp":{}},"StopSignal":"SIGINT"'
image_config docker.io/chaos-platform/curl:bookworm '"Entrypoint":["curl"]'
image_config docker.io/chaos-platform/netem:bookworm '"Cmd":["sh"]'
(IFS=,; printf '[%s]' "${manifest[*]}") >"$work/archive/manifest.json"
mkdir -p "$(dirname "$out")"
rm -f "$(dirname "$out")"/stand-ins-*.tar
tar -C "$work/archive" -cf "$out.tmp" . && mv "$out.tmp" "$out"
echo "$out"
