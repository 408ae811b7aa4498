#!/usr/bin/env bash
# Build the local control plane's binaries into .cache/bin from the Go module proxy only:
#   kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet etcd   (wrapper module hack/k8s)
#   kwok kwokctl helm                                                    (go install)
# Skipped when .cache/bin holds a stamp matching hack/versions.env + hack/k8s/go.{mod,sum}.
# Cold build: 15-30 min on 2 cores (~1.5 GB module cache); warm (cache present): < 1 min.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=versions.env
source hack/versions.env

BIN="$ROOT/.cache/bin"
STAMP="$BIN/.versions.stamp"
BINARIES=(kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet etcd kwok kwokctl helm)

GO="${GO:-}"
if [[ -z "$GO" ]]; then
  if command -v go >/dev/null 2>&1; then GO="$(command -v go)"
  elif [[ -x /usr/local/go/bin/go ]]; then GO=/usr/local/go/bin/go
  else echo "build-tools: no Go toolchain found (need Go >= 1.24; helm ${HELM_VERSION} needs 1.26)" >&2; exit 1
  fi
fi

want_stamp="$(cat hack/versions.env hack/k8s/go.mod hack/k8s/go.sum | sha256sum | cut -d' ' -f1)"
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$want_stamp" && "${FORCE:-0}" != 1 ]]; then
  missing=0
  for b in "${BINARIES[@]}"; do [[ -x "$BIN/$b" ]] || missing=1; done
  if [[ $missing == 0 ]]; then
    echo "build-tools: .cache/bin is up to date (${KUBERNETES_VERSION}, etcd ${ETCD_VERSION}, kwok ${KWOK_VERSION}, helm ${HELM_VERSION})"
    exit 0
  fi
fi

start=$(date +%s)
mkdir -p "$BIN"
rm -f "$STAMP"
export CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -buildvcs=false" GOTOOLCHAIN=local
# The machine has 2 cores; let go use them all but do not oversubscribe link steps.
export GOMAXPROCS="${GOMAXPROCS:-$(nproc)}"

kmaj_min="${KUBERNETES_VERSION#v}"; kmaj="${kmaj_min%%.*}"; kmin="${kmaj_min#*.}"; kmin="${kmin%%.*}"
CB=k8s.io/component-base/version
K8S_LDFLAGS="-s -w -X ${CB}.gitVersion=${KUBERNETES_VERSION} -X ${CB}.gitMajor=${kmaj} -X ${CB}.gitMinor=${kmin} \
 -X ${CB}.gitTreeState=clean -X ${CB}.buildDate=1970-01-01T00:00:00Z \
 -X k8s.io/client-go/pkg/version.gitVersion=${KUBERNETES_VERSION} -X k8s.io/client-go/pkg/version.gitMajor=${kmaj} -X k8s.io/client-go/pkg/version.gitMinor=${kmin}"

step() { echo "build-tools: [$(( $(date +%s) - start ))s] $*"; }

step "Kubernetes ${KUBERNETES_VERSION} (kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet)"
( cd hack/k8s && "$GO" build -trimpath -ldflags "$K8S_LDFLAGS" -o "$BIN/" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl k8s.io/kubernetes/cmd/kubelet )

step "etcd ${ETCD_VERSION}"
( cd hack/k8s && "$GO" build -trimpath -ldflags "-s -w" -o "$BIN/etcd" go.etcd.io/etcd/server/v3 )

step "kwok, kwokctl ${KWOK_VERSION}"
KWOK_LDFLAGS="-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK_VERSION} -X sigs.k8s.io/kwok/pkg/consts.KubeVersion=${KUBERNETES_VERSION}"
GOBIN="$BIN" "$GO" install -trimpath -ldflags "$KWOK_LDFLAGS" \
  "sigs.k8s.io/kwok/cmd/kwok@${KWOK_VERSION}" "sigs.k8s.io/kwok/cmd/kwokctl@${KWOK_VERSION}"

step "helm ${HELM_VERSION}"
GOBIN="$BIN" "$GO" install -trimpath -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=${HELM_VERSION}" \
  "helm.sh/helm/v3/cmd/helm@${HELM_VERSION}"

# Sanity: each binary runs and reports the expected version.
"$BIN/kube-apiserver" --version | grep -q "${KUBERNETES_VERSION}" || { echo "kube-apiserver reports $("$BIN/kube-apiserver" --version)" >&2; exit 1; }
"$BIN/kubelet" --version | grep -q "${KUBERNETES_VERSION}" || { echo "kubelet reports $("$BIN/kubelet" --version)" >&2; exit 1; }
"$BIN/kubectl" version --client=true -o yaml | grep -q "gitVersion: ${KUBERNETES_VERSION}" || { echo "kubectl version mismatch" >&2; exit 1; }
"$BIN/etcd" --version | grep -q "${ETCD_VERSION#v}" || { echo "etcd reports $("$BIN/etcd" --version)" >&2; exit 1; }
"$BIN/helm" version --short | grep -q "${HELM_VERSION}" || echo "build-tools: warning: helm reports $("$BIN/helm" version --short)" >&2
echo "$want_stamp" > "$STAMP"
step "done in $(( $(date +%s) - start ))s -> $BIN: ${BINARIES[*]}"
