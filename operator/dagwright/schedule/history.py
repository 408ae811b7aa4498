"""Which finished runs of a workflow to garbage-collect.

``plan_history_cleanup`` keeps the newest ``successful_limit`` Succeeded runs
and the newest ``failed_limit`` Failed or Cancelled runs and names the rest,
oldest first, for deletion. Unfinished runs are never named. Pure: no
Kubernetes API, no clock, no logging; the controller deletes what it returns.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import Enum
from typing import NamedTuple

__all__ = ["FinishedRun", "HistoryKind", "plan_history_cleanup"]


class HistoryKind(str, Enum):
    """Which history limit a finished run counts toward."""

    SUCCESSFUL = "successful"
    FAILED = "failed"


_KIND_OF_PHASE = {
    "Succeeded": HistoryKind.SUCCESSFUL,
    "Failed": HistoryKind.FAILED,
    "Cancelled": HistoryKind.FAILED,
}


class FinishedRun(NamedTuple):
    """A run of the workflow; plain ``(name, phase, finished_at)`` tuples work too."""

    name: str
    phase: str
    finished_at: datetime | None


def _age_key(run: FinishedRun) -> tuple[int, float, str]:
    """Oldest first; a run without ``finished_at`` counts as the oldest; ties by name."""
    if run.finished_at is None:
        return (0, 0.0, run.name)
    if run.finished_at.tzinfo is None:
        raise ValueError(f"finished_at of run {run.name!r} must be timezone-aware")
    return (1, run.finished_at.timestamp(), run.name)


def plan_history_cleanup(
    finished_runs: Iterable[FinishedRun | tuple[str, str, datetime | None]],
    successful_limit: int | None,
    failed_limit: int | None,
) -> list[str]:
    """Names of the runs to delete, oldest first. A limit of None keeps every run of that kind."""
    limits = {HistoryKind.SUCCESSFUL: successful_limit, HistoryKind.FAILED: failed_limit}
    for kind, limit in limits.items():
        if limit is not None and limit < 0:
            raise ValueError(f"{kind.value} history limit must not be negative, got {limit}")
    by_kind: dict[HistoryKind, list[FinishedRun]] = {kind: [] for kind in HistoryKind}
    for entry in finished_runs:
        run = FinishedRun(*entry)
        run_kind = _KIND_OF_PHASE.get(str(getattr(run.phase, "value", run.phase)))
        if run_kind is not None:
            by_kind[run_kind].append(run)
    doomed: list[FinishedRun] = []
    for kind, runs in by_kind.items():
        limit = limits[kind]
        if limit is not None:
            runs.sort(key=_age_key)
            doomed.extend(runs[: max(0, len(runs) - limit)])
    return [run.name for run in sorted(doomed, key=_age_key)]
