# Settings of the services the runnable lakehouse example needs (sourced by hack/services/*.sh).
# They run on this host, started by hack/cluster-up.sh after the real node (they listen on
# 127.0.0.1 and on the real node's bridge address, the only host address a pod can reach), by pid,
# with their state under .cluster/services/ (removed by cluster-down). Optional settings:
#   DW_SERVICES=0        start none of them
#   DW_PG_PORT           PostgreSQL (the CRM database `crm` and the Iceberg catalog `lakehouse`), default 15432
#   DW_S3_PORT           the S3-compatible object store (dw-s3, hack/services/s3), default 19000
#   DW_RECEIVER_PORT     the notification receiver (hack/demo_receiver.py), default 18080
# shellcheck shell=bash
# shellcheck source=../realnode/env.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/realnode/env.sh"
SV_DIR="$RN_CLUSTER/services"
SV_PG_PORT="${DW_PG_PORT:-15432}"
SV_S3_PORT="${DW_S3_PORT:-19000}"
SV_RECEIVER_PORT="${DW_RECEIVER_PORT:-18080}"
SV_HOST="$RN_BRIDGE_IP"          # where pods (and the host) reach the services
SV_PG_USER=dagwright
SV_PG_PASSWORD=dagwright         # a local, host-only test database
SV_S3_KEY=dagwright              # dw-s3 accepts any key; the clients sign with this one
SV_S3_SECRET=dagwright-secret
SV_S3_BIN="$RN_ROOT/.cache/services/bin/dw-s3"
sv_enabled() { rn_enabled && [[ "${DW_SERVICES:-1}" != 0 ]]; }
