"""Depends on past: may a task start, given the same task in the previous logical date's run?

Pure. ``assess_past`` takes the run's logical date and the other runs of its workflow (their
logical dates and task phases, as the controller read them from the cache) and returns, for each
task with ``dependsOnPast`` that must still wait, why — naming the run it waits for. The planner
keeps such a task Pending with that message; every other rule (trigger rules, pools,
maxParallelTasks) applies as usual once it may start.

The previous run is the run of the same workflow with the newest logical date before this run's.
Several runs may share that date (a `dagwright retry` of a failed day, a manual run): the task
is satisfied when it Succeeded, or was Skipped, in any of them. A run with no earlier run does
not wait (as Airflow's first DAG run). When the previous runs are finished and none has the task
(it was added since), the task does not wait either.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from dagwright.api.models import TaskPhase

__all__ = ["PastRun", "assess_past"]

_SATISFIED = frozenset({TaskPhase.SUCCEEDED.value, TaskPhase.SKIPPED.value})


@dataclass(frozen=True)
class PastRun:
    """Another run of the same workflow: its logical date and each task's phase."""

    name: str
    logical_date: datetime
    finished: bool
    tasks: Mapping[str, str] = field(default_factory=dict)


def _format(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def assess_past(tasks: Iterable[str], run_name: str, logical_date: datetime,
                runs: Sequence[PastRun]) -> dict[str, str]:
    """For each of `tasks` (those with dependsOnPast) that must wait: the message saying for what."""
    earlier = [run for run in runs if run.name != run_name and run.logical_date < logical_date]
    if not earlier:
        return {}
    previous_date = max(run.logical_date for run in earlier)
    previous = sorted((run for run in earlier if run.logical_date == previous_date), key=lambda run: run.name)
    waiting = {}
    for task in tasks:
        if any(run.tasks.get(task) in _SATISFIED for run in previous):
            continue
        if all(run.finished and task not in run.tasks for run in previous):
            continue
        # the run to look at: one still going (it may yet succeed), else the newest by name
        blocker = next((run for run in reversed(previous) if not run.finished), previous[-1])
        phase = blocker.tasks.get(task, TaskPhase.PENDING.value)
        waiting[task] = (f"waiting for task {task} to succeed in run {blocker.name} (the previous logical date, "
                         f"{_format(previous_date)}; dependsOnPast): it is {phase}")
    return waiting
