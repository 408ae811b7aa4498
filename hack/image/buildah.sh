#!/usr/bin/env bash
# Debian's buildah with the repository's own image storage (vfs, under .cache/image/), as
# hack/image/build.sh and tests/image use it, e.g.
#   hack/image/buildah.sh images
#   hack/image/buildah.sh inspect --type image localhost/dagwright:test
#   ctr=$(hack/image/buildah.sh from --pull-never localhost/dagwright:test)
#   hack/image/buildah.sh run --isolation chroot "$ctr" -- dagwright --help
# Nothing outside the repository is written: storage is --root/--runroot under .cache/image,
# temporary files go to .cache/image/tmp, and since buildah 1.28's `commit` writes a blob-info
# cache to /var/lib/containers/cache whatever --root says, buildah runs in a private mount
# namespace where /var/lib is an overlay whose writes land in .cache/image/var-lib (when overlayfs
# is unavailable it warns and runs without). Mounts (`buildah mount`) therefore end with the
# command: copy files with `buildah copy`/`add` instead. IMAGE_CACHE overrides the folder.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE="${IMAGE_CACHE:-$ROOT/.cache/image}"
mkdir -p "$CACHE/storage" "$CACHE/run" "$CACHE/tmp" "$CACHE/var-lib/upper" "$CACHE/var-lib/work"
export TMPDIR="$CACHE/tmp"   # buildah stages blobs in /var/tmp otherwise
BUILDAH=(buildah --root "$CACHE/storage" --runroot "$CACHE/run" --storage-driver vfs)
if command -v unshare >/dev/null 2>&1 \
   && unshare --mount --propagation private true 2>/dev/null; then
  # shellcheck disable=SC2016
  exec unshare --mount --propagation private bash -c '
    if mount -t overlay dagwright-var-lib -o "lowerdir=/var/lib,upperdir=$1/upper,workdir=$1/work" /var/lib 2>/dev/null; then
      :
    else
      echo "buildah.sh: WARNING: no overlay over /var/lib; buildah may write /var/lib/containers/cache" >&2
    fi
    shift; exec "$@"' bash "$CACHE/var-lib" "${BUILDAH[@]}" "$@"
fi
exec "${BUILDAH[@]}" "$@"
