#!/usr/bin/env bash
# make demo: local control plane, CRDs, the operator, the quickstart workflow run to its end.
# Exits non-zero when the run does not succeed. The cluster stays up (make cluster-down).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.cache/bin:$PWD/.venv/bin:$PATH"

hack/cluster-up.sh
export KUBECONFIG="$PWD/.cluster/kubeconfig"
ns=dagwright-demo

echo "==> installing the CRDs"
kubectl apply --server-side --force-conflicts -f crds/ >/dev/null
kubectl wait --for=condition=Established --timeout=60s crd/workflows.dagwright.io crd/workflowruns.dagwright.io >/dev/null
kubectl create namespace "$ns" --dry-run=client -o yaml | kubectl apply -f - >/dev/null

echo "==> starting the operator (log: .cluster/logs/operator-demo.log)"
mkdir -p .cluster/logs
dagwright operator --namespace "$ns" --kubeconfig "$KUBECONFIG" >.cluster/logs/operator-demo.log 2>&1 &
operator_pid=$!
trap 'kill $operator_pid 2>/dev/null || true' EXIT

echo "==> applying examples/manifests/quickstart"
kubectl -n "$ns" delete workflowrun quickstart-demo --ignore-not-found >/dev/null
kubectl -n "$ns" apply -f examples/manifests/quickstart/workflow.yaml
kubectl -n "$ns" apply -f examples/manifests/quickstart/run.yaml

status=0
dagwright watch quickstart-demo -n "$ns" --kubeconfig "$KUBECONFIG" --timeout 300 || status=$?
echo
kubectl -n "$ns" get workflowruns
echo
kubectl -n "$ns" get jobs -l dagwright.io/run=quickstart-demo
if [ "$status" -ne 0 ]; then
  echo "demo run did not succeed; operator log tail:" >&2
  tail -n 40 .cluster/logs/operator-demo.log >&2
fi
exit "$status"
