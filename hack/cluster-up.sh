#!/usr/bin/env bash
# Start Dagwright's local Kubernetes control plane (no Docker):
#   etcd -> kube-apiserver -> kube-controller-manager + kube-scheduler -> kwok (fake nodes)
#   -> the real node: containerd + kubelet (hack/realnode/up.sh; DW_REAL_NODE=0 leaves it out)
# All on 127.0.0.1. State in .cluster/ (override with CLUSTER_DIR):
#   .cluster/kubeconfig   admin kubeconfig (group system:masters)
#   .cluster/logs/*.log   one log per component, plus audit.log (API writes, Metadata level)
#   .cluster/pids/*.pid   the pids this script started (hack/cluster-down.sh stops exactly those)
#   .cluster/ports.env    the ports in use
#   .cluster/realnode/    the real node's state and logs (hack/realnode/env.sh lists its settings)
# Idempotent: a running healthy cluster is left as is; a dead component is reported (tail of
# its log) and restarted; a component that cannot start fails the script (non-zero exit) with
# the tail of its log. Every wait has a deadline.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${BIN:-$ROOT/.cache/bin}"
DIR="${CLUSTER_DIR:-$ROOT/.cluster}"
STAGES="${KWOK_STAGES:-$ROOT/hack/kwok/stages.yaml}"

# Fixed, non-default ports (the defaults 2379/6443/10257/10259 are left for anything else).
ETCD_PORT="${DW_ETCD_PORT:-23790}"
ETCD_PEER_PORT="${DW_ETCD_PEER_PORT:-23800}"
APISERVER_PORT="${DW_APISERVER_PORT:-16443}"
KCM_PORT="${DW_KCM_PORT:-10357}"
SCHEDULER_PORT="${DW_SCHEDULER_PORT:-10359}"
KWOK_PORT="${DW_KWOK_PORT:-10347}"
NODES="${DW_KWOK_NODES:-3}"
NODE_CPU="${DW_KWOK_NODE_CPU:-64}"
NODE_MEMORY="${DW_KWOK_NODE_MEMORY:-256Gi}"
NODE_PODS="${DW_KWOK_NODE_PODS:-1000}"
SERVICE_CIDR="10.96.0.0/16"
START_TIMEOUT="${DW_START_TIMEOUT:-90}"   # seconds per component
# DW_KWOK_LOG_LEVEL=INFO logs every pod/node patch kwok makes (default WARN: errors only).

start_ts=$(date +%s.%N)
elapsed() { awk -v s="$start_ts" -v e="$(date +%s.%N)" 'BEGIN{printf "%.1f", e-s}'; }
log() { echo "cluster-up: [$(elapsed)s] $*"; }
die() { echo "cluster-up: ERROR: $*" >&2; exit 1; }

for b in etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok; do
  [[ -x "$BIN/$b" ]] || die "$BIN/$b missing; run 'make tools' (hack/build-tools.sh) first"
done
command -v openssl >/dev/null && command -v curl >/dev/null || NEED_VENV=0 "$ROOT/hack/cluster/system-deps.sh"

mkdir -p "$DIR"/{pki,logs,pids,etcd,config}
# One cluster-up at a time (parallel pytest sessions each call it); the lock is released on exit.
exec 9>"$DIR/.lock"
if ! flock -w 300 9; then die "another cluster-up has held $DIR/.lock for 300s"; fi
PKI="$DIR/pki"
KUBECONFIG_ADMIN="$DIR/kubeconfig"
KUBECTL=("$BIN/kubectl" --kubeconfig "$KUBECONFIG_ADMIN" --request-timeout=10s)

cat > "$DIR/ports.env" <<EOF
ETCD=127.0.0.1:$ETCD_PORT
APISERVER=https://127.0.0.1:$APISERVER_PORT
KUBE_CONTROLLER_MANAGER=https://127.0.0.1:$KCM_PORT
KUBE_SCHEDULER=https://127.0.0.1:$SCHEDULER_PORT
KWOK=http://127.0.0.1:$KWOK_PORT
EOF

# ---------------------------------------------------------------- process helpers
pidfile() { echo "$DIR/pids/$1.pid"; }
# running NAME: true when the pid recorded for NAME is alive and is still our binary.
running() {
  local f pid; f="$(pidfile "$1")"
  [[ -f "$f" ]] || return 1
  pid="$(cat "$f")"
  [[ -n "$pid" && -r "/proc/$pid/cmdline" ]] || return 1
  local cmd; cmd="$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null)" || return 1
  [[ "$cmd" == *"$BIN/$1 "* ]]   # (no `| grep -q`: SIGPIPE + pipefail makes that flaky)
}
tail_log() {
  echo "----- last 40 lines of $DIR/logs/$1.log -----" >&2
  tail -n 40 "$DIR/logs/$1.log" >&2 2>/dev/null || true
  echo "-----" >&2
}
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# launch NAME PORT ARGS...: start BIN/NAME detached (own session, no inherited fds).
launch() {
  local name="$1" port="$2"; shift 2
  if port_busy "$port"; then
    die "port 127.0.0.1:$port (for $name) is already in use by another process; set DW_*_PORT or free it"
  fi
  {
    echo "=== $(date -u +%FT%TZ) starting $name"
  } >> "$DIR/logs/$name.log"
  setsid "$BIN/$name" "$@" </dev/null >>"$DIR/logs/$name.log" 2>&1 9>&- &
  local pid=$!
  echo "$pid" > "$(pidfile "$name")"
  # Until the forked shell has exec'd the binary its command line is this script's: `running`
  # would call it dead. Wait for the exec (or the end of the process).
  for _ in $(seq 100); do running "$name" && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  log "started $name (pid $!, port $port)"
}
# await NAME CHECK-COMMAND...: poll until the check passes (0), the process dies (1) or
# START_TIMEOUT passes (2).
await() {
  local name="$1"; shift
  local deadline=$(( $(date +%s) + START_TIMEOUT ))
  until "$@" >/dev/null 2>&1; do
    running "$name" || return 1
    (( $(date +%s) <= deadline )) || return 2
    sleep 0.2
  done
}
# wait_for NAME CHECK-COMMAND...: like await, but a dead or unhealthy component fails the script.
wait_for() {
  local name="$1" rc=0; shift
  await "$name" "$@" || rc=$?
  case $rc in
    0) ;;
    1) tail_log "$name"; die "$name exited during startup (log: $DIR/logs/$name.log)" ;;
    *) tail_log "$name"; die "$name not healthy after ${START_TIMEOUT}s (log: $DIR/logs/$name.log)" ;;
  esac
}
https_ok() { curl -fsS --max-time 2 --cacert "$PKI/ca.crt" "$1"; }
https_ok_insecure() { curl -fsSk --max-time 2 "$1"; }  # KCM/scheduler serve self-signed certs
http_ok() { curl -fsS --max-time 2 "$1"; }

etcd_check() { http_ok "http://127.0.0.1:$ETCD_PORT/health" | grep -q '"health":"true"'; }
apiserver_check() { https_ok "https://127.0.0.1:$APISERVER_PORT/readyz"; }
kcm_check() { https_ok_insecure "https://127.0.0.1:$KCM_PORT/healthz"; }
scheduler_check() { https_ok_insecure "https://127.0.0.1:$SCHEDULER_PORT/healthz"; }
kwok_check() { http_ok "http://127.0.0.1:$KWOK_PORT/healthz"; }

# ---------------------------------------------------------------- certificates
gen_pki() {
  [[ -f "$PKI/.done" ]] && return 0
  log "generating certificates in $PKI"
  rm -f "$PKI"/*
  openssl ecparam -name prime256v1 -genkey -noout -out "$PKI/ca.key" 2>/dev/null
  openssl req -x509 -new -nodes -key "$PKI/ca.key" -sha256 -days 3650 \
    -subj "/CN=dagwright-local-ca" -out "$PKI/ca.crt" 2>/dev/null
  # sign NAME SUBJECT [SAN] [EKU]
  sign() {
    local name="$1" subj="$2" san="${3:-}" eku="${4:-clientAuth}"
    openssl ecparam -name prime256v1 -genkey -noout -out "$PKI/$name.key" 2>/dev/null
    openssl req -new -key "$PKI/$name.key" -subj "$subj" -out "$PKI/$name.csr" 2>/dev/null
    {
      echo "basicConstraints=CA:FALSE"
      echo "keyUsage=critical,digitalSignature"
      echo "extendedKeyUsage=$eku"
      [[ -n "$san" ]] && echo "subjectAltName=$san"
    } > "$PKI/$name.ext"
    openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
      -days 3650 -sha256 -extfile "$PKI/$name.ext" -out "$PKI/$name.crt" 2>/dev/null
    rm -f "$PKI/$name.csr" "$PKI/$name.ext"
  }
  sign apiserver "/CN=kube-apiserver" \
    "IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local" \
    serverAuth
  sign admin "/O=system:masters/CN=kubernetes-admin"
  sign kube-controller-manager "/CN=system:kube-controller-manager"
  sign kube-scheduler "/CN=system:kube-scheduler"
  sign kwok "/O=system:masters/CN=kwok-controller"
  openssl ecparam -name prime256v1 -genkey -noout -out "$PKI/sa.key" 2>/dev/null
  openssl ec -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
  chmod 600 "$PKI"/*.key
  touch "$PKI/.done"
}
# The kube-apiserver's client certificate for kubelets (kubectl logs/exec on the real node).
# Signed here too when an older PKI lacks it.
gen_kubelet_client() {
  [[ -f "$PKI/apiserver-kubelet-client.crt" ]] && return 0
  openssl ecparam -name prime256v1 -genkey -noout -out "$PKI/apiserver-kubelet-client.key" 2>/dev/null
  openssl req -new -key "$PKI/apiserver-kubelet-client.key" -subj "/O=system:masters/CN=kube-apiserver-kubelet-client" \
    -out "$PKI/apiserver-kubelet-client.csr" 2>/dev/null
  printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n' > "$PKI/apiserver-kubelet-client.ext"
  openssl x509 -req -in "$PKI/apiserver-kubelet-client.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
    -days 3650 -sha256 -extfile "$PKI/apiserver-kubelet-client.ext" -out "$PKI/apiserver-kubelet-client.crt" 2>/dev/null
  rm -f "$PKI/apiserver-kubelet-client.csr" "$PKI/apiserver-kubelet-client.ext"
  chmod 600 "$PKI/apiserver-kubelet-client.key"
}

# write_kubeconfig FILE CERT-NAME USER
write_kubeconfig() {
  local file="$1" cert="$2" user="$3"
  cat > "$file.tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: dagwright-local
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority-data: $(base64 -w0 < "$PKI/ca.crt")
users:
- name: $user
  user:
    client-certificate-data: $(base64 -w0 < "$PKI/$cert.crt")
    client-key-data: $(base64 -w0 < "$PKI/$cert.key")
contexts:
- name: dagwright-local
  context:
    cluster: dagwright-local
    user: $user
current-context: dagwright-local
EOF
  chmod 600 "$file.tmp"; mv "$file.tmp" "$file"
}

write_configs() {
  write_kubeconfig "$KUBECONFIG_ADMIN" admin kubernetes-admin
  write_kubeconfig "$DIR/config/kube-controller-manager.kubeconfig" kube-controller-manager system:kube-controller-manager
  write_kubeconfig "$DIR/config/kube-scheduler.kubeconfig" kube-scheduler system:kube-scheduler
  write_kubeconfig "$DIR/config/kwok.kubeconfig" kwok kwok-controller
  # Audit: one line per write request (ResponseComplete), Metadata level. Benchmarks count
  # API writes per user from .cluster/logs/audit.log (json lines: .user.username, .verb, .objectRef).
  cat > "$DIR/config/audit-policy.yaml" <<'EOF'
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: Metadata
  verbs: ["create", "update", "patch", "delete", "deletecollection"]
- level: None
EOF
  cat > "$DIR/config/kube-scheduler.yaml" <<EOF
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
clientConnection:
  kubeconfig: $DIR/config/kube-scheduler.kubeconfig
  qps: 500
  burst: 1000
leaderElection:
  leaderElect: false
EOF
}

# ---------------------------------------------------------------- components
start_etcd() {
  launch etcd "$ETCD_PORT" \
    --name dagwright --data-dir "$DIR/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "dagwright=http://127.0.0.1:$ETCD_PEER_PORT" \
    --unsafe-no-fsync --quota-backend-bytes 4294967296 --log-level warn
  wait_for etcd etcd_check
}

start_apiserver() {
  launch kube-apiserver "$APISERVER_PORT" \
    --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$APISERVER_PORT" \
    --endpoint-reconciler-type none \
    --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
    --client-ca-file "$PKI/ca.crt" \
    --kubelet-client-certificate "$PKI/apiserver-kubelet-client.crt" --kubelet-client-key "$PKI/apiserver-kubelet-client.key" \
    --authorization-mode Node,RBAC \
    --enable-admission-plugins NodeRestriction \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
    --service-cluster-ip-range "$SERVICE_CIDR" \
    --allow-privileged=true \
    --audit-policy-file "$DIR/config/audit-policy.yaml" \
    --audit-log-path "$DIR/logs/audit.log" --audit-log-format json \
    --audit-log-maxsize 500 --audit-log-maxbackup 5 \
    --profiling=false --v=1
  wait_for kube-apiserver apiserver_check
}

start_kcm() {
  launch kube-controller-manager "$KCM_PORT" \
    --kubeconfig "$DIR/config/kube-controller-manager.kubeconfig" \
    --authentication-kubeconfig "$DIR/config/kube-controller-manager.kubeconfig" \
    --authorization-kubeconfig "$DIR/config/kube-controller-manager.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$KCM_PORT" \
    --leader-elect=false \
    --controllers job-controller,garbage-collector-controller,namespace-controller,serviceaccount-controller,serviceaccount-token-controller,ttl-after-finished-controller,node-lifecycle-controller,root-ca-certificate-publisher-controller,pod-garbage-collector-controller,cronjob-controller,replicaset-controller,deployment-controller \
    --root-ca-file "$PKI/ca.crt" \
    --service-account-private-key-file "$PKI/sa.key" \
    --use-service-account-credentials=true \
    --service-cluster-ip-range "$SERVICE_CIDR" \
    --kube-api-qps 500 --kube-api-burst 1000 \
    --concurrent-job-syncs 20 \
    --profiling=false --v=1
}

start_scheduler() {
  launch kube-scheduler "$SCHEDULER_PORT" \
    --config "$DIR/config/kube-scheduler.yaml" \
    --authentication-kubeconfig "$DIR/config/kube-scheduler.kubeconfig" \
    --authorization-kubeconfig "$DIR/config/kube-scheduler.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$SCHEDULER_PORT" \
    --profiling=false --v=1
}

start_kwok() {
  cp "$STAGES" "$DIR/config/kwok-stages.yaml"
  launch kwok "$KWOK_PORT" \
    --config "$DIR/config/kwok-stages.yaml" \
    --kubeconfig "$DIR/config/kwok.kubeconfig" \
    --manage-all-nodes=false \
    --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
    --node-ip 127.0.0.1 --cidr 10.244.0.1/16 \
    --node-lease-duration-seconds 40 \
    --server-address "127.0.0.1:$KWOK_PORT" \
    --v "${DW_KWOK_LOG_LEVEL:-WARN}"
}

# ---------------------------------------------------------------- main
gen_pki
gen_kubelet_client
write_configs

COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)
declare -A START=([etcd]=start_etcd [kube-apiserver]=start_apiserver [kube-controller-manager]=start_kcm
                  [kube-scheduler]=start_scheduler [kwok]=start_kwok)
declare -A CHECK=([etcd]=etcd_check [kube-apiserver]=apiserver_check [kube-controller-manager]=kcm_check
                  [kube-scheduler]=scheduler_check [kwok]=kwok_check)

# kwok must be restarted when hack/kwok/stages.yaml changed since it was started.
if running kwok && ! cmp -s "$STAGES" "$DIR/config/kwok-stages.yaml"; then
  log "hack/kwok/stages.yaml changed: restarting kwok"
  kill "$(cat "$(pidfile kwok)")" 2>/dev/null || true
  for _ in $(seq 50); do running kwok || break; sleep 0.1; done
  rm -f "$(pidfile kwok)"
fi

already=0
# etcd and kube-apiserver one after the other; then the three API clients start in parallel.
for phase in "etcd" "kube-apiserver" "kube-controller-manager kube-scheduler kwok"; do
  for c in $phase; do
    rc=1
    if running "$c"; then
      # Running: healthy (0), or it is dying/died (1) and is restarted below.
      rc=0; await "$c" "${CHECK[$c]}" || rc=$?
      [[ $rc == 2 ]] && { tail_log "$c"; die "$c (pid $(cat "$(pidfile "$c")")) runs but is not healthy after ${START_TIMEOUT}s; try 'make cluster-down cluster-up'"; }
    fi
    if [[ $rc == 0 ]]; then
      already=$((already + 1))
    else
      if [[ -f "$(pidfile "$c")" ]]; then
        echo "cluster-up: WARNING: $c (pid $(cat "$(pidfile "$c")")) is no longer running; restarting it" >&2
        tail_log "$c"
        rm -f "$(pidfile "$c")"
      fi
      "${START[$c]}"
    fi
  done
  for c in $phase; do wait_for "$c" "${CHECK[$c]}"; done
done

# Fake nodes: kwok manages Nodes annotated kwok.x-k8s.io/node=fake. No taint, so every pod
# lands on them without tolerations.
nodes_yaml() {
  for i in $(seq 0 $((NODES - 1))); do
    cat <<EOF
---
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-$i
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    type: kwok
    kubernetes.io/arch: amd64
    kubernetes.io/hostname: kwok-node-$i
    kubernetes.io/os: linux
    kubernetes.io/role: agent
    node-role.kubernetes.io/agent: ""
    topology.kubernetes.io/zone: zone-$((i % 3))
status:
  allocatable: {cpu: "$NODE_CPU", memory: "$NODE_MEMORY", pods: "$NODE_PODS"}
  capacity: {cpu: "$NODE_CPU", memory: "$NODE_MEMORY", pods: "$NODE_PODS"}
EOF
  done
}
existing="$("${KUBECTL[@]}" get nodes -l type=kwok -o name 2>/dev/null | wc -l)"
if (( existing < NODES )); then
  nodes_yaml | "${KUBECTL[@]}" create -f - 2>&1 | grep -v AlreadyExists || true
fi

# Ready = every kwok node reports Ready and node-lifecycle-controller has removed its
# not-ready taint; the default ServiceAccount exists (pods need it).
cluster_ready() {
  local out
  out="$("${KUBECTL[@]}" get nodes -l type=kwok -o jsonpath='{range .items[*]}{.metadata.name} {.status.conditions[?(@.type=="Ready")].status} {.spec.taints[*].key}{"\n"}{end}')" || return 1
  [[ "$(grep -c ' True' <<<"$out")" -ge "$NODES" ]] || return 1
  ! grep -q 'not-ready\|unreachable' <<<"$out" || return 1
  "${KUBECTL[@]}" -n default get serviceaccount default >/dev/null || return 1
}
deadline=$(( $(date +%s) + START_TIMEOUT ))
until cluster_ready 2>/dev/null; do
  for c in "${COMPONENTS[@]}"; do
    running "$c" || { tail_log "$c"; die "$c died while waiting for nodes"; }
  done
  if (( $(date +%s) > deadline )); then
    "${KUBECTL[@]}" get nodes -o wide >&2 || true
    tail_log kwok; tail_log kube-controller-manager
    die "nodes not Ready (or default ServiceAccount missing) after ${START_TIMEOUT}s"
  fi
  sleep 0.3
done

if (( already == ${#COMPONENTS[@]} )); then
  log "control plane already running and healthy"
else
  log "control plane ready"
fi

# The real node (root only): its images (rebuilt only when their recipe changed), then
# containerd + kubelet. DW_REAL_NODE=0 skips it (a kwok-only cluster).
# shellcheck source=realnode/env.sh
source "$ROOT/hack/realnode/env.sh"
real_node="no real node (DW_REAL_NODE=0)"
if rn_enabled; then
  "$ROOT/hack/image/task-images.sh" || die "building the real node's images failed"
  "$ROOT/hack/realnode/up.sh" || die "the real node did not start (logs: $DIR/realnode/logs)"
  real_node="real node $RN_NODE"
  # The runnable lakehouse example's services (PostgreSQL, S3, notification receiver) beside the
  # node; DW_SERVICES=0 leaves them out.
  if [[ "${DW_SERVICES:-1}" != 0 ]]; then
    "$ROOT/hack/services/up.sh" || die "the services did not start (logs: $DIR/services/logs)"
    real_node+=" + services"
  fi
fi
echo "cluster-up: kubeconfig: $KUBECONFIG_ADMIN  (export KUBECONFIG=$KUBECONFIG_ADMIN)"
echo "cluster-up: apiserver https://127.0.0.1:$APISERVER_PORT, $NODES kwok nodes, $real_node, logs in $DIR/logs, took $(elapsed)s"
