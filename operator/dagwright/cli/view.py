"""Views of runs for the CLI, built with rich: a run's DAG as a tree, a runs table, progress.

Pure: functions take API objects (dicts) and `now`, and return rich renderables; only the
command layer prints them. `as_text` turns a renderable into plain text for tests and pipes.

The DAG tree works like `argo get`: the run is the root, every task appears exactly once, under
the dependency that finished last in topological order (the one that let it start); a task with
more than one dependency names the others with `← a, b`.
"""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from dagwright.api.frozen import thaw_spec
from dagwright.api.models import FINISHED_RUN_PHASES, FINISHED_TASK_PHASES
from dagwright.api.timefmt import format_duration, parse_time
from dagwright.planner.dag import topological_order

SYMBOLS = {"Succeeded": "✔", "Failed": "✖", "Running": "●", "Retrying": "↻", "Pending": "◷",
           "Skipped": "○", "Cancelled": "⊘", "Queued": "◷"}
STYLES = {"Succeeded": "green", "Failed": "red", "Running": "cyan", "Retrying": "yellow",
          "Pending": "dim", "Skipped": "dim", "Cancelled": "magenta", "Queued": "dim"}
FINISHED_TASK = frozenset(phase.value for phase in FINISHED_TASK_PHASES)  # status dicts hold plain strings
FINISHED_RUN = frozenset(phase.value for phase in FINISHED_RUN_PHASES)


@dataclass(frozen=True)
class TreeRow:
    """One line of the DAG tree: the drawn prefix, the task and its other dependencies."""

    prefix: str
    task: str
    also_after: tuple[str, ...]


def dag_tree_rows(order: tuple[str, ...] | list[str], depends: dict[str, list[str]]) -> list[TreeRow]:
    """Lay the DAG out as a tree, each task once, under its latest dependency in `order`."""
    position = {name: i for i, name in enumerate(order)}
    children: dict[str | None, list[str]] = {None: []}
    parent_of: dict[str, str | None] = {}
    for name in order:
        deps = [d for d in depends.get(name, []) if d in position]
        parent = max(deps, key=position.__getitem__) if deps else None
        parent_of[name] = parent
        children.setdefault(parent, []).append(name)
    rows: list[TreeRow] = []

    def walk(node: str | None, indent: str) -> None:
        kids = children.get(node, [])
        for i, kid in enumerate(kids):
            last = i == len(kids) - 1
            others = tuple(d for d in depends.get(kid, []) if d != parent_of[kid])
            rows.append(TreeRow(indent + ("└─" if last else "├─"), kid, others))
            walk(kid, indent + ("  " if last else "│ "))

    walk(None, "")
    return rows


def _duration(task: dict[str, Any], now: datetime) -> str:
    if not task.get("startedAt"):
        return ""
    end = parse_time(task["finishedAt"]) if task.get("finishedAt") else now
    return format_duration(end - parse_time(task["startedAt"]))


def run_duration(status: dict[str, Any], now: datetime) -> str:
    """How long the run took, or, while it runs, how long it has been running."""
    if status.get("duration"):
        return str(status["duration"])
    if not status.get("startedAt") or status.get("phase") in FINISHED_RUN:
        return ""
    return format_duration(now - parse_time(status["startedAt"]))


def _phase(phase: str) -> Text:
    return Text(f"{SYMBOLS.get(phase, ' ')} {phase}", style=STYLES.get(phase, ""))


Dag = tuple[tuple[str, ...], dict[str, list[str]]]


@lru_cache(maxsize=8)
def _frozen_dag(frozen: str) -> Dag:
    """Order and dependencies of a frozen spec; memoised, since `watch` asks on every poll."""
    spec = thaw_spec(frozen)
    return topological_order(spec), {t.name: list(t.depends_on or []) for t in spec.tasks}


def _run_dag(run: dict[str, Any]) -> Dag:
    """Task order and dependencies: from the frozen spec when the run has one."""
    status = run.get("status") or {}
    if status.get("frozenSpec"):
        return _frozen_dag(status["frozenSpec"])
    inline = (run.get("spec") or {}).get("workflowSpec") or {}
    if inline.get("tasks"):
        return tuple(t["name"] for t in inline["tasks"]), {t["name"]: list(t.get("dependsOn") or [])
                                                           for t in inline["tasks"]}
    return tuple(status.get("tasks") or {}), {}


def run_header(run: dict[str, Any], now: datetime) -> Table:
    """Name, namespace, phase, progress, duration and message as a two-column grid."""
    meta, status = run["metadata"], run.get("status") or {}
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    grid.add_row("Name:", meta["name"])
    grid.add_row("Namespace:", meta["namespace"])
    grid.add_row("Phase:", _phase(status.get("phase", "Pending")))
    grid.add_row("Progress:", status.get("progress", "-"))
    if status.get("startedAt"):
        grid.add_row("Started:", status["startedAt"])
    if run_duration(status, now):
        grid.add_row("Duration:", run_duration(status, now))
    if status.get("message"):
        grid.add_row("Message:", status["message"])
    return grid


def _attempts(task: dict[str, Any]) -> str:
    """'2', or '2 (1 disrupted)' when Kubernetes took attempts away (they use no retry)."""
    attempts = str(task.get("attempts", 0))
    return f"{attempts} ({task['disruptions']} disrupted)" if task.get("disruptions") else attempts


INSTANCE_PHASES = {".": "Pending", "R": "Running", "r": "Retrying", "S": "Succeeded", "F": "Failed", "C": "Cancelled"}
"""The characters of `status.tasks.T.forEach.states`, one per instance."""


def for_each_counts(for_each: dict[str, Any]) -> str:
    """'200 items: 180 succeeded, 15 running, 3 failed, 2 pending' (phases with instances only)."""
    parts = [f"{for_each.get(key, 0)} {key}" for key in ("succeeded", "running", "retrying", "failed", "cancelled",
                                                          "pending") if for_each.get(key)]
    return f"{for_each.get('items', 0)} items" + (": " + ", ".join(parts) if parts else "")


def _instance_rows(table: Table, prefix: str, name: str, for_each: dict[str, Any]) -> None:
    """One row per instance of a forEach task (`--expand`), failed ones with their attempt and message."""
    failures = {f["index"]: f for f in for_each.get("failures") or []}
    states = for_each.get("states") or ""
    indent = prefix.replace("├─", "│ ").replace("└─", "  ")
    for index, state in enumerate(states):
        phase = INSTANCE_PHASES.get(state, "Pending")
        failure = failures.get(index, {})
        branch = "└─" if index == len(states) - 1 else "├─"
        table.add_row(f"{indent}{branch}{name}[{index}]", _phase(phase), str(failure.get("attempts", "")), "",
                      failure.get("message") or "")
    hidden = for_each.get("failed", 0) - len(failures)
    if hidden > 0:
        table.add_row(f"{indent}  …", "", "", "", f"{hidden} more failed instances are counted, not listed")


def task_tree(run: dict[str, Any], now: datetime, expand: bool = False,
              children: dict[str, dict[str, Any]] | None = None) -> Table:
    """The DAG tree with each task's phase, attempts, duration and message; a forEach task is one
    line with its counts, or (`expand`) followed by one line per instance; a workflow task is
    followed by its child run's tree (`children`: child runs by name)."""
    table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
    for column, justify in (("TASK", "left"), ("PHASE", "left"), ("ATTEMPTS", "right"),
                            ("DURATION", "right"), ("MESSAGE", "left")):
        table.add_column(column, justify=justify, no_wrap=column != "MESSAGE")  # type: ignore[arg-type]
    table.add_row(Text(f"{SYMBOLS.get((run.get('status') or {}).get('phase', 'Pending'), ' ')} {run['metadata']['name']}",
                       style="bold"), "", "", "", "")
    _task_rows(table, run, "", now, expand, children or {})
    return table


def _task_rows(table: Table, run: dict[str, Any], indent: str, now: datetime, expand: bool,
               children: dict[str, dict[str, Any]]) -> None:
    order, depends = _run_dag(run)
    tasks = (run.get("status") or {}).get("tasks") or {}
    for row in dag_tree_rows(order, depends):
        row = TreeRow(indent + row.prefix, row.task, row.also_after)
        task = tasks.get(row.task, {"phase": "Pending", "attempts": 0})
        message = task.get("message") or ""
        for_each = task.get("forEach")
        if for_each is not None:
            message = for_each_counts(for_each) + (f"  ({message})" if message else "")
        if row.also_after:
            message = (message + "  " if message else "") + f"← {', '.join(row.also_after)}"
        table.add_row(f"{row.prefix}{row.task}", _phase(task.get("phase", "Pending")),
                      "×" + str(for_each.get("items", 0)) if for_each is not None else _attempts(task),
                      _duration(task, now), message)
        if expand and for_each is not None:
            _instance_rows(table, row.prefix, row.task, for_each)
        child = children.get(task.get("run") or "")
        if child is not None:  # the child run's own tree, under the task that called it
            below = row.prefix.replace("├─", "│ ").replace("└─", "  ") + "  "
            table.add_row(Text(f"{below}⤷ {child['metadata']['name']}", style="dim"),
                          _phase((child.get("status") or {}).get("phase", "Pending")), "", "", "child run")
            _task_rows(table, child, below, now, expand, children)


def progress_bar(run: dict[str, Any]) -> Table:
    """A bar of finished tasks out of all tasks, with the counts by phase beside it."""
    tasks = (run.get("status") or {}).get("tasks") or {}
    total = len(_run_dag(run)[0]) or len(tasks)
    done = sum(1 for t in tasks.values() if t.get("phase") in FINISHED_TASK)
    counts = Counter(t.get("phase", "Pending") for t in tasks.values())
    grid = Table.grid(padding=(0, 2))
    grid.add_column(width=40)
    grid.add_column()
    summary = ", ".join(f"{n} {p.lower()}" for p, n in sorted(counts.items()))
    grid.add_row(ProgressBar(total=max(total, 1), completed=done, width=40), f"{done}/{total}  {summary}")
    return grid


def render_run(run: dict[str, Any], now: datetime, expand: bool = False,
               children: dict[str, dict[str, Any]] | None = None) -> RenderableType:
    """`argo get`-like view: the header, then the DAG tree (`expand`: forEach instances too;
    `children`: child runs of workflow tasks, drawn under them)."""
    return Group(run_header(run, now), Text(""), task_tree(run, now, expand, children))


def render_run_live(run: dict[str, Any], now: datetime, expand: bool = False) -> RenderableType:
    """What `dagwright watch` redraws: the header, a progress bar and the DAG tree."""
    return Group(run_header(run, now), progress_bar(run), Text(""), task_tree(run, now, expand))


def render_run_table(runs: list[dict[str, Any]], now: datetime, all_namespaces: bool = False) -> Table:
    """One line per run, like `kubectl get workflowruns`; DURATION counts up while a run runs."""
    table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
    columns = (["NAMESPACE"] if all_namespaces else []) + ["NAME", "WORKFLOW", "PHASE", "PROGRESS", "STARTED",
                                                           "DURATION"]
    for column in columns:
        table.add_column(column, no_wrap=True)
    for run in runs:
        status, meta = run.get("status") or {}, run["metadata"]
        workflow = ((run.get("spec") or {}).get("workflowRef") or {}).get("name") or "(inline)"
        cells: list[str | Text] = [meta["namespace"]] if all_namespaces else []
        cells += [meta["name"], workflow, _phase(status.get("phase", "Pending")), status.get("progress", ""),
                  status.get("startedAt", ""), run_duration(status, now)]
        table.add_row(*cells)
    return table


def change_lines(before: dict[str, Any] | None, after: dict[str, Any], now: datetime) -> list[str]:
    """What `dagwright watch` prints on a pipe: one line per task whose phase or attempts changed,
    and one for the run when its phase or progress changed (all of them the first time)."""
    old = (before or {}).get("status") or {}
    new = after.get("status") or {}
    stamp = now.strftime("%H:%M:%S")
    lines = []
    old_tasks, new_tasks = old.get("tasks") or {}, new.get("tasks") or {}
    in_dag = [n for n in _run_dag(after)[0] if n in new_tasks]
    for name in in_dag + sorted(new_tasks.keys() - set(in_dag)):
        task, was = new_tasks[name], old_tasks.get(name) or {}
        counts = for_each_counts(task["forEach"]) if task.get("forEach") else None
        was_counts = for_each_counts(was["forEach"]) if was.get("forEach") else None
        if (was.get("phase"), was.get("attempts"), was_counts) != (task.get("phase"), task.get("attempts"), counts):
            phase = task.get("phase", "Pending")
            message = f"  {task['message']}" if task.get("message") else ""
            if counts is not None:
                lines.append(f"{stamp}  {SYMBOLS.get(phase, ' ')} {name:<30} {phase:<10} {counts}")
                continue
            lines.append(f"{stamp}  {SYMBOLS.get(phase, ' ')} {name:<30} {phase:<10} attempt {task.get('attempts', 0)}"
                         f"{message}")
    if (old.get("phase"), old.get("progress")) != (new.get("phase"), new.get("progress")) or before is None:
        lines.append(f"{stamp}  run {after['metadata']['name']}: {new.get('phase', 'Pending')} {new.get('progress', '')}")
    return lines


def as_text(renderable: RenderableType, width: int = 160) -> str:
    """Plain text of a renderable (no colours), as a pipe or a test sees it."""
    buffer = io.StringIO()
    Console(file=buffer, width=width, color_system=None, force_terminal=False, legacy_windows=False).print(renderable)
    return buffer.getvalue()
