#!/usr/bin/env bash
# Build the real node's images as docker-archives in .cache/realnode/images (DW_TASK_IMAGE_DIR):
#   pause.tar   localhost/dagwright/pause:3.10       the pods' sandbox image (static Go, hack/image/pause)
#   python.tar  localhost/dagwright/python:bookworm  Debian bookworm minbase + python3 (3.11),
#               ca-certificates, user nonroot (uid/gid 65532); the image for `python` tasks
# Each archive is rebuilt only when its recipe changes (a hash of this script, the package list
# and the pause sources, kept in NAME.tar.inputs). Downloads come only from Debian's archive
# (debootstrap) and the Go toolchain (no registry). buildah's storage (vfs) is temporary: it is
# removed once the archive is written, so only the archives (~130 MB) stay on disk.
# hack/realnode/up.sh imports the archives into the node's containerd. Needs root.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
# shellcheck source=../realnode/env.sh
source hack/realnode/env.sh
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
PACKAGES="python3,python-is-python3,ca-certificates,passwd"
WORK="$ROOT/.cache/realnode/build"
HOST_CA=/etc/ssl/certs/ca-certificates.crt
t0=$(date +%s.%N)
since() { awk -v s="$1" -v e="$(date +%s.%N)" 'BEGIN{printf "%.1f", e-s}'; }
log() { echo "task-images: [$(since "$t0")s] $*"; }
die() { echo "task-images: ERROR: $*" >&2; exit 1; }
[[ $(id -u) == 0 ]] || die "debootstrap and buildah need root"
command -v buildah >/dev/null && command -v debootstrap >/dev/null || die "buildah/debootstrap missing (hack/cluster/system-deps.sh installs them)"
mkdir -p "$RN_IMAGES"
exec 8>"$RN_IMAGES/.lock"
flock -w 1800 8 || die "another build holds $RN_IMAGES/.lock"

GO="$(command -v go || echo /usr/local/go/bin/go)"
recipe() {  # recipe NAME: the hash of what NAME's archive is built from
  { sha256sum < "${BASH_SOURCE[0]}"; echo "$1"
    case $1 in
      pause) sha256sum hack/image/pause/*; "$GO" version ;;
      python) echo "$PACKAGES"; sha256sum "$HOST_CA" ;;
    esac; } | sha256sum | cut -c1-16
}
fresh() { [[ -f "$RN_IMAGES/$1.tar" && "$(cat "$RN_IMAGES/$1.tar.inputs" 2>/dev/null)" == "$(recipe "$1")" ]]; }

# commit NAME IMAGE ROOTFS-TAR CONFIG-ARGS...: buildah from scratch + add + config + commit, then a
# docker-archive; the temporary buildah storage is removed in every case.
commit() {
  local name="$1" image="$2" tarball="$3"; shift 3
  local store="$WORK/buildah-$name"
  rm -rf "$store"
  local B=(env IMAGE_CACHE="$store" "$ROOT/hack/image/buildah.sh")
  local ctr
  ctr=$("${B[@]}" from --quiet --pull-never scratch)
  "${B[@]}" add --quiet "$ctr" "$tarball" / >/dev/null
  "${B[@]}" config "$@" --annotation "io.dagwright.recipe=$(recipe "$name")" "$ctr"
  "${B[@]}" commit --quiet --rm "$ctr" "$image" >/dev/null
  rm -f "$RN_IMAGES/$name.tar.tmp"
  "${B[@]}" push --quiet "$image" "docker-archive:$RN_IMAGES/$name.tar.tmp:$image" >/dev/null
  mv "$RN_IMAGES/$name.tar.tmp" "$RN_IMAGES/$name.tar"
  recipe "$name" >"$RN_IMAGES/$name.tar.inputs"
  rm -rf "$store"
}
cleanup() {  # a failed debootstrap may leave /proc or /dev mounted in the rootfs
  findmnt -rn -o TARGET | grep -F "$WORK/" | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf --one-file-system "$WORK"
}
trap cleanup EXIT

if fresh pause; then
  log "pause.tar is up to date"
else
  log "building $RN_PAUSE_IMAGE"
  mkdir -p "$WORK/pause/rootfs"
  ( cd hack/image/pause && CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-buildvcs=false \
      "$GO" build -trimpath -ldflags "-s -w" -o "$WORK/pause/rootfs/pause" . )
  tar -C "$WORK/pause/rootfs" -cf "$WORK/pause.tar" .
  commit pause "$RN_PAUSE_IMAGE" "$WORK/pause.tar" --entrypoint '["/pause"]' --user 65535:65535
  log "pause.tar written ($(du -h "$RN_IMAGES/pause.tar" | cut -f1))"
fi

if fresh python; then
  log "python.tar is up to date"
else
  log "building $RN_PYTHON_IMAGE: debootstrap --variant=minbase bookworm (+ $PACKAGES)"
  rootfs="$WORK/python/rootfs"
  mkdir -p "$WORK/python"
  for try in 1 2; do  # a second try when the mirror hiccups
    if timeout 1200 debootstrap --variant=minbase --include="$PACKAGES" bookworm "$rootfs" "$MIRROR" \
        >"$WORK/python/debootstrap.log" 2>&1; then
      break
    fi
    tail -n 30 "$WORK/python/debootstrap.log" >&2
    [[ $try == 2 ]] && die "debootstrap failed twice"
    log "debootstrap failed; trying again"
    findmnt -rn -o TARGET | grep -F "$rootfs/" | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
    rm -rf --one-file-system "$rootfs"
  done
  log "debootstrap done"
  chroot "$rootfs" groupadd --gid 65532 nonroot
  chroot "$rootfs" useradd --uid 65532 --gid 65532 --no-create-home --home-dir /tmp --shell /usr/sbin/nologin nonroot
  # This machine's CA bundle (pip inside a task may go through a TLS-intercepting proxy).
  install -m 0644 "$HOST_CA" "$rootfs/etc/ssl/certs/ca-certificates.crt"
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb \
         "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/* "$rootfs"/debootstrap
  tar -C "$rootfs" --exclude=./dev/* --exclude=./proc/* --exclude=./sys/* -cf "$WORK/python.tar" .
  rm -rf --one-file-system "$rootfs"
  commit python "$RN_PYTHON_IMAGE" "$WORK/python.tar" \
    --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --env LANG=C.UTF-8 \
    --env PYTHONUNBUFFERED=1 --cmd python3
  log "python.tar written ($(du -h "$RN_IMAGES/python.tar" | cut -f1))"
fi
log "images ready in $RN_IMAGES"
