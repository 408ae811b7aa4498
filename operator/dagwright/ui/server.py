"""The `dagwright ui` command (its arguments: cli/main.py): start the shared watches and serve the web view with uvicorn.

Reads through the API server with the caller's credentials (kubeconfig, or the pod's
ServiceAccount in the chart); binds 127.0.0.1 unless told otherwise, since the view shows what
those credentials can read to whoever reaches the port.
"""

from __future__ import annotations

import argparse
import logging

import uvicorn

from dagwright.kube.http import KubeHttp, load_configuration
from dagwright.ui.app import Hub, build_app
from dagwright.ui.cache import ClusterCache

log = logging.getLogger("dagwright.ui")


def serve(args: argparse.Namespace) -> int:
    http = KubeHttp(load_configuration(args.kubeconfig))
    hub = Hub()
    cache = ClusterCache(http, args.namespace or None, hub.changed_from_thread)
    app = build_app(cache, hub)
    cache.start()
    scope = ", ".join(args.namespace) if args.namespace else "every namespace"
    log.info("dagwright ui: http://%s:%d/ (%s, read-only)", args.address, args.port, scope)
    try:
        uvicorn.run(app, host=args.address, port=args.port, log_level="warning", timeout_graceful_shutdown=2)
    finally:
        cache.stop()
    return 0

