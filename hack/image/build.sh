#!/usr/bin/env bash
# Build the operator image from the repository's unchanged Dockerfile on a machine without a
# Docker engine and without access to a container registry (what tests/image/ tests):
#   1. apt-get installs Debian's buildah and debootstrap when missing (like hack/cluster/system-deps.sh);
#   2. a stand-in for python:3.12-slim, made once: debootstrap --variant=minbase bookworm into
#      .cache/image/rootfs (+ python3, python3-venv, python-is-python3, ca-certificates, passwd
#      and this machine's CA bundle, so pip reaches PyPI through a TLS-intercepting proxy),
#      imported into buildah's storage as localhost/dagwright-python-base:bookworm
#      (skipped when it exists and its inputs - package list, CA bundle - are unchanged);
#   3. buildah bud --isolation chroot --build-arg PYTHON_IMAGE=<stand-in>, tagged
#      localhost/dagwright:test (IMAGE overrides); skipped when none of its inputs changed since
#      the last build (hack/image/build.sh --rebuild forces it).
# Everything but the apt packages lives under .cache/image/ (buildah storage: vfs, --root/--runroot
# there, see hack/image/buildah.sh); rm -rf .cache/image starts from scratch. Downloads come only
# from Debian's archive (debootstrap, apt) and PyPI (pip inside the build). Needs root (debootstrap,
# chroot). Each step prints how long it took.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
CACHE="${IMAGE_CACHE:-$ROOT/.cache/image}"
export IMAGE_CACHE="$CACHE"
BASE="localhost/dagwright-python-base:bookworm"
IMAGE="${IMAGE:-localhost/dagwright:test}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
HOST_CA=/etc/ssl/certs/ca-certificates.crt
BASE_PACKAGES="python3,python3-venv,python-is-python3,ca-certificates,passwd"
BUILDAH=("$ROOT/hack/image/buildah.sh")

t_all=$(date +%s.%N)
t_step=$t_all
since() { awk -v s="$1" -v e="$(date +%s.%N)" 'BEGIN{printf "%.1f", e-s}'; }
log() { echo "image: $*"; }
done_step() { log "$1 took $(since "$t_step")s"; t_step=$(date +%s.%N); }
die() { echo "image: ERROR: $*" >&2; exit 1; }
mkdir -p "$CACHE"
exec 9>"$CACHE/build.lock"   # one build at a time (two test sessions, a test and a user)
flock 9

# 1. Debian packages ---------------------------------------------------------------------------
need=()
command -v buildah >/dev/null 2>&1 || need+=(buildah)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
[[ -f "$HOST_CA" ]] || need+=(ca-certificates)
if ((${#need[@]})); then
  log "installing missing Debian packages: ${need[*]}"
  SUDO=()
  if [[ $(id -u) != 0 ]]; then
    command -v sudo >/dev/null 2>&1 || die "need root (or sudo) to apt-get install ${need[*]}"
    SUDO=(sudo)
  fi
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install ${need[*]} yourself"
  export DEBIAN_FRONTEND=noninteractive
  timeout 600 "${SUDO[@]}" apt-get update -q
  timeout 900 "${SUDO[@]}" apt-get install -y -q --no-install-recommends "${need[@]}"
fi
[[ $(id -u) == 0 ]] || die "debootstrap and buildah's chroot isolation need root"
done_step "packages (buildah $(buildah --version | awk '{print $3}'))"

# 2. The stand-in base image -------------------------------------------------------------------
# Its inputs: the package list and the CA bundle. A change of either rebuilds it.
base_inputs=$(printf '%s\n%s\n' "$BASE_PACKAGES" "$(sha256sum "$HOST_CA" | cut -d' ' -f1)" | sha256sum | cut -c1-16)
have_inputs=$("${BUILDAH[@]}" inspect --type image --format '{{index .ImageAnnotations "io.dagwright.base-inputs"}}' "$BASE" 2>/dev/null || true)
if [[ "$have_inputs" == "$base_inputs" ]]; then
  log "base image $BASE exists (inputs $base_inputs), reused"
else
  rootfs="$CACHE/rootfs"
  stamp="$CACHE/rootfs.done"
  if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$BASE_PACKAGES" ]]; then
    log "debootstrap --variant=minbase bookworm (+ $BASE_PACKAGES) into ${rootfs#"$ROOT"/}"
    rm -rf "$rootfs" "$stamp"
    if ! timeout 1200 debootstrap --variant=minbase --include="$BASE_PACKAGES" bookworm "$rootfs" "$MIRROR" \
        >"$CACHE/debootstrap.log" 2>&1; then
      tail -n 30 "$CACHE/debootstrap.log" >&2
      [[ -f "$rootfs/debootstrap/debootstrap.log" ]] && tail -n 30 "$rootfs/debootstrap/debootstrap.log" >&2
      die "debootstrap failed (log: $CACHE/debootstrap.log)"
    fi
    # What python:3.12-slim does not carry either: apt lists, downloaded .debs, docs.
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb \
           "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/*
    echo "$BASE_PACKAGES" >"$stamp"
    done_step "debootstrap"
  fi
  # This machine's CA bundle (it holds the HTTPS proxy's CA): Debian's pip uses the system bundle.
  install -m 0644 "$HOST_CA" "$rootfs/etc/ssl/certs/ca-certificates.crt"
  # /dev, /proc and /sys stay empty: the runtime provides them.
  tar -C "$rootfs" --exclude=./dev/* --exclude=./proc/* --exclude=./sys/* -cf "$CACHE/rootfs.tar" .
  "${BUILDAH[@]}" rmi -f "$BASE" >/dev/null 2>&1 || true
  ctr=$("${BUILDAH[@]}" from --quiet --pull-never scratch)
  trap '"${BUILDAH[@]}" rm "$ctr" >/dev/null 2>&1 || true; rm -f "$CACHE/rootfs.tar"' EXIT
  "${BUILDAH[@]}" add --quiet "$ctr" "$CACHE/rootfs.tar" / >/dev/null
  rm -f "$CACHE/rootfs.tar"
  "${BUILDAH[@]}" config \
    --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --env LANG=C.UTF-8 \
    --cmd python3 --annotation "io.dagwright.base-inputs=$base_inputs" \
    --annotation "org.opencontainers.image.description=stand-in for python:3.12-slim (Debian bookworm, python3, made by hack/image/build.sh)" \
    "$ctr"
  "${BUILDAH[@]}" commit --quiet --rm "$ctr" "$BASE" >/dev/null
  trap - EXIT
  done_step "base image $BASE"
fi

# 3. The operator image ------------------------------------------------------------------------
# Skipped when nothing it is built from changed since the last build: the Dockerfile, the
# .dockerignore and the files it lets in (its `!` lines, minus __pycache__ and *.egg-info, as it
# says), the base image, buildah's version. --rebuild (or REBUILD=1) builds anyway. No --layers:
# on vfs every cached layer is a full copy of the tree, so a layered rebuild, even all from
# cache, is slower than building from scratch (about a minute).
inputs_file="$CACHE/image.inputs"
context=()
while IFS= read -r line; do
  line="${line%%#*}"; line="${line//[[:space:]]/}"
  [[ "$line" == '!'* ]] && context+=("${line#!}")
done <.dockerignore
inputs=$( {
  buildah --version
  "${BUILDAH[@]}" inspect --type image --format '{{.FromImageID}}' "$BASE"
  echo "$IMAGE"
  find Dockerfile .dockerignore "${context[@]%/}" -type f -not -path '*/__pycache__/*' -not -path '*.egg-info/*' \
    -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
} | sha256sum | cut -c1-16)
image_id=$("${BUILDAH[@]}" inspect --type image --format '{{.FromImageID}}' "$IMAGE" 2>/dev/null || true)
if [[ "${REBUILD:-0}" != 1 && "${1:-}" != --rebuild && -n "$image_id" && -f "$inputs_file" \
      && "$(cat "$inputs_file")" == "$inputs $image_id" ]]; then
  log "$IMAGE (${image_id:0:12}) is up to date (inputs $inputs), not rebuilt; --rebuild forces it"
  exit 0
fi
rm -f "$inputs_file"
log "buildah bud --isolation chroot -t $IMAGE --build-arg PYTHON_IMAGE=$BASE"
"${BUILDAH[@]}" bud --isolation chroot --pull-never --build-arg PYTHON_IMAGE="$BASE" -f Dockerfile -t "$IMAGE" .
done_step "buildah bud"
"${BUILDAH[@]}" rmi --prune >/dev/null   # the previous build, now untagged
image_id=$("${BUILDAH[@]}" inspect --type image --format '{{.FromImageID}}' "$IMAGE")
echo "$inputs $image_id" >"$inputs_file"
log "built $IMAGE (${image_id:0:12}) in $(since "$t_all")s"
