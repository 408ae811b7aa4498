"""User commands of the `dagwright` CLI: list, get, watch, cancel, retry, logs (thin: API calls + views)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.live import Live

from dagwright.api.models import FINISHED_RUN_PHASES
from dagwright.api.names import job_name, label_value
from dagwright.api.vocabulary import ANNOTATION_LOG_TAIL, LABEL_ATTEMPT, LABEL_RUN, LABEL_TASK
from dagwright.cli.retry import build_retry_run
from dagwright.cli.view import change_lines, render_run, render_run_live, render_run_table
from dagwright.cli.watching import follow_run
from dagwright.kube import resources
from dagwright.kube.errors import AlreadyExists, ApiError
from dagwright.kube.http import KubeHttp, load_configuration

RUNS = "workflowruns"
FINISHED = frozenset(phase.value for phase in FINISHED_RUN_PHASES)  # status dicts hold plain strings
REDRAW_SECONDS = 1.0  # a terminal's view is redrawn this often (from the last version: no API call)


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


def _get_run(http: KubeHttp, namespace: str, name: str) -> dict[str, Any]:
    run = resources.get_custom(http, namespace, RUNS, name)
    if run is None:
        raise SystemExit(f"dagwright: WorkflowRun '{name}' not found in namespace '{namespace}'")
    return run


def _console() -> Console:
    return Console(highlight=False)


def cmd_list(args: argparse.Namespace) -> int:
    http = _http(args)
    runs = resources.list_custom(http, None if args.all_namespaces else _namespace(args), RUNS)
    runs.sort(key=lambda r: (r["metadata"]["namespace"], r["metadata"].get("creationTimestamp", "")))
    if not runs:
        print("No workflow runs found.")
        return 0
    _console().print(render_run_table(runs, datetime.now(UTC), all_namespaces=args.all_namespaces))
    return 0


def cmd_get(args: argparse.Namespace) -> int:
    http, namespace = _http(args), _namespace(args)
    run = _get_run(http, namespace, args.run)
    _console().print(render_run(run, datetime.now(UTC), args.expand, _child_runs(http, namespace, run)))
    return 0


def _child_runs(http: KubeHttp, namespace: str, run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The child runs of the run's workflow tasks, and theirs (nesting is bounded), by name."""
    found: dict[str, dict[str, Any]] = {}
    todo = [run]
    while todo:
        for task in ((todo.pop().get("status") or {}).get("tasks") or {}).values():
            name = task.get("run")
            if name and name not in found and (child := resources.get_custom(http, namespace, RUNS, name)):
                found[name] = child
                todo.append(child)
    return found


def cmd_watch(args: argparse.Namespace) -> int:
    """Follow the run until it finishes; exit 0 only when it succeeded.

    The run is followed through a Kubernetes watch, not by polling (`cli.watching`). On a
    terminal the view (header, progress bar, DAG tree) is redrawn in place at each change and
    every second. On a pipe each change is one line (a task's phase or attempt, the run's
    progress), then the final view.
    """
    http, namespace, console = _http(args), _namespace(args), _console()
    if console.is_terminal:
        with Live(console=console, auto_refresh=False) as live:
            return follow_run(http, namespace, args.run, args.timeout,
                              lambda run: live.update(render_run_live(run, datetime.now(UTC), args.expand), refresh=True),
                              redraw_every=REDRAW_SECONDS)
    last: dict[str, Any] | None = None

    def print_changes(run: dict[str, Any]) -> None:
        nonlocal last
        for line in change_lines(last, run, datetime.now(UTC)):
            print(line, flush=True)
        last = run

    result = follow_run(http, namespace, args.run, args.timeout, print_changes)
    if last is not None:
        console.print()
        console.print(render_run_live(last, datetime.now(UTC), args.expand))
    return result


def cmd_cancel(args: argparse.Namespace) -> int:
    resources.patch_custom(_http(args), _namespace(args), RUNS, args.run, {"spec": {"cancel": True}})
    print(f"workflowrun {args.run} cancelling")
    return 0


def cmd_retry(args: argparse.Namespace) -> int:
    """A new run of the same frozen DAG that reruns only what did not succeed."""
    http, namespace = _http(args), _namespace(args)
    original = _get_run(http, namespace, args.run)
    phase = (original.get("status") or {}).get("phase")
    if phase not in FINISHED:
        raise SystemExit(f"dagwright: run '{args.run}' is {phase or 'Pending'}; retry a finished run")
    for n in range(1, 100):
        name = f"{args.run}-retry-{n}"
        body = build_retry_run(original, name)
        try:
            resources.create_custom(http, namespace, RUNS, body)
        except AlreadyExists:
            continue
        except ApiError as error:
            raise SystemExit(f"dagwright: {error.message}") from None
        print(f"workflowrun {name} created (retry of {args.run})")
        return 0
    raise SystemExit("dagwright: too many retries of this run")


def _kept_log_tail(http: KubeHttp, namespace: str, task_status: dict[str, Any], run: str, task: str,
                   attempt: int) -> str | None:
    """The last log lines the operator kept on a timed-out attempt's Job, if any."""
    latest = task_status.get("job") if attempt == task_status.get("attempts") else None
    job = resources.get_job(http, namespace, latest or job_name(run, task, attempt)) or {}
    return (job.get("metadata", {}).get("annotations") or {}).get(ANNOTATION_LOG_TAIL)


def cmd_logs(args: argparse.Namespace) -> int:
    """Logs of a task attempt's pod (default: every task's latest attempt)."""
    http, namespace = _http(args), _namespace(args)
    run = _get_run(http, namespace, args.run)
    tasks = (run.get("status") or {}).get("tasks") or {}
    names = [args.task] if args.task else [n for n, t in tasks.items() if t.get("attempts")]
    status = 0
    for task in names:
        if task not in tasks:
            raise SystemExit(f"dagwright: run '{args.run}' has no task '{task}' (tasks: {', '.join(tasks)})")
        attempt = args.attempt or tasks[task].get("attempts") or 1
        # By labels, not by Job name: Jobs named by an older version are found too.
        selector = f"{LABEL_RUN}={label_value(args.run)},{LABEL_TASK}={task},{LABEL_ATTEMPT}={attempt}"
        pods = resources.list_pods(http, namespace, selector)
        if not pods and (kept := _kept_log_tail(http, namespace, tasks[task], args.run, task, attempt)):
            print(f"==> {task} (attempt {attempt}, pod deleted at the timeout: its last lines, kept by the operator)")
            print(kept, end="" if kept.endswith("\n") else "\n")
            continue
        if not pods:
            print(f"==> {task} (attempt {attempt}): no pod with labels {selector}", file=sys.stderr)
            status = 1
            continue
        print(f"==> {task} (attempt {attempt}, pod {pods[0]['metadata']['name']})")
        try:
            print(resources.pod_log(http, namespace, pods[0]["metadata"]["name"]), end="")
        except ApiError as error:
            print(f"(logs unavailable: {error.message})", file=sys.stderr)
            status = 1
    return status


def common(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options every cluster-facing command takes."""
    p.add_argument("--namespace", "-n", help="namespace (default: the kubeconfig context's)")
    p.add_argument("--kubeconfig", help="kubeconfig file")
    return p


def add_user_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = common(sub.add_parser("list", help="list runs"))
    p.add_argument("--all-namespaces", "-A", action="store_true")
    p.set_defaults(func=cmd_list)
    p = common(sub.add_parser("get", help="show a run's DAG with each task's phase"))
    p.add_argument("run")
    p.add_argument("--expand", action="store_true", help="list every instance of forEach tasks")
    p.set_defaults(func=cmd_get)
    p = common(sub.add_parser("watch", help="follow a run until it ends (exit 0 if it succeeded)"))
    p.add_argument("run")
    p.add_argument("--interval", type=float, default=1.0, help=argparse.SUPPRESS)  # ignored: a watch, not polling
    p.add_argument("--timeout", type=float, default=0, help="give up after this many seconds (0: never)")
    p.add_argument("--expand", action="store_true", help="list every instance of forEach tasks")
    p.set_defaults(func=cmd_watch)
    p = common(sub.add_parser("retry", help="rerun the failed and skipped tasks of a finished run"))
    p.add_argument("run")
    p.set_defaults(func=cmd_retry)
    p = common(sub.add_parser("logs", help="logs of a run's task attempts"))
    p.add_argument("run")
    p.add_argument("task", nargs="?")
    p.add_argument("--attempt", type=int, default=None, help="attempt number (default: the latest)")
    p.set_defaults(func=cmd_logs)
    p = common(sub.add_parser("cancel", help="cancel a run"))
    p.add_argument("run")
    p.set_defaults(func=cmd_cancel)
