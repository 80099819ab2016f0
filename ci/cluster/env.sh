# Where the single-node cluster keeps its binaries, state and kubeconfig, and the addresses it uses.
# Sourced by the cluster scripts; every value can be set from outside.
# shellcheck shell=bash
: "${CLUSTER_CACHE:=${XDG_CACHE_HOME:-$HOME/.cache}/chaos-platform/cluster}"
: "${CLUSTER_BIN:=$CLUSTER_CACHE/bin}"
: "${CLUSTER_STATE:=/var/lib/chaos-platform-cluster}"
: "${CLUSTER_RUN:=/run/chaos-platform-cluster}"
: "${CLUSTER_NETNS:=chaos-node}"
# The host reaches the node over a veth pair; pods and Services live inside the node's namespace
# only. Every address is from 198.18.0.0/15, which RFC 2544 sets aside for benchmarking networks
# (no network routes it); up.sh refuses to start if the machine already uses any of them (this
# workplace's own VM network and package mirrors sit in 192.0.2.0/24 and 203.0.113.0/24). The
# addresses follow from the ranges (each written a.b.c.0/n): set the ranges, the rest moves along.
: "${CLUSTER_LINK_CIDR:=198.18.0.0/30}"
: "${CLUSTER_POD_CIDR:=198.18.1.0/24}"
: "${CLUSTER_SERVICE_CIDR:=198.18.2.0/24}"
: "${CLUSTER_HOST_IP:=${CLUSTER_LINK_CIDR%.*}.1}"
: "${CLUSTER_NODE_IP:=${CLUSTER_LINK_CIDR%.*}.2}"
: "${CLUSTER_API_SERVICE_IP:=${CLUSTER_SERVICE_CIDR%.*}.1}"
: "${CLUSTER_DNS_IP:=${CLUSTER_SERVICE_CIDR%.*}.10}"
: "${CLUSTER_NAME:=chaos-node}"
: "${KUBECONFIG_OUT:=$CLUSTER_STATE/kubeconfig}"
export CLUSTER_CACHE CLUSTER_BIN CLUSTER_STATE CLUSTER_RUN CLUSTER_NETNS CLUSTER_HOST_IP CLUSTER_NODE_IP CLUSTER_LINK_CIDR \
  CLUSTER_POD_CIDR CLUSTER_SERVICE_CIDR CLUSTER_API_SERVICE_IP CLUSTER_DNS_IP CLUSTER_NAME KUBECONFIG_OUT
