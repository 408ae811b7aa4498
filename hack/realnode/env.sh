# Settings of the local cluster's real node (sourced by hack/realnode/*.sh and hack/cluster-*.sh).
# Everything the node runs keeps its state under $RN_DIR (inside .cluster/, removed by cluster-down);
# the task images' archives persist in $RN_IMAGES (.cache/realnode/images) so a restart only imports them.
# Operator settings (all optional):
#   DW_REAL_NODE=0              no real node (kwok-only cluster, no root needed)
#   DW_REAL_NODE_NAME           node name; must resolve to 127.0.0.1 (default: this host's name when
#                               it does, else "localhost")
#   DW_KUBELET_PORT             kubelet API on 127.0.0.1 (default 10250; healthz = port - 2)
#   DW_CONTAINERD_STREAM_PORT   containerd's exec/attach streaming server on 127.0.0.1 (default 10010)
#   DW_POD_SUBNET               host-only pod network (default 10.89.0.0/24, bridge dw-rn0)
# shellcheck shell=bash
RN_ROOT="${RN_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
RN_BIN="${BIN:-$RN_ROOT/.cache/bin}"
RN_CLUSTER="${CLUSTER_DIR:-$RN_ROOT/.cluster}"
RN_DIR="$RN_CLUSTER/realnode"
RN_IMAGES="${DW_TASK_IMAGE_DIR:-$RN_ROOT/.cache/realnode/images}"
RN_KUBELET_PORT="${DW_KUBELET_PORT:-10250}"
RN_KUBELET_HEALTHZ_PORT=$((RN_KUBELET_PORT - 2))
RN_STREAM_PORT="${DW_CONTAINERD_STREAM_PORT:-10010}"
RN_POD_SUBNET="${DW_POD_SUBNET:-10.89.0.0/24}"
RN_BRIDGE="dw-rn0"
RN_BRIDGE_IP="${RN_POD_SUBNET%.*/*}.1"
RN_LABEL="dagwright.io/real-node"
RN_PAUSE_IMAGE="localhost/dagwright/pause:3.10"
RN_PYTHON_IMAGE="localhost/dagwright/python:bookworm"
RN_CNI_BIN="/usr/lib/cni"
# Unix socket paths are limited to 107 bytes: a deep checkout gets its sockets (containerd's, and the
# kubelet's root dir, which holds sockets too) in /run instead.
RN_RUN="$RN_DIR/run"
if (( ${#RN_RUN} > 60 )); then
  RN_RUN="/run/dagwright-realnode-$(printf '%s' "$RN_DIR" | sha256sum | cut -c1-12)"
fi
RN_SOCK="$RN_RUN/containerd.sock"
RN_KUBELET_ROOT="$RN_RUN/kubelet"
rn_node_name() {
  if [[ -n "${DW_REAL_NODE_NAME:-}" ]]; then echo "$DW_REAL_NODE_NAME"; return; fi
  local h; h="$(hostname)"
  if [[ "$(getent ahostsv4 "$h" 2>/dev/null | awk 'NR==1{print $1}')" == 127.* ]]; then echo "$h"; else echo localhost; fi
}
RN_NODE="$(rn_node_name)"
rn_enabled() { [[ "${DW_REAL_NODE:-1}" != 0 ]]; }
RN_SPARK_IMAGE="localhost/dagwright/spark:3.5"
RN_DBT_IMAGE="localhost/dagwright/dbt:1.10-spark"
