"""User commands of the `dagwright` CLI: list, get, watch, cancel (thin: API calls + views)."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime

from dagwright.cli.view import render_run, render_run_table
from dagwright.kube import resources
from dagwright.kube.http import KubeHttp, load_configuration

RUNS = "workflowruns"
FINISHED = ("Succeeded", "Failed", "Cancelled")


def _http(args: argparse.Namespace) -> KubeHttp:
    return KubeHttp(load_configuration(args.kubeconfig), max_connections=4)


def _namespace(args: argparse.Namespace) -> str:
    if args.namespace:
        return args.namespace
    try:
        from kubernetes import config

        _, active = config.list_kube_config_contexts(config_file=args.kubeconfig)
        return active.get("context", {}).get("namespace", "default")
    except Exception:  # noqa: BLE001 - no kubeconfig context: default namespace
        return "default"


def _get_run(http: KubeHttp, namespace: str, name: str) -> dict:
    run = resources.get_custom(http, namespace, RUNS, name)
    if run is None:
        raise SystemExit(f"dagwright: WorkflowRun '{name}' not found in namespace '{namespace}'")
    return run


def cmd_list(args: argparse.Namespace) -> int:
    http = _http(args)
    runs = resources.list_custom(http, None if args.all_namespaces else _namespace(args), RUNS)
    runs.sort(key=lambda r: r["metadata"].get("creationTimestamp", ""))
    print(render_run_table(runs))
    return 0


def cmd_get(args: argparse.Namespace) -> int:
    print(render_run(_get_run(_http(args), _namespace(args), args.run), datetime.now(UTC)))
    return 0


def cmd_watch(args: argparse.Namespace) -> int:
    """Redraw the run every second until it finishes; exit 0 only when it succeeded."""
    http, namespace = _http(args), _namespace(args)
    deadline = time.monotonic() + args.timeout if args.timeout else None
    clear = sys.stdout.isatty()
    while True:
        run = _get_run(http, namespace, args.run)
        text = render_run(run, datetime.now(UTC))
        print(("\033[H\033[J" if clear else "") + text + ("" if clear else "\n"), flush=True)
        phase = (run.get("status") or {}).get("phase")
        if phase in FINISHED:
            return 0 if phase == "Succeeded" else 1
        if deadline is not None and time.monotonic() > deadline:
            print(f"dagwright: run still {phase} after {args.timeout}s", file=sys.stderr)
            return 2
        time.sleep(args.interval)


def cmd_cancel(args: argparse.Namespace) -> int:
    resources.patch_custom(_http(args), _namespace(args), RUNS, args.run, {"spec": {"cancel": True}})
    print(f"workflowrun {args.run} cancelling")
    return 0


def add_user_commands(sub: argparse._SubParsersAction) -> None:
    def common(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--namespace", "-n", help="namespace (default: the kubeconfig context's)")
        p.add_argument("--kubeconfig", help="kubeconfig file")
        return p

    p = common(sub.add_parser("list", help="list runs"))
    p.add_argument("--all-namespaces", "-A", action="store_true")
    p.set_defaults(func=cmd_list)
    p = common(sub.add_parser("get", help="show a run's DAG with each task's phase"))
    p.add_argument("run")
    p.set_defaults(func=cmd_get)
    p = common(sub.add_parser("watch", help="follow a run until it ends (exit 0 if it succeeded)"))
    p.add_argument("run")
    p.add_argument("--interval", type=float, default=1.0)
    p.add_argument("--timeout", type=float, default=0, help="give up after this many seconds (0: never)")
    p.set_defaults(func=cmd_watch)
    p = common(sub.add_parser("cancel", help="cancel a run"))
    p.add_argument("run")
    p.set_defaults(func=cmd_cancel)
