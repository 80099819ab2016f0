# Sourced by the ci/ scripts (from the repository root). The cluster they act on is reached
# through a kubeconfig of the pipeline's own, and every helm and kubectl call that touches a
# cluster names it and its context: never the agent's current kube-context, which may be another
# cluster. CI_CLUSTER chooses the cluster, the one seam between them (how images get onto the node,
# where the kubeconfig comes from, the values that name the images there):
#   kind        (default, the Jenkinsfile's) KIND, kubeconfig written by `kind get kubeconfig`
#               (ci/kind-load.sh); the agent needs docker, kind, kubectl and helm at the versions
#               ci/tool-versions pins; node steps run in the chaosctl image.
#   chaos-node  the single-node cluster ci/cluster/ builds and starts on this machine
#               (npm run cluster:up; images: ci/cluster/load-images.sh); podman or docker, kubectl
#               and helm (ci/helm-tools.sh).
# shellcheck shell=bash
# shellcheck source=ci/tool-versions
. ci/tool-versions
CI_CLUSTER="${CI_CLUSTER:-kind}"
KIND_CLUSTER="${KIND_CLUSTER:-chaos-platform}"
RELEASE="${RELEASE:-chaos-platform}"
case "$CI_CLUSTER" in
  kind)
    # Outside the workspace, which is the images' build context (Jenkins: <workspace>@tmp).
    KIND_KUBECONFIG="${KIND_KUBECONFIG:-${WORKSPACE_TMP:-${TMPDIR:-/tmp}}/kind-$KIND_CLUSTER.kubeconfig}"
    CI_KUBECONFIG="$KIND_KUBECONFIG"
    CI_CONTEXT="kind-$KIND_CLUSTER"
    CI_VALUES=(-f ci/kind-values.yaml)
    CI_TOOLS="docker kind kubectl helm"
    ;;
  chaos-node)
    # shellcheck source=ci/cluster/env.sh
    . ci/cluster/env.sh
    CI_KUBECONFIG="$KUBECONFIG_OUT"
    CI_CONTEXT="$CLUSTER_NAME"
    CI_VALUES=(-f ci/kind-values.yaml -f ci/cluster/values.yaml)
    CI_TOOLS="kubectl helm"
    ;;
  *)
    echo "ci: CI_CLUSTER is kind or chaos-node, not '$CI_CLUSTER'" >&2
    exit 2
    ;;
esac
# The chart's own helm test (a placed order) and the chaos suite (a helm test too, run on demand).
# shellcheck disable=SC2034 # used by the scripts that source this file
PLACE_ORDER_TEST="$RELEASE-place-order"
# shellcheck disable=SC2034
CHAOS_SUITE_TEST="$RELEASE-chaos-suite"
# Waiting reasons no wait will outlast: the image cannot be pulled (or, with pullPolicy Never, was
# never loaded), or the container cannot be created from its configuration (a missing Secret key...).
STUCK_REASONS='ErrImagePull|ImagePullBackOff|ErrImageNeverPull|InvalidImageName|CreateContainerConfigError|CreateContainerError'

kubectl_ci() { kubectl --kubeconfig "$CI_KUBECONFIG" --context "$CI_CONTEXT" "$@"; }
helm_ci() { helm --kubeconfig "$CI_KUBECONFIG" --kube-context "$CI_CONTEXT" "$@"; }

# One line and exit 1 unless the cluster's tools (CI_TOOLS) are there at the pinned versions.
require_tools() {
  local tool found
  for tool in $CI_TOOLS; do
    command -v "$tool" >/dev/null 2>&1 || { echo "ci: $tool is not on PATH (the agent needs $CI_TOOLS)" >&2; exit 1; }
  done
  found="$(helm version --template '{{.Version}}')"
  [ "$found" = "$HELM_VERSION" ] || { echo "ci: helm $found, ci/tool-versions pins $HELM_VERSION" >&2; exit 1; }
  found="$(kubectl version --client | sed -n 's/^Client Version: //p')"
  [ "$found" = "$KUBECTL_VERSION" ] || { echo "ci: kubectl $found, ci/tool-versions pins $KUBECTL_VERSION" >&2; exit 1; }
  [ "$CI_CLUSTER" = kind ] || return 0
  found="$(kind version | awk '{print $2}')"
  [ "$found" = "$KIND_VERSION" ] || { echo "ci: kind $found, ci/tool-versions pins $KIND_VERSION" >&2; exit 1; }
}

# One line and exit 1 unless the cluster's kubeconfig is there (ci/kind-load.sh or cluster:up wrote it).
require_kubeconfig() {
  local how="ci/kind-load.sh"
  [ "$CI_CLUSTER" = kind ] || how="npm run cluster:up"
  [ -s "$CI_KUBECONFIG" ] || { echo "ci: no kubeconfig at $CI_KUBECONFIG: run $how first" >&2; exit 1; }
}

# Prints "<pod>/<container> <reason>: <message>" for each container of the namespace stuck on a
# STUCK_REASONS reason (init, regular and ephemeral containers: network-delay's netem image too).
stuck_containers() {
  local template='{{range .items}}{{$pod := .metadata.name}}{{range $kind, $statuses := .status}}{{if or (eq $kind "initContainerStatuses") (eq $kind "containerStatuses") (eq $kind "ephemeralContainerStatuses")}}{{range $statuses}}{{$container := .name}}{{with .state.waiting}}{{$pod}}/{{$container}} {{.reason}}: {{.message}}{{"\n"}}{{end}}{{end}}{{end}}{{end}}{{end}}'
  kubectl_ci -n "$1" get pods -o go-template="$template" 2>/dev/null | grep -E " ($STUCK_REASONS):" || true
}

# Waits for the background command <pid> (helm's own wait) while watching <namespace>'s pods every
# 5 s: a container stuck on its image or configuration stops it at once, instead of after its
# whole timeout. Returns the command's exit code, or 1 when it was stopped.
wait_failing_fast() {
  local namespace="$1" pid="$2" stuck
  while kill -0 "$pid" 2>/dev/null; do
    stuck="$(stuck_containers "$namespace")"
    if [ -n "$stuck" ]; then
      echo "ci: giving up, a container cannot start:" >&2
      echo "$stuck" >&2
      # The background job is a subshell running helm: stop helm, then the subshell.
      pkill -TERM -P "$pid" 2>/dev/null || true
      kill "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
      return 1
    fi
    sleep 5
  done
  wait "$pid"
}

# Runs the chaosctl image on the agent (the agent needs no node), with <dir> mounted at /reports,
# no network, a read-only root and the agent's own user:
#   chaosctl_in_image <tag> <dir> <chaosctl args...>    the image's entrypoint, chaosctl
#   node_in_image <tag> <dir> <node args...>            node itself
chaosctl_in_image() { run_chaosctl_image "$1" "$2" "" "${@:3}"; }
node_in_image() { run_chaosctl_image "$1" "$2" node "${@:3}"; }
run_chaosctl_image() {
  local tag="$1" dir="$2" entrypoint="$3"
  shift 3
  mkdir -p "$dir"
  "${CONTAINER_ENGINE:-docker}" run --rm --network none --read-only --tmpfs /tmp --cap-drop ALL --security-opt no-new-privileges \
    --user "$(id -u):$(id -g)" -v "$(cd "$dir" && pwd):/reports" ${entrypoint:+--entrypoint "$entrypoint"} \
    "chaos-platform/chaosctl:$tag" "$@"
}

# Volumes for the chart's claims: KIND's local-path provisioner makes them; the single-node
# cluster has no provisioner, so its volumes are made before the install and removed after.
provide_volumes() {
  [ "$CI_CLUSTER" = chaos-node ] || return 0
  ci/cluster/volume.sh "$1" "data-$RELEASE-postgresql-0"
}
release_volumes() {
  [ "$CI_CLUSTER" = chaos-node ] || return 0
  ci/cluster/volume.sh --delete "$1"
}
