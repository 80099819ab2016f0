# shellcheck shell=bash
# Sourced by .ci/run: makes `npm run test:images` work on the CI machine, which has no container
# registry and intercepts HTTPS. A machine with docker (or podman) and a registry needs none of it.
#   - podman from Debian, run with our containers.conf (runc, cgroupfs, file events, ulimits);
#   - docker.io/library/node:24-slim, which cannot be pulled, stood in for (.ci/node-stand-in.sh)
#     when it is not there yet;
#   - npm inside `podman build` given the machine's CA bundle through read-only mounts, so the
#     Dockerfile stays the one a docker user builds.
# Exports CONTAINER_ENGINE, CONTAINERS_CONF and IMAGE_BUILD_FLAGS (read by ci/build-images.sh).

ci_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ca_bundle=/etc/ssl/certs/ca-certificates.crt

packages=()
command -v podman >/dev/null 2>&1 || packages+=(podman)
command -v runc >/dev/null 2>&1 || packages+=(runc)
command -v debootstrap >/dev/null 2>&1 || packages+=(debootstrap)
command -v slirp4netns >/dev/null 2>&1 || packages+=(slirp4netns)
command -v newuidmap >/dev/null 2>&1 || packages+=(uidmap)
if [ ${#packages[@]} -gt 0 ]; then
  echo "ci: installing ${packages[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi

export CONTAINER_ENGINE=podman
export CONTAINERS_CONF="$ci_dir/containers.conf"

if ! podman image exists docker.io/library/node:24-slim; then
  echo "ci: building a stand-in for docker.io/library/node:24-slim"
  "$ci_dir/node-stand-in.sh" docker.io/library/node:24-slim || return 1
fi

# Node's own CA list does not hold the proxy that intercepts HTTPS: npm in every RUN of a build
# gets the machine's bundle and a user npmrc naming it, both mounted read-only, never committed.
build_npmrc="${XDG_CACHE_HOME:-$HOME/.cache}/chaos-platform/build-npmrc"
mkdir -p "$(dirname "$build_npmrc")"
printf 'cafile=%s\n' "$ca_bundle" >"$build_npmrc"
export IMAGE_BUILD_FLAGS="--volume $ca_bundle:$ca_bundle:ro --volume $build_npmrc:/root/.npmrc:ro"
