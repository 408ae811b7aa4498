#!/usr/bin/env bash
# make demo: the lakehouse pipeline moving real data on the local cluster's real node
# (examples/lakehouse-local): the control plane, the real node, the services (S3, PostgreSQL with
# the Iceberg catalog and the CRM, the notification receiver), the CRDs and the operator; then two
# days: a good day (Succeeded, the CRM equals Gold) and a bad day (its quality gate fails, the CRM
# sync is Skipped, the run Failed). Ends with the notifications and the figures read back from the
# data (rows per layer through an Iceberg client, what reached the CRM). Exits non-zero when a day
# does not end as it should. The cluster stays up (make cluster-down).
# With DW_REAL_NODE=0 (no root, no real node) it runs the simulated reference instead
# (hack/demo-simulated.sh: examples/manifests/lakehouse on kwok's pretend pods).
# `dagwright ui` serves the web view on 127.0.0.1:8080 (DEMO_UI_PORT) while the demo runs (DEMO_UI=0: not).
set -euo pipefail
cd "$(dirname "$0")/.."
[[ "${DW_REAL_NODE:-1}" == 0 || "${DW_SERVICES:-1}" == 0 ]] && exec hack/demo-simulated.sh
export PATH="$PWD/.cache/bin:$PWD/.venv/bin:$PATH"
ns=dagwright-demo
example=examples/lakehouse-local
PY=.venv/bin/python
t0=$(date +%s)

hack/cluster-up.sh
export KUBECONFIG="$PWD/.cluster/kubeconfig"
mkdir -p .cluster/logs

echo "==> installing the CRDs"
kubectl apply --server-side --force-conflicts -f crds/ >/dev/null
kubectl wait --for=condition=Established --timeout=60s crd/workflows.dagwright.io crd/workflowruns.dagwright.io crd/pools.dagwright.io >/dev/null
kubectl create namespace "$ns" --dry-run=client -o yaml | kubectl apply -f - >/dev/null

pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
echo "==> starting the operator (log: .cluster/logs/operator-demo.log)"
dagwright operator --namespace "$ns" --kubeconfig "$KUBECONFIG" >.cluster/logs/operator-demo.log 2>&1 &
pids+=($!)

if [[ "${DEMO_UI:-1}" == 1 ]]; then  # the web view, live while the demo runs (DEMO_UI=0: without)
  ui_port=${DEMO_UI_PORT:-8080}
  dagwright ui --namespace "$ns" --kubeconfig "$KUBECONFIG" --port "$ui_port" >.cluster/logs/ui-demo.log 2>&1 &
  pids+=($!)
  echo "==> the web view: http://127.0.0.1:$ui_port/ (dagwright ui; log: .cluster/logs/ui-demo.log)"
fi
echo "==> applying $example (code and dbt project as ConfigMaps, service endpoints, credentials)"
$PY "$example/local.py" manifests | kubectl -n "$ns" apply -f -
kubectl -n "$ns" apply -f "$example/workflow.yaml"

status=0
day() {  # day DATE QUALITY EXPECTED-PHASE
  local run="lakehouse-local-${1//-/}" start phase
  echo
  echo "==> $1 ($2 day): landing the shop's export, then run $run"
  $PY "$example/local.py" land "$1" "$2" | $PY -c 'import json,sys; m=json.load(sys.stdin); print("landed", sum(f["rows"] for f in m["files"]), "rows in", len(m["files"]), "files")'
  kubectl -n "$ns" delete workflowrun "$run" --ignore-not-found >/dev/null
  start=$(date +%s)
  kubectl -n "$ns" apply -f - >/dev/null <<RUN
apiVersion: dagwright.io/v1alpha1
kind: WorkflowRun
metadata: {name: $run}
spec: {workflowRef: {name: lakehouse-local}, logicalDate: "${1}T01:00:00Z"}
RUN
  dagwright watch "$run" -n "$ns" --kubeconfig "$KUBECONFIG" --timeout 900 || true
  dagwright get "$run" -n "$ns" --kubeconfig "$KUBECONFIG"
  phase=$(kubectl -n "$ns" get workflowrun "$run" -o jsonpath='{.status.phase}')
  echo "==> $run: $phase after $(( $(date +%s) - start ))s (expected $3)"
  [[ "$phase" == "$3" ]] || status=1
}
day 2026-11-24 good Succeeded
day 2026-11-25 bad Failed

echo
echo "==> notifications received (.cluster/services/notifications.log):"
sleep 2
grep -E 'lakehouse-local-2026112[45]' .cluster/services/notifications.log \
  | $PY -c 'import json,sys
for line in sys.stdin:
    path, _, body = line.partition(" ")
    print(path, json.loads(body)["text"])' || true
echo
echo "==> what the data shows (Iceberg tables read with pyiceberg; the CRM table in PostgreSQL):"
$PY "$example/local.py" report || status=1
echo
echo "==> make demo took $(( $(date +%s) - t0 ))s"
if [ "$status" -ne 0 ]; then
  echo "demo: a day did not end as expected; operator log tail:" >&2
  tail -n 40 .cluster/logs/operator-demo.log >&2
fi
exit "$status"
