# Sourced by the ci/ scripts (from the repository root). The KIND cluster they act on is reached
# through a kubeconfig of the pipeline's own, written by `kind get kubeconfig` (ci/kind-load.sh),
# and every helm and kubectl call that touches a cluster names it and its context: never the
# agent's current kube-context, which may be another cluster. The agent needs docker, kind,
# kubectl and helm, at the versions ci/tool-versions pins; node steps run in the chaosctl image.
# shellcheck shell=bash
# shellcheck source=ci/tool-versions
. ci/tool-versions
KIND_CLUSTER="${KIND_CLUSTER:-chaos-platform}"
RELEASE="${RELEASE:-chaos-platform}"
# Outside the workspace, which is the images' build context (Jenkins: <workspace>@tmp).
KIND_KUBECONFIG="${KIND_KUBECONFIG:-${WORKSPACE_TMP:-${TMPDIR:-/tmp}}/kind-$KIND_CLUSTER.kubeconfig}"
KIND_CONTEXT="kind-$KIND_CLUSTER"
# The chart's own helm test (a placed order) and the chaos suite (a helm test too, run on demand).
# shellcheck disable=SC2034 # used by the scripts that source this file
PLACE_ORDER_TEST="$RELEASE-place-order"
# shellcheck disable=SC2034
CHAOS_SUITE_TEST="$RELEASE-chaos-suite"
# Waiting reasons no wait will outlast: the image cannot be pulled (or, with pullPolicy Never, was
# never loaded), or the container cannot be created from its configuration (a missing Secret key...).
STUCK_REASONS='ErrImagePull|ImagePullBackOff|ErrImageNeverPull|InvalidImageName|CreateContainerConfigError|CreateContainerError'

kubectl_kind() { kubectl --kubeconfig "$KIND_KUBECONFIG" --context "$KIND_CONTEXT" "$@"; }
helm_kind() { helm --kubeconfig "$KIND_KUBECONFIG" --kube-context "$KIND_CONTEXT" "$@"; }

# One line and exit 1 unless docker, kind, kubectl and helm are there at the pinned versions.
require_tools() {
  local tool found
  for tool in docker kind kubectl helm; do
    command -v "$tool" >/dev/null 2>&1 || { echo "ci: $tool is not on PATH (the agent needs docker, kind, kubectl and helm)" >&2; exit 1; }
  done
  found="$(helm version --template '{{.Version}}')"
  [ "$found" = "$HELM_VERSION" ] || { echo "ci: helm $found, ci/tool-versions pins $HELM_VERSION" >&2; exit 1; }
  found="$(kubectl version --client | sed -n 's/^Client Version: //p')"
  [ "$found" = "$KUBECTL_VERSION" ] || { echo "ci: kubectl $found, ci/tool-versions pins $KUBECTL_VERSION" >&2; exit 1; }
  found="$(kind version | awk '{print $2}')"
  [ "$found" = "$KIND_VERSION" ] || { echo "ci: kind $found, ci/tool-versions pins $KIND_VERSION" >&2; exit 1; }
}

# One line and exit 1 unless ci/kind-load.sh has written the kubeconfig.
require_kubeconfig() {
  [ -s "$KIND_KUBECONFIG" ] || { echo "ci: no kubeconfig at $KIND_KUBECONFIG: run ci/kind-load.sh first" >&2; exit 1; }
}

# Prints "<pod>/<container> <reason>: <message>" for each container of the namespace stuck on a
# STUCK_REASONS reason (init, regular and ephemeral containers: network-delay's netem image too).
stuck_containers() {
  local template='{{range .items}}{{$pod := .metadata.name}}{{range $kind, $statuses := .status}}{{if or (eq $kind "initContainerStatuses") (eq $kind "containerStatuses") (eq $kind "ephemeralContainerStatuses")}}{{range $statuses}}{{$container := .name}}{{with .state.waiting}}{{$pod}}/{{$container}} {{.reason}}: {{.message}}{{"\n"}}{{end}}{{end}}{{end}}{{end}}{{end}}'
  kubectl_kind -n "$1" get pods -o go-template="$template" 2>/dev/null | grep -E " ($STUCK_REASONS):" || true
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
  docker run --rm --network none --read-only --tmpfs /tmp --cap-drop ALL --security-opt no-new-privileges \
    --user "$(id -u):$(id -g)" -v "$(cd "$dir" && pwd):/reports" ${entrypoint:+--entrypoint "$entrypoint"} \
    "chaos-platform/chaosctl:$tag" "$@"
}
