#!/usr/bin/env bash
# `make test`: lint (hack/lint.sh) and unit tests (they need no tools), then the tools are built and every
# other test directory (tests/chart, tests/cluster, ...) runs against a cluster: KUBECONFIG when set,
# otherwise the local control plane (started here, left running).
# Extra arguments go to both pytest runs, e.g. `hack/test.sh -x -k job`; a first argument
# --unit-only or --cluster-only runs just that half (`make unit-test` / `make cluster-test`).
# pytest exit code 5 (no tests collected) counts as success for a run; real failures fail.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="${VENV:-.venv}"
t0=$(date +%s)
only=""
case "${1:-}" in --unit-only|--cluster-only) only="${1#--}"; only="${only%-only}"; shift ;; esac

hack/cluster/system-deps.sh || exit 1
if [[ ! -x "$VENV/bin/python" || ! -f "$VENV/.installed" \
      || pyproject.toml -nt "$VENV/.installed" || requirements.lock -nt "$VENV/.installed" ]]; then  # as the Makefile
  hack/venv.sh "$VENV" && touch "$VENV/.installed" || { echo "test: creating $VENV failed" >&2; exit 1; }
fi

status=0
run() {  # run LABEL PYTEST-ARGS...
  local label="$1"; shift
  echo "=== test: $label: pytest $*"
  "$VENV/bin/python" -m pytest "$@"
  local rc=$?
  if [[ $rc == 5 ]]; then
    echo "=== test: $label: no tests collected (ok)"
  elif [[ $rc != 0 ]]; then
    echo "=== test: $label: FAILED (pytest exit $rc)"
    status=1
  fi
}

if [[ "$only" != cluster ]]; then
  hack/lint.sh || status=1
  run unit tests/unit "$@"
fi
if [[ "$only" == unit ]]; then
  echo "=== test: finished in $(( $(date +%s) - t0 ))s: $([[ $status == 0 ]] && echo PASSED || echo FAILED)"
  exit $status
fi

# The tools (kube-apiserver, kwok, helm, ...) are for the other tiers only: tests/unit needs none.
hack/build-tools.sh || { echo "test: building tools failed" >&2; exit 1; }
export PATH="$ROOT/.cache/bin:$ROOT/$VENV/bin:$PATH"

if [[ -z "${KUBECONFIG:-}" ]]; then
  # Start (or reuse) the local cluster here so its startup is visible; the session fixture
  # `kubeconfig` finds it healthy and just uses .cluster/kubeconfig.
  hack/cluster-up.sh || { echo "test: cluster-up failed" >&2; exit 1; }
else
  echo "=== test: using the cluster of KUBECONFIG=$KUBECONFIG"
fi
run cluster tests --ignore=tests/unit "$@"

echo "=== test: finished in $(( $(date +%s) - t0 ))s: $([[ $status == 0 ]] && echo PASSED || echo FAILED)"
exit $status
