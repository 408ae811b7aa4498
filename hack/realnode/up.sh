#!/usr/bin/env bash
# Start the local cluster's real node: a private containerd (Debian's containerd + runc + CNI
# plugins) and a kubelet that joins the control plane of hack/cluster-up.sh (which calls this).
#   - node $RN_NODE, labelled and tainted dagwright.io/real-node=true:NoSchedule (pods opt in);
#   - pod network: bridge dw-rn0 (host side .1), host-only: no default route, no forwarding, no NAT;
#   - the images of .cache/realnode/images (hack/image/task-images.sh) imported into containerd;
#   - never evicts or taints itself for disk (tiny eviction thresholds, image GC off: the local
#     images cannot be pulled again), clusterDNS set (pods get no MissingClusterDNS warning; the
#     address answers nothing: pods have no DNS).
# Idempotent: a running node that is Ready is left as is; anything else (a stack killed mid-flight:
# stale pids, mounts, sockets, bridge) is cleaned up by hack/realnode/down.sh first and started
# afresh. State: .cluster/realnode (logs in .cluster/realnode/logs). Needs root.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=env.sh
source "$ROOT/hack/realnode/env.sh"
t0=$(date +%s.%N)
since() { awk -v s="$1" -v e="$(date +%s.%N)" 'BEGIN{printf "%.1f", e-s}'; }
log() { echo "realnode-up: [$(since "$t0")s] $*"; }
die() { echo "realnode-up: ERROR: $*" >&2; exit 1; }
tail_log() { echo "----- last 30 lines of $RN_DIR/logs/$1.log -----" >&2; tail -n 30 "$RN_DIR/logs/$1.log" >&2 || true; }
PKI="$RN_CLUSTER/pki"
KUBECTL=("$RN_BIN/kubectl" --kubeconfig "$RN_CLUSTER/kubeconfig" --request-timeout=10s)
APISERVER_PORT="${DW_APISERVER_PORT:-16443}"
TIMEOUT="${DW_START_TIMEOUT:-90}"

[[ $(id -u) == 0 ]] || die "the real node needs root (or set DW_REAL_NODE=0 for a kwok-only cluster)"
for b in containerd runc; do command -v "$b" >/dev/null || die "$b missing (hack/cluster/system-deps.sh installs it)"; done
[[ -x "$RN_CNI_BIN/bridge" ]] || die "$RN_CNI_BIN/bridge missing (Debian package containernetworking-plugins)"
[[ -x "$RN_BIN/kubelet" ]] || die "$RN_BIN/kubelet missing; run 'make tools'"
[[ -f "$PKI/ca.key" ]] || die "$PKI/ca.key missing: start the control plane first (hack/cluster-up.sh)"
for i in pause python; do [[ -f "$RN_IMAGES/$i.tar" ]] || die "$RN_IMAGES/$i.tar missing; run hack/image/task-images.sh"; done

ours() {  # ours PIDFILE PATTERN: the recorded pid is alive and its command line contains PATTERN
  local pid cmd; [[ -f "$1" ]] || return 1; pid="$(cat "$1")"
  [[ -n "$pid" && -r "/proc/$pid/cmdline" ]] || return 1
  cmd="$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null)" || return 1
  [[ "$cmd" == *"$2"* ]]
}
node_ready() {
  [[ "$("${KUBECTL[@]}" get node "$RN_NODE" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" == True ]]
}
if ours "$RN_DIR/pids/kubelet.pid" "$RN_BIN/kubelet" && ours "$RN_DIR/pids/containerd.pid" "$RN_DIR/containerd/config.toml" \
   && node_ready; then
  log "node $RN_NODE already running and Ready"; exit 0
fi
# Whatever is left of an earlier start (killed or half-started) goes first.
"$ROOT/hack/realnode/down.sh" --quiet
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# await_exec PIDFILE PATTERN: a just-forked shell shows this script's command line until it has
# exec'd the program; wait for that (or for the process to end) before judging it by `ours`.
await_exec() {
  local pid; pid="$(cat "$1")"
  for _ in $(seq 100); do ours "$1" "$2" && return 0; kill -0 "$pid" 2>/dev/null || return 0; sleep 0.05; done
}
for p in "$RN_KUBELET_PORT" "$RN_KUBELET_HEALTHZ_PORT" "$RN_STREAM_PORT"; do
  port_busy "$p" && die "port 127.0.0.1:$p is in use (another kubelet or containerd?); set DW_KUBELET_PORT / DW_CONTAINERD_STREAM_PORT"
done
mkdir -p "$RN_DIR"/{pids,logs,pki,containerd/root,containerd/state,cni/net.d,cni/ipam,runc,pod-logs,volume-plugins} "$RN_RUN" "$RN_KUBELET_ROOT"

# ------------------------------------------------------------------ containerd
cat > "$RN_DIR/containerd/config.toml" <<TOML
version = 2
root = "$RN_DIR/containerd/root"
state = "$RN_DIR/containerd/state"
disabled_plugins = ["io.containerd.internal.v1.tracing", "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs"]
[grpc]
  address = "$RN_SOCK"
[ttrpc]
  address = "$RN_SOCK.ttrpc"
[debug]
  address = "$RN_RUN/debug.sock"
  level = "warn"
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$RN_DIR/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$RN_PAUSE_IMAGE"
  stream_server_address = "127.0.0.1"
  stream_server_port = "$RN_STREAM_PORT"
  enable_selinux = false
  disable_apparmor = true
  # Processes here may lack CAP_SYS_RESOURCE: a negative oom_score_adj (pause: -998) would make
  # every sandbox fail ("can't get final child's PID from pipe: EOF"). Clamp to containerd's own.
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        BinaryName = "$(command -v runc)"
        Root = "$RN_DIR/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$RN_CNI_BIN"
    conf_dir = "$RN_DIR/cni/net.d"
    max_conf_num = 1
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = ""
TOML
# Host-only pod network: the bridge is made here (isGateway would switch on ip_forward), no NAT,
# no portmap: a pod's only route is the pod subnet.
cat > "$RN_DIR/cni/net.d/10-dagwright.conflist" <<JSON
{"cniVersion": "0.4.0", "name": "dagwright-realnode", "plugins": [
  {"type": "bridge", "bridge": "$RN_BRIDGE", "isGateway": false, "ipMasq": false, "hairpinMode": false,
   "ipam": {"type": "host-local", "dataDir": "$RN_DIR/cni/ipam", "ranges": [[{"subnet": "$RN_POD_SUBNET"}]]}}]}
JSON
ip link add "$RN_BRIDGE" type bridge
ip addr add "$RN_BRIDGE_IP/${RN_POD_SUBNET#*/}" dev "$RN_BRIDGE"
ip link set "$RN_BRIDGE" up
echo "=== $(date -u +%FT%TZ) starting containerd" >> "$RN_DIR/logs/containerd.log"
setsid containerd --config "$RN_DIR/containerd/config.toml" </dev/null >>"$RN_DIR/logs/containerd.log" 2>&1 9>&- &
echo $! > "$RN_DIR/pids/containerd.pid"
await_exec "$RN_DIR/pids/containerd.pid" "$RN_DIR/containerd/config.toml"
CTR=(ctr --address "$RN_SOCK" --namespace k8s.io --timeout 30s)
deadline=$(( $(date +%s) + TIMEOUT ))
until "${CTR[@]}" version >/dev/null 2>&1; do
  ours "$RN_DIR/pids/containerd.pid" "$RN_DIR/containerd/config.toml" || { tail_log containerd; die "containerd exited"; }
  (( $(date +%s) < deadline )) || { tail_log containerd; die "containerd not ready after ${TIMEOUT}s"; }
  sleep 0.2
done
log "containerd $(containerd --version | awk '{print $3}') ready (pid $(cat "$RN_DIR/pids/containerd.pid"))"
# spark and dbt (hack/image/task-images.sh builds them unless told `python`) when they were built;
# dbt's archive holds the spark layer too, which containerd keeps once.
for i in pause python spark dbt; do
  [[ -f "$RN_IMAGES/$i.tar" ]] || continue
  ctr --address "$RN_SOCK" --namespace k8s.io images import "$RN_IMAGES/$i.tar" >/dev/null || die "importing $RN_IMAGES/$i.tar failed"
done
log "images imported: $("${CTR[@]}" images ls -q | grep -v '^sha256:' | tr '\n' ' ')"

# ------------------------------------------------------------------ kubelet
sign() {  # sign NAME SUBJECT EKU [SAN]: a certificate from the cluster CA
  local name="$1" subj="$2" eku="$3" san="${4:-}" d="$RN_DIR/pki"
  openssl ecparam -name prime256v1 -genkey -noout -out "$d/$name.key" 2>/dev/null
  openssl req -new -key "$d/$name.key" -subj "$subj" -out "$d/$name.csr" 2>/dev/null
  { echo "basicConstraints=CA:FALSE"; echo "keyUsage=critical,digitalSignature"; echo "extendedKeyUsage=$eku"
    [[ -n "$san" ]] && echo "subjectAltName=$san"; } > "$d/$name.ext"
  openssl x509 -req -in "$d/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
    -days 3650 -sha256 -extfile "$d/$name.ext" -out "$d/$name.crt" 2>/dev/null
  rm -f "$d/$name.csr" "$d/$name.ext"; chmod 600 "$d/$name.key"
}
# The Node authorizer and NodeRestriction apply to this identity as in a real cluster.
sign kubelet-client "/O=system:nodes/CN=system:node:$RN_NODE" clientAuth
sign kubelet-server "/CN=$RN_NODE" serverAuth "DNS:$RN_NODE,DNS:localhost,IP:127.0.0.1"
cat > "$RN_DIR/kubelet.kubeconfig" <<YAML
apiVersion: v1
kind: Config
clusters:
- name: dagwright-local
  cluster: {server: "https://127.0.0.1:$APISERVER_PORT", certificate-authority: "$PKI/ca.crt"}
users:
- name: node
  user: {client-certificate: "$RN_DIR/pki/kubelet-client.crt", client-key: "$RN_DIR/pki/kubelet-client.key"}
contexts:
- name: node
  context: {cluster: dagwright-local, user: node}
current-context: node
YAML
chmod 600 "$RN_DIR/kubelet.kubeconfig"
cat > "$RN_DIR/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: $RN_KUBELET_PORT
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $RN_KUBELET_HEALTHZ_PORT
tlsCertFile: $RN_DIR/pki/kubelet-server.crt
tlsPrivateKeyFile: $RN_DIR/pki/kubelet-server.key
rotateCertificates: false
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $PKI/ca.crt}
authorization: {mode: Webhook}
containerRuntimeEndpoint: unix://$RN_SOCK
imageServiceEndpoint: unix://$RN_SOCK
cgroupDriver: cgroupfs
failSwapOn: false
failCgroupV1: false
makeIPTablesUtilChains: false
registerNode: true
registerWithTaints:
- {key: $RN_LABEL, value: "true", effect: NoSchedule}
podLogsDir: $RN_DIR/pod-logs
volumePluginDir: $RN_DIR/volume-plugins
clusterDNS: [$RN_BRIDGE_IP]
clusterDomain: cluster.local
maxPods: 30
serializeImagePulls: false
# The task images exist only locally: never garbage-collect them. Never evict or taint the
# node for disk (a fuller disk in CI must not make the node refuse pods).
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", nodefs.inodesFree: "1%", imagefs.available: "1%", imagefs.inodesFree: "1%"}
evictionPressureTransitionPeriod: 30s
YAML
# The kubelet sets vm.overcommit_memory, kernel.panic and kernel.panic_on_oops; down.sh restores
# them. The file is machine-wide (/run) so a stack killed before down.sh is restored by the next one.
SYSCTL_SAVE=/run/dagwright-realnode.sysctl
if [[ ! -f "$SYSCTL_SAVE" ]]; then
  for k in vm.overcommit_memory kernel.panic kernel.panic_on_oops; do echo "$k=$(sysctl -n "$k")"; done > "$SYSCTL_SAVE"
fi
echo "=== $(date -u +%FT%TZ) starting kubelet" >> "$RN_DIR/logs/kubelet.log"
setsid "$RN_BIN/kubelet" --config "$RN_DIR/kubelet.yaml" --kubeconfig "$RN_DIR/kubelet.kubeconfig" \
  --root-dir "$RN_KUBELET_ROOT" --cert-dir "$RN_DIR/pki" --hostname-override "$RN_NODE" \
  --node-labels "$RN_LABEL=true" --v=1 </dev/null >>"$RN_DIR/logs/kubelet.log" 2>&1 9>&- &
echo $! > "$RN_DIR/pids/kubelet.pid"
await_exec "$RN_DIR/pids/kubelet.pid" "$RN_BIN/kubelet"
node_usable() {  # Ready, and no taint but ours (not-ready, disk-pressure... would keep pods away)
  node_ready || return 1
  local taints; taints="$("${KUBECTL[@]}" get node "$RN_NODE" -o jsonpath='{.spec.taints[*].key}' 2>/dev/null)" || return 1
  [[ "$taints" == "$RN_LABEL" ]]
}
deadline=$(( $(date +%s) + TIMEOUT ))
until node_usable; do
  ours "$RN_DIR/pids/kubelet.pid" "$RN_BIN/kubelet" || { tail_log kubelet; die "kubelet exited"; }
  if (( $(date +%s) > deadline )); then
    "${KUBECTL[@]}" get node "$RN_NODE" -o wide >&2 || true
    "${KUBECTL[@]}" get node "$RN_NODE" -o jsonpath='{.spec.taints}' >&2 || true
    tail_log kubelet; die "node $RN_NODE not Ready (or tainted) after ${TIMEOUT}s"
  fi
  sleep 0.5
done
log "node $RN_NODE Ready (kubelet pid $(cat "$RN_DIR/pids/kubelet.pid")): pods with nodeSelector $RN_LABEL=true and its toleration run here"
