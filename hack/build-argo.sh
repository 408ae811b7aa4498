#!/usr/bin/env bash
# Build Argo Workflows' workflow-controller from the Go module proxy, for `make bench-argo` only
# (never part of `make test`). Output: .cache/argo/workflow-controller (+ .cache/argo/crds/).
#
#   hack/build-argo.sh          # ARGO_VERSION (default v3.7.18, the version hack/argo/go.mod pins)
#
# Needs Go >= 1.25.7 on PATH (or GO=/path/to/go) and the module proxy. Idempotent: a binary
# built from the same go.mod is kept (delete .cache/argo to rebuild). Cold: 10-20 minutes on 2
# cores, most of it compiling Kubernetes' and Argo's dependencies.
#
# Argo is built as published except for two listen addresses, so that no port opens beyond
# 127.0.0.1: its health/pprof server is hard-coded to ":6060" (cmd/workflow-controller/main.go)
# and its Prometheus exporter listens on ":<port>" (util/telemetry/exporter_prometheus.go).
# The module cache is read-only and `go build -overlay` may not replace files in it, so the
# module is copied to a scratch directory, those two lines are rewritten there, and the build
# uses a replace directive pointing at the copy.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GO="${GO:-go}"
ARGO_VERSION="${ARGO_VERSION:-v3.7.18}"
OUT="$ROOT/.cache/argo"
STAMP="$OUT/.built-from"
export CGO_ENABLED=0 GOTOOLCHAIN="${GOTOOLCHAIN:-local}" GOFLAGS=-mod=mod

grep -q "argo-workflows/v3 $ARGO_VERSION" "$ROOT/hack/argo/go.mod" \
  || { echo "hack/argo/go.mod does not pin Argo $ARGO_VERSION: edit its require (and replace) lines" >&2; exit 1; }
want="$(cat "$ROOT/hack/argo/go.mod" "$ROOT/hack/argo/go.sum" 2>/dev/null | sha256sum | cut -c1-16)"
if [ -x "$OUT/workflow-controller" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$want" ]; then
  echo "Argo $ARGO_VERSION already built: $OUT/workflow-controller"
  exit 0
fi
mkdir -p "$OUT"
WORK="$(mktemp -d)"
trap 'chmod -R u+w "$WORK" 2>/dev/null; rm -rf "$WORK"' EXIT
cp "$ROOT/hack/argo/go.mod" "$WORK/"
[ -f "$ROOT/hack/argo/go.sum" ] && cp "$ROOT/hack/argo/go.sum" "$WORK/"
cd "$WORK"
"$GO" mod download github.com/argoproj/argo-workflows/v3
SRC="$("$GO" list -m -f '{{.Dir}}' github.com/argoproj/argo-workflows/v3)"
mkdir argo
(cd "$SRC" && tar cf - --exclude=./ui --exclude=./docs --exclude=./sdks --exclude=./test .) | (cd argo && tar xf -)
chmod -R u+w argo
python3 - argo <<'PY'
import pathlib, sys
root = pathlib.Path(sys.argv[1])
edits = {
    "cmd/workflow-controller/main.go": ('":6060"', '"127.0.0.1:"+healthzPort()'),
    "util/telemetry/exporter_prometheus.go": ('fmt.Sprintf(":%v", m.config.port())', 'fmt.Sprintf("127.0.0.1:%v", m.config.port())'),
}
for rel, (old, new) in edits.items():
    path = root / rel
    text = path.read_text()
    if text.count(old) != 1:
        sys.exit(f"{rel}: expected one {old!r}; this Argo version needs other edits")
    path.write_text(text.replace(old, new))
main = root / "cmd/workflow-controller/main.go"
main.write_text(main.read_text() + '''
// healthzPort: added for Dagwright's bench (hack/build-argo.sh): ARGO_HEALTHZ_PORT, default 6060.
func healthzPort() string {
	if p := os.Getenv("ARGO_HEALTHZ_PORT"); p != "" {
		return p
	}
	return "6060"
}
''')
PY
"$GO" mod edit -replace "github.com/argoproj/argo-workflows/v3=./argo"
"$GO" build -trimpath -ldflags "-s -w -X github.com/argoproj/argo-workflows/v3.version=$ARGO_VERSION" \
  -o "$OUT/workflow-controller" github.com/argoproj/argo-workflows/v3/cmd/workflow-controller
rm -rf "$OUT/crds" && mkdir -p "$OUT/crds"
cp "$SRC"/manifests/base/crds/minimal/argoproj.io_*.yaml "$OUT/crds/"
echo "$want" > "$STAMP"
echo "built $OUT/workflow-controller (Argo $ARGO_VERSION, listening on 127.0.0.1 only)"
