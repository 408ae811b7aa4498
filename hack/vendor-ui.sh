#!/usr/bin/env bash
# Vendor the web view's graph layout library into the package: @dagrejs/dagre, fetched from the
# npm registry with npm's own client (`npm pack` checks the registry's integrity hash), its
# minified browser bundle (graphlib included) and licence written to
# operator/dagwright/ui/static/vendor/. The result is committed, so neither the package build nor
# `dagwright ui` fetches anything; run this only to change the version (then commit the files).
#   hack/vendor-ui.sh [VERSION]        --check: exit 1 when the committed files differ from VERSION's
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VERSION=3.1.4
check=0
for arg in "$@"; do
  case "$arg" in --check) check=1 ;; *) VERSION="$arg" ;; esac
done
DEST="$ROOT/operator/dagwright/ui/static/vendor"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
command -v npm >/dev/null || { echo "vendor-ui: npm is needed (Debian package npm)" >&2; exit 1; }
(cd "$work" && npm pack --silent "@dagrejs/dagre@$VERSION" >/dev/null && tar xzf dagrejs-dagre-"$VERSION".tgz)
mkdir -p "$work/out"
# The source map is not shipped: its reference goes, so a browser's developer tools ask for nothing.
grep -v '^//# sourceMappingURL=' "$work/package/dist/dagre.min.js" > "$work/out/dagre.min.js"
cp "$work/package/dist/dagre.min.js.LEGAL.txt" "$work/out/dagre.min.js.LEGAL.txt"
cp "$work/package/LICENSE" "$work/out/dagre.LICENSE"
printf '@dagrejs/dagre %s (npm registry, MIT) - written by hack/vendor-ui.sh; do not edit\n' "$VERSION" \
  > "$work/out/dagre.VERSION"
if ((check)); then
  diff -r "$work/out" "$DEST" >/dev/null || { echo "vendor-ui: $DEST is not @dagrejs/dagre $VERSION" >&2; exit 1; }
  echo "vendor-ui: $DEST is @dagrejs/dagre $VERSION"; exit 0
fi
mkdir -p "$DEST"
cp "$work/out/"* "$DEST/"
echo "vendor-ui: wrote @dagrejs/dagre $VERSION into ${DEST#"$ROOT"/}"
