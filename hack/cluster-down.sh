#!/usr/bin/env bash
# Stop exactly the processes hack/cluster-up.sh started (pids in .cluster/pids, checked to
# still be our binaries) and remove .cluster/ (override with CLUSTER_DIR). Safe to re-run.
# The real node goes first (hack/realnode/down.sh: kubelet, containerd, pods, mounts, bridge).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${BIN:-$ROOT/.cache/bin}"
DIR="${CLUSTER_DIR:-$ROOT/.cluster}"

ours() {  # ours NAME PID: the pid is alive and runs BIN/NAME
  local cmd
  [[ -r "/proc/$2/cmdline" ]] && cmd="$(tr '\0' ' ' < "/proc/$2/cmdline" 2>/dev/null)" && [[ "$cmd" == *"$BIN/$1 "* ]]
}

if [[ -d "$DIR" ]]; then
  exec 9>"$DIR/.lock"
  flock -w 60 9 || echo "cluster-down: cluster-up still holds $DIR/.lock after 60s; stopping anyway" >&2
fi
if [[ "$(id -u)" == 0 && -d "$DIR/services" ]]; then
  CLUSTER_DIR="$DIR" "$ROOT/hack/services/down.sh" || echo "cluster-down: a service did not stop (see above)" >&2
fi
if [[ "$(id -u)" == 0 && ( -d "$DIR/realnode" || "${DW_REAL_NODE:-1}" != 0 ) ]]; then
  CLUSTER_DIR="$DIR" "$ROOT/hack/realnode/down.sh" || echo "cluster-down: the real node left something behind (see above)" >&2
fi
if [[ -d "$DIR/pids" ]]; then
  # Reverse start order: clients first, etcd last.
  for name in kwok kube-scheduler kube-controller-manager kube-apiserver etcd; do
    f="$DIR/pids/$name.pid"
    [[ -f "$f" ]] || continue
    pid="$(cat "$f")"
    if [[ -n "$pid" ]] && ours "$name" "$pid"; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 100); do ours "$name" "$pid" || break; sleep 0.1; done
      if ours "$name" "$pid"; then
        echo "cluster-down: $name (pid $pid) did not stop in 10s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
      fi
      echo "cluster-down: stopped $name (pid $pid)"
    fi
    rm -f "$f"
  done
fi
rm -rf "$DIR"
echo "cluster-down: removed $DIR"
