"""Text views of runs for the CLI: a run's DAG as a tree with phases, and a runs table (pure)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dagwright.api.frozen import thaw_spec
from dagwright.planner.dag import topological_order
from dagwright.planner.timefmt import format_duration, parse_time

SYMBOLS = {"Succeeded": "✔", "Failed": "✖", "Running": "●", "Retrying": "↻", "Pending": "◷",
           "Skipped": "○", "Cancelled": "⊘"}


def _duration(task: dict[str, Any], now: datetime) -> str:
    if not task.get("startedAt"):
        return ""
    end = parse_time(task["finishedAt"]) if task.get("finishedAt") else now
    return format_duration(end - parse_time(task["startedAt"]))


def render_run(run: dict[str, Any], now: datetime) -> str:
    """`argo get`-like text: header, then each task in DAG order with phase, attempts, time."""
    meta, status = run["metadata"], run.get("status") or {}
    lines = [
        f"Name:      {meta['name']}",
        f"Namespace: {meta['namespace']}",
        f"Phase:     {status.get('phase', 'Pending')}   Progress: {status.get('progress', '-')}"
        + (f"   Duration: {status['duration']}" if status.get("duration") else ""),
    ]
    if status.get("message"):
        lines.append(f"Message:   {status['message']}")
    tasks = status.get("tasks") or {}
    order = list(tasks)
    depends: dict[str, list[str]] = {}
    if status.get("frozenSpec"):
        spec = thaw_spec(status["frozenSpec"])
        order = topological_order(spec)
        depends = {t.name: t.depends_on or [] for t in spec.tasks}
    lines.append("")
    lines.append(f"{'TASK':<32} {'PHASE':<11} {'ATTEMPTS':>8} {'DURATION':>9}  MESSAGE")
    for name in order:
        task = tasks.get(name, {"phase": "Pending", "attempts": 0})
        phase = task.get("phase", "Pending")
        arrow = f" ← {', '.join(depends[name])}" if depends.get(name) else ""
        label = f"{SYMBOLS.get(phase, ' ')} {name}"
        message = (task.get("message") or "") + arrow
        lines.append(f"{label:<32} {phase:<11} {task.get('attempts', 0):>8} {_duration(task, now):>9}  {message}")
    return "\n".join(lines)


def render_run_table(runs: list[dict[str, Any]]) -> str:
    """One line per run, like `kubectl get workflowruns`."""
    lines = [f"{'NAME':<44} {'PHASE':<10} {'PROGRESS':<9} {'STARTED':<21} DURATION"]
    for run in runs:
        status = run.get("status") or {}
        lines.append(f"{run['metadata']['name']:<44} {status.get('phase', ''):<10} {status.get('progress', ''):<9} "
                     f"{status.get('startedAt', ''):<21} {status.get('duration', '')}")
    return "\n".join(lines)
