#!/usr/bin/env bash
# make demo with DW_REAL_NODE=0 (hack/demo.sh): the local control plane, the CRDs, the operator, and the lakehouse example
# (examples/manifests/lakehouse: S3 landing -> validation -> Spark -> dbt -> quality gate ->
# reverse ETL -> notification) run to its end, shown live. Pods are simulated by kwok; the
# workflow's Slack notification goes to a local receiver (hack/demo_receiver.py) instead of
# Slack. Exits non-zero when the run does not succeed. The cluster stays up (make cluster-down).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.cache/bin:$PWD/.venv/bin:$PATH"
example=examples/manifests/lakehouse
run=lakehouse-daily-manual-20261124
ns=dagwright-demo

hack/cluster-up.sh
export KUBECONFIG="$PWD/.cluster/kubeconfig"
mkdir -p .cluster/logs

echo "==> installing the CRDs"
kubectl apply --server-side --force-conflicts -f crds/ >/dev/null
kubectl wait --for=condition=Established --timeout=60s crd/workflows.dagwright.io crd/workflowruns.dagwright.io crd/pools.dagwright.io >/dev/null
kubectl create namespace "$ns" --dry-run=client -o yaml | kubectl apply -f - >/dev/null

pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
notifications=.cluster/logs/demo-notifications.log
: >"$notifications"
rm -f .cluster/demo-receiver.port
python3 hack/demo_receiver.py .cluster/demo-receiver.port "$notifications" &
pids+=($!)
for _ in $(seq 50); do [ -s .cluster/demo-receiver.port ] && break; sleep 0.1; done
[ -s .cluster/demo-receiver.port ] || { echo "demo: the notification receiver did not start" >&2; exit 1; }
receiver="http://127.0.0.1:$(cat .cluster/demo-receiver.port)"

echo "==> starting the operator (log: .cluster/logs/operator-demo.log)"
dagwright operator --namespace "$ns" --kubeconfig "$KUBECONFIG" >.cluster/logs/operator-demo.log 2>&1 &
pids+=($!)

echo "==> applying $example (Slack webhooks pointed at $receiver)"
kubectl -n "$ns" delete workflowrun "$run" --ignore-not-found >/dev/null
kubectl -n "$ns" apply -f "$example/secrets.yaml" -f "$example/serviceaccounts.yaml" \
  -f "$example/bronze-job.yaml" -f "$example/workflow.yaml"
kubectl -n "$ns" create secret generic lakehouse-slack --from-literal=url="$receiver/team" \
  --from-literal=oncall-url="$receiver/oncall" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
kubectl -n "$ns" apply -f "$example/run.yaml"

status=0
dagwright watch "$run" -n "$ns" --kubeconfig "$KUBECONFIG" --timeout 300 || status=$?
echo
dagwright get "$run" -n "$ns" --kubeconfig "$KUBECONFIG"
echo
kubectl -n "$ns" get workflowruns
echo
kubectl -n "$ns" get pods -l "dagwright.io/run=$run"   # one Pod per task attempt (taskResource: Pod, the default)
echo
echo "==> notifications received (path, JSON body):"
for _ in $(seq 50); do [ -s "$notifications" ] && break; sleep 0.2; done
cat "$notifications"
if [ "$status" -ne 0 ]; then
  echo "demo run did not succeed; operator log tail:" >&2
  tail -n 40 .cluster/logs/operator-demo.log >&2
fi
exit "$status"
