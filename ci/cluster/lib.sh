# Helpers of the cluster scripts (sourced after env.sh).
# shellcheck shell=bash

fail() {
  echo "cluster: $*" >&2
  exit 1
}

# Runs a command inside the node's network namespace only (mounts, PIDs and cgroups stay the
# machine's, so containerd and the kubelet see the same mounts, as on a real node).
in_node() { nsenter --net="/run/netns/$CLUSTER_NETNS" -- "$@"; }

kubectl_node() { "$CLUSTER_BIN/kubectl" --kubeconfig "$CLUSTER_STATE/admin.kubeconfig" "$@"; }
ctr_node() { ctr --address "$CLUSTER_RUN/containerd/containerd.sock" --namespace k8s.io "$@"; }

# issue_cert <name> <subject> <serverAuth|clientAuth> [subjectAltName]: a key and a certificate
# signed by the cluster's CA, in $CLUSTER_STATE/pki.
issue_cert() {
  local name="$1" subject="$2" usage="$3" sans="${4:-}" pki="$CLUSTER_STATE/pki" ext
  ext="$(mktemp)"
  {
    echo "basicConstraints=CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$usage"
    [[ -n "$sans" ]] && echo "subjectAltName=$sans"
  } >"$ext"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "$subject" \
    -keyout "$pki/$name.key" -out "$pki/$name.csr" 2>/dev/null
  openssl x509 -req -in "$pki/$name.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
    -days 3650 -extfile "$ext" -out "$pki/$name.crt" 2>/dev/null
  rm -f "$ext" "$pki/$name.csr"
}

# write_kubeconfig <cert name> <file>: a kubeconfig for the API server with that client certificate.
write_kubeconfig() {
  local pki="$CLUSTER_STATE/pki"
  (umask 077 && cat >"$2" <<EOF
apiVersion: v1
kind: Config
clusters:
  - name: $CLUSTER_NAME
    cluster:
      server: https://$CLUSTER_NODE_IP:6443
      certificate-authority-data: $(base64 -w0 "$pki/ca.crt")
users:
  - name: $1
    user:
      client-certificate-data: $(base64 -w0 "$pki/$1.crt")
      client-key-data: $(base64 -w0 "$pki/$1.key")
contexts:
  - name: $CLUSTER_NAME
    context: { cluster: $CLUSTER_NAME, user: $1 }
current-context: $CLUSTER_NAME
EOF
  )
}

# start <name> <command...>: starts a component in the node's namespace, in a session of its own
# (nothing of it dies with this shell), logging to $CLUSTER_STATE/logs/<name>.log; its pid is kept.
start() {
  local name="$1"
  shift
  nsenter --net="/run/netns/$CLUSTER_NETNS" -- setsid "$@" \
    >>"$CLUSTER_STATE/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$CLUSTER_RUN/pids/$name.pid"
}

# wait_for <what> <seconds> <command...>: polls once a second until the command succeeds.
wait_for() {
  local what="$1" seconds="$2" i
  shift 2
  for ((i = 0; i < seconds; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 1
  done
  echo "cluster: gave up waiting for $what after ${seconds} s; the logs' last lines:" >&2
  for log in "$CLUSTER_STATE"/logs/*.log; do
    echo "--- $log" >&2
    tail -n 8 "$log" >&2
  done
  exit 1
}

node_ready() {
  [[ "$(kubectl_node get node "$CLUSTER_NAME" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}')" == True ]]
}

# The sandbox ("pause") image, from Kubernetes' own pause.c (build.sh), as a docker-archive that
# containerd imports: one layer holding /pause.
import_pause_image() {
  local image=registry.k8s.io/pause:3.10 dir layer_sha config config_sha
  grep -qx "$image" <<<"$(ctr_node images ls -q)" && return 0
  dir="$(mktemp -d)"
  install -m 0755 "$CLUSTER_BIN/pause" "$dir/pause"
  tar -C "$dir" --owner=0 --group=0 --numeric-owner -cf "$dir/layer.tar" pause
  layer_sha="$(sha256sum "$dir/layer.tar" | cut -d' ' -f1)"
  config="{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Entrypoint\":[\"/pause\"],\"User\":\"65535:65535\"},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:$layer_sha\"]}}"
  config_sha="$(printf '%s' "$config" | sha256sum | cut -d' ' -f1)"
  mkdir -p "$dir/archive/$layer_sha"
  mv "$dir/layer.tar" "$dir/archive/$layer_sha/layer.tar"
  printf '%s' "$config" >"$dir/archive/$config_sha.json"
  printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["%s/layer.tar"]}]' "$config_sha" "$image" "$layer_sha" \
    >"$dir/archive/manifest.json"
  tar -C "$dir/archive" -cf "$dir/pause.tar" .
  ctr_node images import "$dir/pause.tar" >/dev/null
  rm -rf "$dir"
}

# Every IPv4 address or prefix this machine already uses: its interfaces, routes (and gateways),
# name servers, /etc/hosts entries and the package registries' addresses, one a line.
used_addresses() {
  ip -4 -o addr show | awk '{print $4}'
  ip -4 route show | awk '$1 != "default" {print $1} {for (i = 1; i < NF; i++) if ($i == "via") print $(i + 1)}'
  awk '$1 == "nameserver" {print $2}' /etc/resolv.conf 2>/dev/null
  awk '$1 ~ /^[0-9.]+$/ {print $1}' /etc/hosts 2>/dev/null
  getent ahostsv4 registry.npmjs.org proxy.golang.org deb.debian.org 2>/dev/null | awk '{print $1}' || true
}

# overlapping <cidr...>: of the addresses on stdin, those inside any of the ranges (one line).
overlapping() {
  python3 -c '
import ipaddress, sys
ranges = [ipaddress.ip_network(r) for r in sys.argv[1:]]
seen = []
for line in sys.stdin:
    try:
        net = ipaddress.ip_network(line.strip(), strict=False)
    except ValueError:
        continue
    if net.version == 4 and any(net.overlaps(r) for r in ranges) and str(net) not in seen:
        seen.append(str(net))
print(" ".join(seen))
' "$@"
}
