#!/usr/bin/env bash
# Stop the lakehouse example's services (hack/services/up.sh) by their recorded pids, checked to
# be ours: the receiver and dw-s3 (SIGTERM), PostgreSQL (SIGINT: its fast shutdown, which does not
# wait for clients; SIGTERM would); SIGKILL after 20 s.
# Their state stays in .cluster/services until hack/cluster-down.sh removes .cluster. Safe to re-run.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=env.sh
source "$ROOT/hack/services/env.sh"
stop() {  # stop NAME PATTERN [SIGNAL]
  local f="$SV_DIR/pids/$1.pid" pid cmd sig="${3:-TERM}"
  [[ -f "$f" ]] || return 0
  pid="$(cat "$f")"
  running() { [[ -r "/proc/$pid/cmdline" ]] && cmd="$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null)" && [[ "$cmd" == *"$2"* ]]; }
  if running "$@"; then
    kill "-$sig" "$pid" 2>/dev/null
    for _ in $(seq 200); do running "$@" || break; sleep 0.1; done
    running "$@" && { echo "services-down: $1 (pid $pid) ignored SIG$sig for 20s: SIGKILL"; kill -KILL "$pid" 2>/dev/null; }
    echo "services-down: stopped $1 (pid $pid)"
  fi
  rm -f "$f"
}
stop receiver "$ROOT/hack/demo_receiver.py"
stop s3 "$SV_S3_BIN"
stop postgres "$SV_DIR/postgres" INT
# PostgreSQL's backends end with the postmaster; wait for them so .cluster can be removed.
for _ in $(seq 50); do pgrep -u postgres -f -- "$SV_DIR/postgres" >/dev/null 2>&1 || break; sleep 0.1; done
exit 0
