#!/usr/bin/env bash
# Start the services of the runnable lakehouse example (idempotent; hack/cluster-up.sh calls it
# after the real node): PostgreSQL from Debian (databases `crm` and `lakehouse`), dw-s3 (an S3
# protocol server over files, built from the Go module proxy: hack/services/s3) with the buckets
# `landing` and `lakehouse`, and the notification receiver (hack/demo_receiver.py, appending every
# POST to .cluster/services/notifications.log). Each runs by pid (.cluster/services/pids), listens
# on 127.0.0.1 and the real node's bridge address only, and keeps its state in .cluster/services.
# A service that is up and answers is left alone; one that was killed or does not answer is
# (re)started on its kept state. Writes .cluster/services/endpoints.json for clients and tests.
# The services do not inherit fd 9: cluster-up holds its lock (.cluster/.lock) there.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=env.sh
source "$ROOT/hack/services/env.sh"
log() { echo "services-up: $*"; }
die() { echo "services-up: ERROR: $*" >&2; exit 1; }
[[ $(id -u) == 0 ]] || die "needs root (PostgreSQL runs as the postgres user)"
ip -4 addr show "$RN_BRIDGE" 2>/dev/null | grep -q "inet $SV_HOST/" || die "bridge $RN_BRIDGE ($SV_HOST) missing: start the real node first"
PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
[[ -x "$PG_BIN/postgres" ]] || die "PostgreSQL missing (hack/cluster/system-deps.sh installs Debian's postgresql)"
mkdir -p "$SV_DIR/pids" "$SV_DIR/logs"

alive() {  # alive NAME PATTERN: the recorded pid runs and its command line contains PATTERN
  local f="$SV_DIR/pids/$1.pid" pid cmd
  [[ -f "$f" ]] && pid="$(cat "$f")" && [[ -r "/proc/$pid/cmdline" ]] || return 1
  cmd="$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null)" && [[ "$cmd" == *"$2"* ]]
}
answers() {  # answers PORT: something accepts TCP on the bridge address (and 127.0.0.1 unless told no)
  if [[ "${2:-}" == bridge-only ]]; then timeout 2 bash -c "</dev/tcp/$SV_HOST/$1" 2>/dev/null; return; fi
  timeout 2 bash -c "</dev/tcp/127.0.0.1/$1 && </dev/tcp/$SV_HOST/$1" 2>/dev/null
}
wait_up() {  # wait_up NAME PATTERN PORT [bridge-only]
  for _ in $(seq 300); do
    answers "$3" "${4:-}" && return 0
    alive "$1" "$2" || { tail -n 20 "$SV_DIR/logs/$1.log" >&2; die "$1 exited"; }
    sleep 0.1
  done
  tail -n 20 "$SV_DIR/logs/$1.log" >&2; die "$1 does not answer on port $3 after 30s"
}
restart_needed() {  # restart_needed NAME PATTERN PORT [bridge-only]: stops a running but deaf instance
  if alive "$1" "$2"; then
    answers "$3" "${4:-}" && return 1
    log "$1 runs but does not answer: restarting"
    local sig=TERM; [[ $1 == postgres ]] && sig=INT  # PostgreSQL's fast shutdown (TERM waits for clients)
    kill "-$sig" "$(cat "$SV_DIR/pids/$1.pid")" 2>/dev/null || true
    for _ in $(seq 100); do alive "$1" "$2" || break; sleep 0.1; done
    alive "$1" "$2" && kill -KILL "$(cat "$SV_DIR/pids/$1.pid")" 2>/dev/null
  fi
  return 0
}

# ---------------------------------------------------------------- PostgreSQL
PG_DATA="$SV_DIR/postgres"
if restart_needed postgres "$PG_DATA" "$SV_PG_PORT"; then
  if [[ ! -f "$PG_DATA/PG_VERSION" ]]; then
    install -d -o postgres -g postgres -m 700 "$PG_DATA"
    pw="$SV_DIR/.pgpass-init"; install -o postgres -m 600 /dev/null "$pw"; echo "$SV_PG_PASSWORD" >"$pw"
    setpriv --reuid=postgres --regid=postgres --init-groups "$PG_BIN/initdb" -D "$PG_DATA" -U "$SV_PG_USER" \
      --pwfile="$pw" --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 \
      >"$SV_DIR/logs/initdb.log" 2>&1 || { rm -f "$pw"; tail -n 20 "$SV_DIR/logs/initdb.log" >&2; die "initdb failed"; }
    rm -f "$pw"
    printf 'local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\nhost all all %s scram-sha-256\n' \
      "$RN_POD_SUBNET" >"$PG_DATA/pg_hba.conf"
  fi
  install -d -o postgres -g postgres -m 755 "$SV_DIR/pg-run"
  # After a SIGKILL of the postmaster its children linger for a moment, still attached to the
  # shared memory, and a new postmaster refuses to start ("lock file already exists"): try again.
  for try in $(seq 20); do
    setsid setpriv --reuid=postgres --regid=postgres --init-groups "$PG_BIN/postgres" -D "$PG_DATA" \
      -c listen_addresses="127.0.0.1,$SV_HOST" -c port="$SV_PG_PORT" -c unix_socket_directories="$SV_DIR/pg-run" \
      -c max_connections=50 -c shared_buffers=64MB -c fsync=off -c full_page_writes=off \
      </dev/null >>"$SV_DIR/logs/postgres.log" 2>&1 9>&- &
    echo $! >"$SV_DIR/pids/postgres.pid"
    for _ in $(seq 20); do alive postgres "$PG_DATA" && ! answers "$SV_PG_PORT" || break; sleep 0.1; done
    alive postgres "$PG_DATA" || ! tail -n 3 "$SV_DIR/logs/postgres.log" | grep -q 'lock file "postmaster.pid" already exists' || {
      log "the killed PostgreSQL's processes still hold its data dir; trying again ($try)"; sleep 1; continue; }
    break
  done
  wait_up postgres "$PG_DATA" "$SV_PG_PORT"
  for _ in $(seq 100); do "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$SV_PG_PORT" && break; sleep 0.1; done
  log "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on $SV_HOST:$SV_PG_PORT (pid $(cat "$SV_DIR/pids/postgres.pid"))"
fi
for db in crm lakehouse; do
  PGPASSWORD="$SV_PG_PASSWORD" "$PG_BIN/psql" -q -h 127.0.0.1 -p "$SV_PG_PORT" -U "$SV_PG_USER" -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1 \
    || PGPASSWORD="$SV_PG_PASSWORD" "$PG_BIN/createdb" -h 127.0.0.1 -p "$SV_PG_PORT" -U "$SV_PG_USER" "$db"
done

# ---------------------------------------------------------------- S3 (dw-s3)
s3_inputs="$(cd "$ROOT/hack/services/s3" && cat go.mod go.sum main.go | sha256sum | cut -c1-16)"
if [[ ! -x "$SV_S3_BIN" || "$(cat "$SV_S3_BIN.inputs" 2>/dev/null)" != "$s3_inputs" ]]; then
  GO="$(command -v go || echo /usr/local/go/bin/go)"
  start=$(date +%s)
  mkdir -p "$(dirname "$SV_S3_BIN")"
  (cd "$ROOT/hack/services/s3" && CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS="-buildvcs=false -mod=readonly" \
     "$GO" build -trimpath -ldflags "-s -w" -o "$SV_S3_BIN.tmp" .) || die "building dw-s3 failed"
  mv "$SV_S3_BIN.tmp" "$SV_S3_BIN"; echo "$s3_inputs" >"$SV_S3_BIN.inputs"
  log "built $SV_S3_BIN in $(( $(date +%s) - start ))s"
fi
if restart_needed s3 "$SV_S3_BIN" "$SV_S3_PORT"; then
  setsid "$SV_S3_BIN" -root "$SV_DIR/s3" -listen "127.0.0.1:$SV_S3_PORT,$SV_HOST:$SV_S3_PORT" \
    -bucket landing -bucket lakehouse </dev/null >>"$SV_DIR/logs/s3.log" 2>&1 9>&- &
  echo $! >"$SV_DIR/pids/s3.pid"
  wait_up s3 "$SV_S3_BIN" "$SV_S3_PORT"
  log "dw-s3 on $SV_HOST:$SV_S3_PORT (pid $(cat "$SV_DIR/pids/s3.pid"), data in $SV_DIR/s3)"
fi

# ---------------------------------------------------------------- notification receiver
RECEIVER="$ROOT/hack/demo_receiver.py"
if restart_needed receiver "$RECEIVER" "$SV_RECEIVER_PORT" bridge-only; then
  setsid python3 "$RECEIVER" "$SV_DIR/receiver.port" "$SV_DIR/notifications.log" "$SV_HOST:$SV_RECEIVER_PORT" \
    </dev/null >>"$SV_DIR/logs/receiver.log" 2>&1 9>&- &
  echo $! >"$SV_DIR/pids/receiver.pid"
  wait_up receiver "$RECEIVER" "$SV_RECEIVER_PORT" bridge-only
  log "notification receiver on $SV_HOST:$SV_RECEIVER_PORT (pid $(cat "$SV_DIR/pids/receiver.pid"), $SV_DIR/notifications.log)"
fi

cat >"$SV_DIR/endpoints.json" <<JSON
{"host": "$SV_HOST",
 "postgres": {"host": "$SV_HOST", "port": $SV_PG_PORT, "user": "$SV_PG_USER", "password": "$SV_PG_PASSWORD", "crm": "crm", "catalog": "lakehouse"},
 "s3": {"endpoint": "http://$SV_HOST:$SV_S3_PORT", "accessKey": "$SV_S3_KEY", "secretKey": "$SV_S3_SECRET", "region": "us-east-1"},
 "receiver": {"url": "http://$SV_HOST:$SV_RECEIVER_PORT", "log": "$SV_DIR/notifications.log"}}
JSON
log "services ready: $SV_DIR/endpoints.json"
