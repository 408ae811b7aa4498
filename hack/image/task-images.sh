#!/usr/bin/env bash
# Build the real node's images as docker-archives in .cache/realnode/images (DW_TASK_IMAGE_DIR):
#   pause.tar   localhost/dagwright/pause:3.10       the pods' sandbox image (static Go, hack/image/pause)
#   python.tar  localhost/dagwright/python:bookworm  Debian bookworm minbase + python3 (3.11),
#               ca-certificates, user nonroot (uid/gid 65532); the image for `python` tasks
#   spark.tar   localhost/dagwright/spark:3.5        the python image + OpenJDK 17 (Debian), pyspark
#               (PyPI) in /opt/venv, SPARK_HOME=/opt/spark, and the lakehouse jars (Iceberg Spark
#               runtime + AWS bundle, the PostgreSQL JDBC driver; Maven Central) in /opt/spark/jars;
#               the image for `spark` tasks (`mode: local`)
#   dbt.tar     localhost/dagwright/dbt:1.10-spark   the spark image + dbt-core and dbt-spark[session]
#               (PyPI): dbt runs Spark SQL in its own process, so its models are Iceberg tables
# Each archive is rebuilt only when its recipe changes: a hash of the shell functions that build
# it, its pins and package lists, its parent image's recipe (and the pause sources), kept in
# NAME.tar.inputs. Downloads happen here only, at build time: Debian's archive (debootstrap,
# apt-get in the rootfs), PyPI (pip in the rootfs), Maven Central (mvn) and the Go toolchain; no
# container registry. buildah's storage (vfs) is temporary: it is removed once the archive is
# written, so only the archives stay on disk. `task-images.sh python` builds only what python
# needs (and pause); no argument builds them all.
# hack/realnode/up.sh imports the archives into the node's containerd. Needs root.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
# shellcheck source=../realnode/env.sh
source hack/realnode/env.sh
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
PACKAGES="python3,python-is-python3,ca-certificates,passwd"
SPARK_PACKAGES="openjdk-17-jre-headless python3-venv procps"
PYSPARK_VERSION="${PYSPARK_VERSION:-3.5.7}"
SPARK_JARS=(  # group:artifact:version, fetched without their dependencies (the bundles carry theirs)
  org.apache.iceberg:iceberg-spark-runtime-3.5_2.12:1.6.1
  org.apache.iceberg:iceberg-aws-bundle:1.6.1
  org.postgresql:postgresql:42.7.4
)
DBT_PIP=(dbt-core==1.10.15 "dbt-spark[session]==1.10.3")
WANT="${1:-all}"
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
  { declare -f commit; echo "$1"
    case $1 in
      pause) sha256sum hack/image/pause/*; "$GO" version ;;
      python) declare -f build_python; echo "$PACKAGES"; sha256sum "$HOST_CA" ;;
      spark) recipe python; declare -f build_spark chroot_run; echo "$SPARK_PACKAGES $PYSPARK_VERSION ${SPARK_JARS[*]}" ;;
      dbt) recipe spark; declare -f build_dbt chroot_run; echo "${DBT_PIP[*]}" ;;
    esac; } | sha256sum | cut -c1-16
}
fresh() { [[ -f "$RN_IMAGES/$1.tar" && "$(cat "$RN_IMAGES/$1.tar.inputs" 2>/dev/null)" == "$(recipe "$1")" ]]; }

# commit NAME IMAGE ROOTFS-TAR CONFIG-ARGS...: buildah from scratch (or from the archive named by
# $BASE: ROOTFS-TAR then holds only the files added on top, one more layer) + add + config +
# commit, then a docker-archive; the temporary buildah storage is removed in every case.
BASE=""
commit() {
  local name="$1" image="$2" tarball="$3"; shift 3
  local store="$WORK/buildah-$name"
  rm -rf "$store"
  local B=(env IMAGE_CACHE="$store" "$ROOT/hack/image/buildah.sh")
  local ctr from=scratch
  if [[ -n "$BASE" ]]; then
    from=$("${B[@]}" pull --quiet "docker-archive:$RN_IMAGES/$BASE.tar")
  fi
  ctr=$("${B[@]}" from --quiet --pull-never "$from")
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

build_python() {
  local rootfs="$WORK/python/rootfs"
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
}

# unpack NAME ROOTFS: the filesystem of an archive built here (one layer: `from scratch` + add)
unpack() {
  local layers
  mkdir -p "$2"
  layers=$(tar -xOf "$RN_IMAGES/$1.tar" manifest.json | python3 -c 'import json,sys; print(" ".join(json.load(sys.stdin)[0]["Layers"]))')
  for layer in $layers; do tar -xOf "$RN_IMAGES/$1.tar" "$layer" | tar -x -C "$2"; done
}

# chroot_run ROOTFS CMD...: CMD inside the rootfs with /proc, /dev, /sys and the host's resolver,
# in a private mount namespace (the mounts end with it); apt and pip reach their archives from here.
chroot_run() {
  local rootfs="$1"; shift
  cp -L /etc/resolv.conf "$rootfs/etc/resolv.conf"
  unshare --mount --propagation private bash -c '
    r="$1"; shift
    mount -t proc proc "$r/proc" && mount --rbind /dev "$r/dev" && mount --rbind /sys "$r/sys"
    exec chroot "$r" env -i PATH=/opt/venv/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
      DEBIAN_FRONTEND=noninteractive PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
      PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_DEFAULT_TIMEOUT=180 PIP_NO_CACHE_DIR=1 "$@"' bash "$rootfs" "$@"
  : >"$rootfs/etc/resolv.conf"
}

slim() {  # slim ROOTFS: drop what no task reads (apt lists, docs, caches, Python bytecode of the build)
  rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin "$1"/var/cache/apt/archives/*.deb \
         "$1"/usr/share/doc/* "$1"/usr/share/man/* "$1"/root/.cache
}

IMAGE_ENV=(--env PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
  --env LANG=C.UTF-8 --env PYTHONUNBUFFERED=1 --env JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64
  --env SPARK_HOME=/opt/spark --env PYSPARK_PYTHON=/opt/venv/bin/python --env HOME=/tmp)

build_spark() {
  local rootfs="$WORK/spark/rootfs" site
  log "building $RN_SPARK_IMAGE: + $SPARK_PACKAGES, pyspark $PYSPARK_VERSION, ${#SPARK_JARS[@]} jars"
  unpack python "$rootfs"
  chroot_run "$rootfs" apt-get update -q >"$WORK/spark-apt.log" 2>&1 || { tail -20 "$WORK/spark-apt.log" >&2; die "apt-get update failed"; }
  chroot_run "$rootfs" apt-get install -y -q --no-install-recommends $SPARK_PACKAGES >>"$WORK/spark-apt.log" 2>&1 \
    || { tail -20 "$WORK/spark-apt.log" >&2; die "apt-get install $SPARK_PACKAGES failed"; }
  log "apt-get done"
  chroot_run "$rootfs" python3 -m venv /opt/venv
  chroot_run "$rootfs" pip install -q "pyspark==$PYSPARK_VERSION" >"$WORK/spark-pip.log" 2>&1 \
    || { tail -20 "$WORK/spark-pip.log" >&2; die "pip install pyspark failed"; }
  log "pip install pyspark done"
  site=$(cd "$rootfs" && echo opt/venv/lib/python3*/site-packages)
  ln -s "/$site/pyspark" "$rootfs/opt/spark"
  # The jars, from Maven Central, with the machine's Maven (its local repository is temporary).
  for gav in "${SPARK_JARS[@]}"; do
    mvn -q -B -Dmaven.repo.local="$WORK/m2" dependency:copy -Dartifact="$gav" -Dtransitive=false \
      -DoutputDirectory="$rootfs/$site/pyspark/jars" >"$WORK/mvn.log" 2>&1 || { tail -20 "$WORK/mvn.log" >&2; die "mvn: $gav failed"; }
  done
  log "jars copied"
  # Spark logs warnings and errors only (INFO drowns a task's own output in `dagwright logs`).
  mkdir -p "$rootfs/$site/pyspark/conf"
  printf '%s\n' 'rootLogger.level = warn' 'rootLogger.appenderRef.stderr.ref = console' \
    'appender.console.type = Console' 'appender.console.name = console' 'appender.console.target = SYSTEM_ERR' \
    'appender.console.layout.type = PatternLayout' 'appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n%ex' \
    >"$rootfs/$site/pyspark/conf/log4j2.properties"
  slim "$rootfs"
  tar -C "$rootfs" --exclude=./dev/* --exclude=./proc/* --exclude=./sys/* -cf "$WORK/spark.tar" .
  commit spark "$RN_SPARK_IMAGE" "$WORK/spark.tar" "${IMAGE_ENV[@]}" --workingdir /tmp --cmd python3
  rm -f "$WORK/spark.tar"
  # The dbt image grows from this rootfs, when it is built in the same call.
  [[ "$WANT" == python || "$WANT" == spark ]] && rm -rf --one-file-system "$rootfs"
  return 0
}

build_dbt() {
  local rootfs="$WORK/spark/rootfs"
  log "building $RN_DBT_IMAGE: + ${DBT_PIP[*]}"
  [[ -d "$rootfs/opt/venv" ]] || unpack spark "$rootfs"
  touch "$WORK/before-dbt"; sleep 1
  # pip only adds here (nothing it replaces: checked below), so the new files alone make the
  # dbt layer on top of the spark image's, which the node stores once for both images.
  chroot_run "$rootfs" pip install "${DBT_PIP[@]}" >"$WORK/dbt-pip.log" 2>&1 \
    || { tail -20 "$WORK/dbt-pip.log" >&2; die "pip install ${DBT_PIP[*]} failed"; }
  if grep -q "Uninstalling" "$WORK/dbt-pip.log"; then
    grep "Uninstalling" "$WORK/dbt-pip.log" >&2; die "dbt's pins replace packages of the spark image; align them"
  fi
  chroot_run "$rootfs" dbt --version | grep -E 'installed|spark:' | sed 's/^ */task-images: dbt: /'
  slim "$rootfs"
  (cd "$rootfs" && find . -xdev -cnewer "$WORK/before-dbt" \( -type f -o -type l \) ! -path './proc/*' ! -path './dev/*' \
     ! -path './sys/*' ! -path './etc/resolv.conf' -print0 | tar --null -T - -cf "$WORK/dbt.tar")
  rm -rf --one-file-system "$rootfs"
  # No usage statistics and no version check: a task pod has no way out, and should not try.
  BASE=spark commit dbt "$RN_DBT_IMAGE" "$WORK/dbt.tar" "${IMAGE_ENV[@]}" --env DBT_SEND_ANONYMOUS_USAGE_STATS=false \
    --env DBT_VERSION_CHECK=false --workingdir /tmp --cmd dbt
  rm -f "$WORK/dbt.tar"
}

images=(python)
[[ "$WANT" == python ]] || images+=(spark dbt)
for name in "${images[@]}"; do
  if fresh "$name"; then
    log "$name.tar is up to date"
    continue
  fi
  start=$(date +%s.%N)
  [[ $name == python ]] && log "building $RN_PYTHON_IMAGE: debootstrap --variant=minbase bookworm (+ $PACKAGES)"
  "build_$name"
  log "$name.tar written ($(du -h "$RN_IMAGES/$name.tar" | cut -f1)) in $(since "$start")s"
done
log "images ready in $RN_IMAGES"
