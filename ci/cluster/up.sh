#!/usr/bin/env bash
# Starts a single-node Kubernetes cluster on this machine, every component a plain process, the
# whole node inside a network namespace of its own with no route off the machine:
#
#   host 198.18.0.1 --veth-- 198.18.0.2  node namespace: etcd, kube-apiserver (:6443),
#                                         controller-manager, scheduler, containerd, kubelet,
#                                         kube-proxy (iptables), CoreDNS; pods on a CNI bridge
#                                         (198.18.1.0/24), Services 198.18.2.0/24
#
# The host reaches the API server at https://198.18.0.2:6443 (kubeconfig: $KUBECONFIG_OUT) and the
# Services' cluster IPs through a route into the namespace, so chaosctl can drive traffic from
# outside as a user's load balancer would. Idempotent: a running cluster is left as it is.
# Binaries come from ci/cluster/build.sh (run first). ci/cluster/down.sh undoes all of it.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=ci/cluster/env.sh
source "$here/env.sh"
# shellcheck source=ci/cluster/lib.sh
source "$here/lib.sh"

[[ $(id -u) -eq 0 ]] || fail "needs root (network namespaces, mounts, cgroups)"
[[ -f "$CLUSTER_BIN/.stamp" ]] || fail "no binaries in $CLUSTER_BIN: run ci/cluster/build.sh first"
if [[ -s "$KUBECONFIG_OUT" ]] && kubectl_node get --raw /readyz >/dev/null 2>&1; then
  echo "cluster: already up ($KUBECONFIG_OUT)" >&2
  exit 0
fi
# What a cluster whose processes were killed (a reboot, a stopped session) left: start afresh.
if [[ -e "$CLUSTER_STATE" || -e "/run/netns/$CLUSTER_NETNS" ]]; then
  echo "cluster: cleaning up what a stopped cluster left" >&2
  "$here/down.sh"
fi
started=$SECONDS
mkdir -p "$CLUSTER_STATE"/{pki,logs,etcd,kubelet,containerd,cni/net.d,pv,coredns} "$CLUSTER_RUN"/{pids,containerd}

# --- the node's network namespace -------------------------------------------------------------
clash="$(used_addresses | overlapping "$CLUSTER_LINK_CIDR" "$CLUSTER_POD_CIDR" "$CLUSTER_SERVICE_CIDR")"
[[ -z "$clash" ]] || fail "this machine already uses $clash: set CLUSTER_LINK_CIDR, CLUSTER_POD_CIDR and CLUSTER_SERVICE_CIDR (ci/cluster/env.sh) to ranges it does not use"
ip netns add "$CLUSTER_NETNS"
ip link add chaos-host type veth peer name chaos-node0 netns "$CLUSTER_NETNS"
ip addr add "$CLUSTER_HOST_IP/${CLUSTER_LINK_CIDR#*/}" dev chaos-host
ip link set chaos-host up
in_node ip link set lo up
in_node ip addr add "$CLUSTER_NODE_IP/${CLUSTER_LINK_CIDR#*/}" dev chaos-node0
in_node ip link set chaos-node0 up
# Services' cluster IPs are reached from the host through the node, as through a load balancer;
# nothing else is routed, and the namespace has no default route: no packet can leave the machine.
ip route add "$CLUSTER_SERVICE_CIDR" via "$CLUSTER_NODE_IP" dev chaos-host
in_node sysctl -qw net.ipv4.ip_forward=1
in_node sysctl -qw net.ipv4.conf.all.route_localnet=1
# br_netfilter's switches are per network namespace: bridged pod traffic passes kube-proxy's rules.
in_node sysctl -qw net.bridge.bridge-nf-call-iptables=1 2>/dev/null || true

# --- certificates ------------------------------------------------------------------------------
pki="$CLUSTER_STATE/pki"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
  -subj "/CN=chaos-platform-cluster-ca" -keyout "$pki/ca.key" -out "$pki/ca.crt" 2>/dev/null
openssl ecparam -name prime256v1 -genkey -noout -out "$pki/sa.key"
openssl ec -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
sans="DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
sans+=",DNS:localhost,IP:127.0.0.1,IP:$CLUSTER_NODE_IP,IP:$CLUSTER_API_SERVICE_IP"
issue_cert apiserver "/CN=kube-apiserver" serverAuth "$sans"
issue_cert kubelet-serving "/CN=$CLUSTER_NAME" serverAuth "DNS:$CLUSTER_NAME,IP:$CLUSTER_NODE_IP"
issue_cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth
issue_cert admin "/O=system:masters/CN=chaos-platform-admin" clientAuth
issue_cert controller-manager "/CN=system:kube-controller-manager" clientAuth
issue_cert scheduler "/CN=system:kube-scheduler" clientAuth
issue_cert kubelet "/O=system:nodes/CN=system:node:$CLUSTER_NAME" clientAuth
issue_cert kube-proxy "/CN=system:kube-proxy" clientAuth
issue_cert coredns "/CN=system:coredns" clientAuth
for user in admin controller-manager scheduler kubelet kube-proxy coredns; do
  write_kubeconfig "$user" "$CLUSTER_STATE/$user.kubeconfig"
done

# --- control plane -------------------------------------------------------------------------------
start etcd "$CLUSTER_BIN/etcd" --name "$CLUSTER_NAME" --data-dir "$CLUSTER_STATE/etcd" \
  --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
  --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
  --initial-cluster "$CLUSTER_NAME=http://127.0.0.1:2380" --listen-metrics-urls http://127.0.0.1:2381 \
  --quota-backend-bytes 2147483648 --log-level warn
wait_for "etcd to serve" 60 in_node curl -fsS http://127.0.0.1:2381/health

start kube-apiserver "$CLUSTER_BIN/kube-apiserver" \
  --etcd-servers http://127.0.0.1:2379 --bind-address "$CLUSTER_NODE_IP" --advertise-address "$CLUSTER_NODE_IP" \
  --secure-port 6443 --service-cluster-ip-range "$CLUSTER_SERVICE_CIDR" \
  --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" --client-ca-file "$pki/ca.crt" \
  --kubelet-client-certificate "$pki/apiserver-kubelet-client.crt" \
  --kubelet-client-key "$pki/apiserver-kubelet-client.key" --kubelet-certificate-authority "$pki/ca.crt" \
  --kubelet-preferred-address-types InternalIP \
  --service-account-issuer https://kubernetes.default.svc.cluster.local \
  --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
  --authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction \
  --allow-privileged=true --profiling=false --v=1
wait_for "the API server" 120 kubectl_node get --raw /readyz

start kube-controller-manager "$CLUSTER_BIN/kube-controller-manager" \
  --kubeconfig "$CLUSTER_STATE/controller-manager.kubeconfig" \
  --authentication-kubeconfig "$CLUSTER_STATE/controller-manager.kubeconfig" \
  --authorization-kubeconfig "$CLUSTER_STATE/controller-manager.kubeconfig" \
  --bind-address 127.0.0.1 --leader-elect=false --use-service-account-credentials \
  --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
  --cluster-signing-cert-file "$pki/ca.crt" --cluster-signing-key-file "$pki/ca.key" \
  --service-cluster-ip-range "$CLUSTER_SERVICE_CIDR" --cluster-cidr "$CLUSTER_POD_CIDR" \
  --profiling=false --v=1
start kube-scheduler "$CLUSTER_BIN/kube-scheduler" \
  --kubeconfig "$CLUSTER_STATE/scheduler.kubeconfig" \
  --authentication-kubeconfig "$CLUSTER_STATE/scheduler.kubeconfig" \
  --authorization-kubeconfig "$CLUSTER_STATE/scheduler.kubeconfig" \
  --bind-address 127.0.0.1 --leader-elect=false --profiling=false --v=1

# --- the node: containerd, CNI, kubelet, kube-proxy -----------------------------------------------
cat >"$CLUSTER_STATE/containerd/config.toml" <<EOF
version = 2
root = "$CLUSTER_STATE/containerd/root"
state = "$CLUSTER_RUN/containerd/state"
[grpc]
  address = "$CLUSTER_RUN/containerd/containerd.sock"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "registry.k8s.io/pause:3.10"
  # This sandbox drops CAP_SYS_RESOURCE: containers may not lower their oom_score_adj below ours.
  restrict_oom_score_adj = true
  # Pod network namespaces live under our state, so down.sh finds (and removes) exactly ours.
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$CLUSTER_STATE/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
      SystemdCgroup = false
EOF
cat >"$CLUSTER_STATE/cni/net.d/10-bridge.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "chaos-node",
  "plugins": [
    {
      "type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": false, "hairpinMode": true,
      "ipam": { "type": "host-local", "ranges": [[{ "subnet": "$CLUSTER_POD_CIDR" }]],
                "routes": [{ "dst": "0.0.0.0/0" }], "dataDir": "$CLUSTER_STATE/cni/ipam" }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
EOF
start containerd containerd --config "$CLUSTER_STATE/containerd/config.toml"
wait_for "containerd" 60 ctr_node version
import_pause_image

cat >"$CLUSTER_STATE/kubelet/config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# Kubernetes 1.35 refuses cgroup v1 unless told otherwise; this machine has v1 only.
failCgroupV1: false
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://$CLUSTER_RUN/containerd/containerd.sock
authentication:
  anonymous: { enabled: false }
  webhook: { enabled: true }
  x509: { clientCAFile: $pki/ca.crt }
authorization: { mode: Webhook }
tlsCertFile: $pki/kubelet-serving.crt
tlsPrivateKeyFile: $pki/kubelet-serving.key
clusterDomain: cluster.local
clusterDNS: [$CLUSTER_DNS_IP]
resolvConf: $CLUSTER_STATE/kubelet/resolv.conf
failSwapOn: false
# Pod logs under the cluster's state (the kubelet still links each container's log from
# /var/log/containers, which down.sh removes).
podLogsDir: $CLUSTER_STATE/pod-logs
# The machine's disk is shared with everything else: evict on nearly full disks only.
evictionHard: { memory.available: 200Mi, nodefs.available: 2%, imagefs.available: 2% }
imageGCHighThresholdPercent: 100
serializeImagePulls: false
maxPods: 60
EOF
# Pods with dnsPolicy Default get no upstream: nothing is resolved off the machine.
echo "nameserver $CLUSTER_DNS_IP" >"$CLUSTER_STATE/kubelet/resolv.conf"
start kubelet "$CLUSTER_BIN/kubelet" --config "$CLUSTER_STATE/kubelet/config.yaml" \
  --kubeconfig "$CLUSTER_STATE/kubelet.kubeconfig" --root-dir "$CLUSTER_STATE/kubelet/root" \
  --hostname-override "$CLUSTER_NAME" --node-ip "$CLUSTER_NODE_IP" --v=1

cat >"$CLUSTER_STATE/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clusterCIDR: $CLUSTER_POD_CIDR
hostnameOverride: $CLUSTER_NAME
bindAddress: $CLUSTER_NODE_IP
metricsBindAddress: 127.0.0.1:10249
healthzBindAddress: 127.0.0.1:10256
clientConnection: { kubeconfig: $CLUSTER_STATE/kube-proxy.kubeconfig }
# nf_conntrack_max is not writable from a network namespace other than the machine's own.
conntrack: { maxPerCore: 0 }
EOF
start kube-proxy "$CLUSTER_BIN/kube-proxy" --config "$CLUSTER_STATE/kube-proxy.yaml" --v=1

# --- cluster add-ons: RBAC for the proxy and CoreDNS, the DNS Service, the node Ready --------------
kubectl_node apply -f - >/dev/null <<EOF
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: chaos-node:kube-proxy }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: system:node-proxier }
subjects: [{ apiGroup: rbac.authorization.k8s.io, kind: User, name: system:kube-proxy }]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: chaos-node:coredns }
rules:
  - { apiGroups: [""], resources: [services, pods, namespaces], verbs: [list, watch] }
  - { apiGroups: [discovery.k8s.io], resources: [endpointslices], verbs: [list, watch] }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: chaos-node:coredns }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: chaos-node:coredns }
subjects: [{ apiGroup: rbac.authorization.k8s.io, kind: User, name: system:coredns }]
---
apiVersion: v1
kind: Service
metadata:
  name: kube-dns
  namespace: kube-system
  labels: { k8s-app: kube-dns, kubernetes.io/name: CoreDNS }
spec:
  clusterIP: $CLUSTER_DNS_IP
  ports:
    - { name: dns, port: 53, protocol: UDP, targetPort: 53 }
    - { name: dns-tcp, port: 53, protocol: TCP, targetPort: 53 }
---
# CoreDNS runs as a process on the node: the Service's endpoints name the node's address.
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: kube-dns-node
  namespace: kube-system
  labels: { kubernetes.io/service-name: kube-dns, endpointslice.kubernetes.io/managed-by: chaos-node }
addressType: IPv4
endpoints: [{ addresses: ["$CLUSTER_NODE_IP"], conditions: { ready: true } }]
ports:
  - { name: dns, port: 53, protocol: UDP }
  - { name: dns-tcp, port: 53, protocol: TCP }
EOF
cat >"$CLUSTER_STATE/coredns/Corefile" <<EOF
.:53 {
    bind $CLUSTER_NODE_IP
    errors
    health 127.0.0.1:8080
    ready 127.0.0.1:8181
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig $CLUSTER_STATE/coredns.kubeconfig
        pods insecure
    }
    cache 30
}
EOF
start coredns "$CLUSTER_BIN/coredns" -conf "$CLUSTER_STATE/coredns/Corefile"
wait_for "CoreDNS" 60 in_node curl -fsS http://127.0.0.1:8181/ready
wait_for "the node to be Ready" 180 node_ready
# The PersistentVolumes the chart's claims bind to are made per namespace (ci/cluster/volume.sh).
(umask 077 && cp "$CLUSTER_STATE/admin.kubeconfig" "$KUBECONFIG_OUT.tmp" && mv "$KUBECONFIG_OUT.tmp" "$KUBECONFIG_OUT")
echo "cluster: up in $((SECONDS - started)) s; KUBECONFIG=$KUBECONFIG_OUT" >&2
