"""A run's start, routine task progress and end as Events: a few per run, one for a short run.

Routine progress (the run started, tasks started, succeeded, skipped, cancelled) is not news the
moment it happens: the run's status already says it. Posting it with every status write cost a
run of four tasks four or five Events. `ProgressEvents` remembers, per run, the status its last
Event described, and posts the difference (`progress_report`: "run started with 4 task(s);
succeeded: a") when the run has been running `start_delay` seconds, then at most every `interval`
seconds with a status write, and always with the write that finishes the run: one Event of the
run's end carrying the progress not told yet. A run that ends within `start_delay` has that one
Event. Failures, retries, queueing and disruptions are not routine: the reconciler posts each
of them at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dagwright.api.models import FINISHED_RUN_PHASES, RunPhase, WorkflowRunStatus
from dagwright.controller.events import EventSink
from dagwright.planner.run import progress_report

PROGRESS_EVENT_SECONDS = 60.0
START_EVENT_SECONDS = 10.0

Schedule = Callable[[float, Callable[[], None]], object]


@dataclass
class _Told:
    """One run: the status its last Event described and when, and its newest stored status."""

    reported: WorkflowRunStatus
    since: float
    body: dict[str, Any]
    latest: WorkflowRunStatus
    start_scheduled: bool = False


def _call_later(delay: float, callback: Callable[[], None]) -> object:
    return asyncio.get_running_loop().call_later(delay, callback)


class ProgressEvents:
    """Per run (by uid): what was told, and when."""

    def __init__(self, events: EventSink, interval: float = PROGRESS_EVENT_SECONDS,
                 start_delay: float = START_EVENT_SECONDS, clock: Callable[[], float] = time.monotonic,
                 schedule: Schedule = _call_later) -> None:
        self.events = events
        self.interval = interval
        self.start_delay = start_delay
        self.clock = clock
        self.schedule = schedule
        self._told: dict[str, _Told] = {}

    def written(self, body: dict[str, Any], before: WorkflowRunStatus, after: WorkflowRunStatus) -> None:
        """The run's status went from `before` to `after` in the API: tell its progress if due."""
        uid = body["metadata"]["uid"]
        now = self.clock()
        told = self._told.setdefault(uid, _Told(reported=before, since=now, body=body, latest=after))
        told.body, told.latest = body, after
        if after.phase in FINISHED_RUN_PHASES:
            self._tell(told)
            self._told.pop(uid, None)
            return
        if told.reported.phase != RunPhase.RUNNING and after.phase == RunPhase.RUNNING:
            if not told.start_scheduled:
                told.start_scheduled = True
                self.schedule(self.start_delay, lambda: self._tell_start(uid))
            return  # the start is told with the first report, `start_delay` after it
        if now - told.since >= self.interval:
            self._tell(told)

    def _tell_start(self, uid: str) -> None:
        """`start_delay` after the run started: tell it, if the run is still going."""
        told = self._told.get(uid)
        if told is not None and told.reported.phase != RunPhase.RUNNING:
            self._tell(told)

    def _tell(self, told: _Told) -> None:
        for transition in progress_report(told.reported, told.latest):
            self.events.post(told.body, transition.reason, transition.message, transition.type.value)
        told.reported, told.since = told.latest, self.clock()

    def forget(self, uid: str) -> None:
        self._told.pop(uid, None)

    def size(self) -> int:
        return len(self._told)
