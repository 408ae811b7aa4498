#!/usr/bin/env bash
# Install the Debian packages the test cluster and the test run need, only when missing:
#   openssl (certificates), curl (health checks), ca-certificates, python3-venv (.venv);
#   chromium + chromium-driver (tests/browser: the web view in a headless browser; NEED_BROWSER=0 skips);
#   for the real node (unless DW_REAL_NODE=0): containerd, runc, containernetworking-plugins,
#   iproute2, buildah + debootstrap + maven (its images, hack/image/task-images.sh), and postgresql
#   (the runnable lakehouse example's database, hack/services/up.sh; its service is not started).
# Uses apt-get (Debian's archive, the only system package source allowed). Go is not a Debian
# package here (Debian's is too old): it must be at /usr/local/go/bin/go or on PATH.
set -euo pipefail
need=()
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v curl >/dev/null 2>&1 || need+=(curl)
[[ -f /etc/ssl/certs/ca-certificates.crt ]] || need+=(ca-certificates)
if [[ "${NEED_VENV:-1}" == 1 ]] && ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
  need+=(python3-venv)
fi
if [[ "${NEED_BROWSER:-1}" == 1 ]]; then
  [[ -x /usr/bin/chromium ]] || command -v chromium >/dev/null 2>&1 || need+=(chromium)
  [[ -x /usr/bin/chromedriver ]] || command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
fi
if [[ "${DW_REAL_NODE:-1}" != 0 ]]; then
  command -v containerd >/dev/null 2>&1 || need+=(containerd)
  command -v runc >/dev/null 2>&1 || need+=(runc)
  [[ -x /usr/lib/cni/bridge ]] || need+=(containernetworking-plugins)
  command -v ip >/dev/null 2>&1 || need+=(iproute2)
  command -v buildah >/dev/null 2>&1 || need+=(buildah)
  command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
  command -v mvn >/dev/null 2>&1 || need+=(maven)               # the Spark image's jars
  ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need+=(postgresql)  # the lakehouse example
  command -v setpriv >/dev/null 2>&1 || need+=(util-linux)
fi
if ((${#need[@]})); then
  echo "system-deps: installing missing Debian packages: ${need[*]}"
  SUDO=()
  if [[ $(id -u) != 0 ]]; then
    command -v sudo >/dev/null 2>&1 || { echo "system-deps: need root (or sudo) to apt-get install ${need[*]}" >&2; exit 1; }
    SUDO=(sudo)
  fi
  command -v apt-get >/dev/null 2>&1 || { echo "system-deps: apt-get not found; install ${need[*]} yourself" >&2; exit 1; }
  export DEBIAN_FRONTEND=noninteractive
  timeout 600 "${SUDO[@]}" apt-get update -q
  timeout 900 "${SUDO[@]}" apt-get install -y -q --no-install-recommends "${need[@]}"
fi
if ! command -v go >/dev/null 2>&1 && [[ ! -x /usr/local/go/bin/go ]]; then
  echo "system-deps: WARNING: no Go toolchain (need >= 1.26 at /usr/local/go/bin/go or on PATH) - hack/build-tools.sh will fail unless .cache/bin is already built" >&2
fi
