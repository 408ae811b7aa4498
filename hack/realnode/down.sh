#!/usr/bin/env bash
# Stop the real node and remove everything it left: the kubelet and containerd (by the pids in
# .cluster/realnode/pids, checked to be ours), the pods' processes (the kubepods cgroups: one real
# node per machine), containerd's shims (those serving our socket), every mount under the node's
# state, the bridge dw-rn0, the kubepods cgroups, the files the kubelet and containerd put in fixed
# host paths, and the sysctls the kubelet changed. Safe to run at any time and again (hack/realnode/up.sh
# runs it before a fresh start, hack/cluster-down.sh before stopping the control plane).
#   --quiet   say nothing when there was nothing to stop
#   --delete-node   also delete the Node object (when the control plane keeps running)
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=env.sh
source "$ROOT/hack/realnode/env.sh"
quiet=0 delete_node=0
for a in "$@"; do case $a in --quiet) quiet=1 ;; --delete-node) delete_node=1 ;; esac; done
say() { [[ $quiet == 1 ]] || echo "realnode-down: $*"; }
[[ $(id -u) == 0 ]] || { say "not root: nothing to do"; exit 0; }

alive() {  # alive PID PATTERN: PID runs and its command line contains PATTERN
  local cmd; [[ -n "$1" && -r "/proc/$1/cmdline" ]] || return 1
  cmd="$(tr '\0' ' ' < "/proc/$1/cmdline" 2>/dev/null)" && [[ "$cmd" == *"$2"* ]]
}
stop() {  # stop NAME PATTERN: TERM the recorded pid, KILL after 10 s
  local f="$RN_DIR/pids/$1.pid" pid
  [[ -f "$f" ]] || return 0
  pid="$(cat "$f")"
  if alive "$pid" "$2"; then
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 100); do alive "$pid" "$2" || break; sleep 0.1; done
    alive "$pid" "$2" && { say "$1 (pid $pid) ignored SIGTERM for 10s: SIGKILL"; kill -KILL "$pid" 2>/dev/null; sleep 0.2; }
    say "stopped $1 (pid $pid)"
  fi
  rm -f "$f"
}
if [[ $delete_node == 1 && -f "$RN_CLUSTER/kubeconfig" ]]; then
  "$RN_BIN/kubectl" --kubeconfig "$RN_CLUSTER/kubeconfig" --request-timeout=10s delete node "$RN_NODE" \
    --ignore-not-found --wait=false >/dev/null 2>&1 || true
fi
stop kubelet "$RN_BIN/kubelet"
# The machine-wide leftovers (kubepods cgroups, the bridge, fixed host paths, sysctls, mounts of a
# killed stack in another checkout) are cleaned only when no other real node's kubelet runs here.
others="$(pgrep -f -- "--config .*/realnode/kubelet.yaml" 2>/dev/null | tr '\n' ' ')"
machine=1
[[ -n "${others// }" ]] && { machine=0; say "another real node's kubelet runs (pid $others): only this checkout's state is removed"; }

# The pods' processes: everything in the kubepods cgroups (only the real node creates them).
kubepods=()
for d in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods; do [[ -d "$d" ]] && kubepods+=("$d"); done
if [[ $machine == 1 ]] && ((${#kubepods[@]})); then
  for _ in $(seq 50); do
    pids="$(find "${kubepods[@]}" -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u | tr '\n' ' ')"
    [[ -z "${pids// }" ]] && break
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null
    sleep 0.1
  done
fi
# containerd, then the shims that served our socket (they outlive containerd).
stop containerd "$RN_DIR/containerd/config.toml"
for p in $(pgrep -f "containerd-shim-runc-v2 .*-address $RN_SOCK" 2>/dev/null); do
  alive "$p" "$RN_SOCK" && kill -KILL "$p" 2>/dev/null
done
if [[ $machine == 1 ]]; then
  # A real node's containerd or shims left by a stack killed in another checkout (its kubelet is
  # gone): they hold the streaming port and mounts, and nothing can use them any more.
  stale="(/\.cluster/realnode/|/run/dagwright-realnode-)"
  for p in $(pgrep -f -- "^containerd --config .*/realnode/containerd/config\.toml" 2>/dev/null) \
           $(pgrep -f -- "containerd-shim-runc-v2 .*-address [^ ]*$stale" 2>/dev/null); do
    say "stopping pid $p, left by an earlier real node: $(tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | cut -c1-120)"
    kill -KILL "$p" 2>/dev/null
  done
fi

# Mounts: the kubelet's root (bind-mounted on itself), the overlay rootfs, shm and netns of the
# pods; those of this checkout, and those of any real node's state left by a killed stack.
for _ in 1 2 3; do
  if [[ $machine == 1 ]]; then pattern="^($RN_DIR|$RN_RUN)(/|\$)|/\.cluster/realnode/|^/run/dagwright-realnode-"
  else pattern="^($RN_DIR|$RN_RUN)(/|\$)"; fi
  mounts="$(findmnt -rn -o TARGET | grep -E "$pattern" | sort -r)"
  [[ -z "$mounts" ]] && break
  while IFS= read -r m; do umount -l "$m" 2>/dev/null; done <<<"$mounts"
done
if [[ $machine == 0 ]]; then
  rm -rf --one-file-system "$RN_DIR" "$RN_RUN" 2>/dev/null
  say "this checkout's real node stopped"
  exit 0
fi
ip link show "$RN_BRIDGE" >/dev/null 2>&1 && ip link del "$RN_BRIDGE" 2>/dev/null && say "removed bridge $RN_BRIDGE"
if ((${#kubepods[@]})); then
  find "${kubepods[@]}" -depth -type d -exec rmdir {} + 2>/dev/null
fi
if [[ -f /run/dagwright-realnode.sysctl ]]; then
  while IFS='=' read -r k v; do sysctl -qw "$k=$v" >/dev/null 2>&1; done < /run/dagwright-realnode.sysctl
  rm -f /run/dagwright-realnode.sysctl
  say "restored sysctls (vm.overcommit_memory kernel.panic kernel.panic_on_oops)"
fi
# Fixed host paths the kubelet, containerd and libcni use whatever their root dirs say.
rm -f /var/lib/kubelet/device-plugins/kubelet.sock
rmdir /var/lib/kubelet/device-plugins /var/lib/kubelet 2>/dev/null
find /var/log/containers /var/log/pods -maxdepth 1 -xtype l -delete 2>/dev/null
rmdir /var/log/containers /var/log/pods 2>/dev/null
rm -f /var/lib/cni/results/dagwright-realnode-* /var/lib/cni/results/cni-loopback-* 2>/dev/null
rmdir /var/lib/cni/results /var/lib/cni 2>/dev/null
if ! pgrep -x containerd >/dev/null && ! pgrep -f 'containerd-shim-runc-v2 ' >/dev/null; then
  rm -rf /run/containerd/s /run/containerd/runc 2>/dev/null; rmdir /run/containerd 2>/dev/null
fi
rm -rf --one-file-system "$RN_DIR" "$RN_RUN" 2>/dev/null
[[ -e "$RN_DIR" ]] && { echo "realnode-down: WARNING: could not remove all of $RN_DIR" >&2; exit 1; }
say "real node stopped, nothing left"
exit 0
