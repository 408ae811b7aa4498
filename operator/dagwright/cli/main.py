"""The `dagwright` command: `dagwright operator` runs the controller; user commands follow.

Thin: parses arguments, configures logging, hands over to kopf or to a command module.
"""

from __future__ import annotations

import argparse
import logging
import sys

from dagwright.cli.assets import add_assets_command
from dagwright.cli.commands import add_user_commands
from dagwright.cli.render import add_render_command
from dagwright.cli.scheduling import add_schedule_commands


def _operator(args: argparse.Namespace) -> int:
    import kopf

    from dagwright.controller import operator as operator_module

    operator_module.CONFIG.namespaces = None if args.all_namespaces else (args.namespace or None)
    operator_module.CONFIG.kubeconfig = args.kubeconfig
    operator_module.CONFIG.allow_link_local_webhooks = args.allow_link_local_webhooks
    operator_module.CONFIG.pod_start_grace = args.pod_start_grace
    operator_module.CONFIG.openlineage_url = args.openlineage_url
    operator_module.CONFIG.openlineage_namespace = args.openlineage_namespace
    if args.webhook:
        from dagwright.controller import admission

        webhook = admission.WEBHOOK
        webhook.port, webhook.host, webhook.listen = args.webhook_port, args.webhook_host, args.webhook_listen
        webhook.cert_dir, webhook.managed = args.webhook_cert_dir, not args.webhook_unmanaged
        operator_module.enable_webhook()
    if operator_module.CONFIG.namespaces is None and not args.all_namespaces:
        print("dagwright operator: give --namespace NS (repeatable) or --all-namespaces", file=sys.stderr)
        return 2
    if args.metrics_port:
        from dagwright.controller import metrics

        metrics.serve(args.metrics_port, args.metrics_address)
    log_format = kopf.LogFormat.JSON if args.json_logs else kopf.LogFormat.PLAIN
    kopf.configure(verbose=args.verbose, log_format=log_format)
    liveness = args.liveness_endpoint or None
    kopf.run(
        standalone=True,
        clusterwide=args.all_namespaces,
        namespaces=args.namespace or [],
        liveness_endpoint=liveness,
    )
    return 0


def add_ui_command(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """`dagwright ui`; its server (starlette, uvicorn) is imported only when it runs."""
    p = sub.add_parser("ui", help="serve a read-only web view of workflows and runs, live (docs/ui.md)")
    p.add_argument("--port", "-p", type=int, default=8080, help="port to listen on (default 8080)")
    p.add_argument("--address", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1; the chart uses 0.0.0.0 in its pod)")
    p.add_argument("--namespace", "-n", action="append",
                   help="show only this namespace (repeatable; default: every namespace)")
    p.add_argument("--kubeconfig", help="kubeconfig file (default: in-cluster, then ~/.kube/config)")
    p.set_defaults(func=_ui)


def _ui(args: argparse.Namespace) -> int:
    from dagwright.ui.server import serve

    return serve(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dagwright", description="Data-pipeline DAGs on Kubernetes.")
    sub = parser.add_subparsers(dest="command", required=True)
    op = sub.add_parser("operator", help="run the controller against the current kubeconfig")
    op.add_argument("--namespace", "-n", action="append", help="namespace to watch (repeatable)")
    op.add_argument("--all-namespaces", "-A", action="store_true", help="watch every namespace")
    op.add_argument("--kubeconfig", help="kubeconfig file (default: in-cluster, then ~/.kube/config)")
    op.add_argument("--pod-start-grace", type=float, default=180.0, metavar="SECONDS",
                    help="how long a task pod may wait to start (image pull, ContainerCreating, no node "
                         "fits) before its attempt fails (default 180); reasons that cannot resolve "
                         "(ErrImageNeverPull, InvalidImageName, CreateContainerConfigError) fail at once")
    op.add_argument("--json-logs", action="store_true", help="log as JSON lines")
    op.add_argument("--verbose", action="store_true", help="debug logging")
    op.add_argument("--liveness-endpoint", default=None,
                    help="serve liveness probes here, e.g. http://0.0.0.0:8080/healthz")
    op.add_argument("--metrics-port", type=int, default=None, help="serve Prometheus /metrics on this port")
    op.add_argument("--metrics-address", default="0.0.0.0", help="address for /metrics")
    op.add_argument("--webhook", action="store_true", help="serve the validating admission webhook")
    op.add_argument("--webhook-port", type=int, default=9443)
    op.add_argument("--webhook-listen", default="0.0.0.0", help="address to listen on")
    op.add_argument("--webhook-host", default="127.0.0.1",
                    help="host name or IP the API server uses to call the webhook")
    op.add_argument("--webhook-cert-dir", default="/tmp/dagwright-webhook",
                    help="where the self-signed serving certificate is written")
    op.add_argument("--webhook-unmanaged", action="store_true",
                    help="do not create/update the ValidatingWebhookConfiguration")
    op.add_argument("--allow-link-local-webhooks", action="store_true",
                    help="let notification webhooks reach link-local and cloud-metadata addresses "
                         "(169.254.0.0/16, fe80::/10, metadata.google.internal, ...), refused by default")
    op.add_argument("--openlineage-url", default=None,
                    help="send OpenLineage run events (tasks with produces/consumes) to this HTTP endpoint "
                         "(base URL; events go to URL/api/v1/lineage)")
    op.add_argument("--openlineage-namespace", default="dagwright",
                    help="the OpenLineage namespace of the datasets (assets) in those events")
    op.set_defaults(func=_operator)
    add_user_commands(sub)
    add_schedule_commands(sub)
    add_render_command(sub)
    add_assets_command(sub)
    add_ui_command(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command != "operator":  # the operator's logging is kopf's (plain or JSON)
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
