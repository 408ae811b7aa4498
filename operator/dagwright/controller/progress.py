"""Routine task progress as Events: one per run every so often, and one when the run ends.

Routine progress (tasks started, succeeded, skipped, cancelled) is not news the moment it
happens: the run's status already says it. Posting it with every status write cost a run of
four tasks four or five Events. `ProgressEvents` remembers, per run, the status its last
progress Event described, and posts the difference (`routine_transitions`, one Event:
"succeeded: a, b; started: c") at most every `interval` seconds, and always with the write that
finishes the run, just before the run's own `RunSucceeded`/`RunFailed` Event. Failures,
retries and disruptions are not routine: the reconciler posts each of them at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from dagwright.api.models import FINISHED_RUN_PHASES, WorkflowRunStatus
from dagwright.controller.events import EventSink
from dagwright.planner.run import routine_transitions

PROGRESS_EVENT_SECONDS = 60.0


class ProgressEvents:
    """Per run (by uid): the status last described by a progress Event, and when."""

    def __init__(self, events: EventSink, interval: float = PROGRESS_EVENT_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.events = events
        self.interval = interval
        self.clock = clock
        self._reported: dict[str, tuple[WorkflowRunStatus, float]] = {}

    def written(self, body: dict[str, Any], before: WorkflowRunStatus, after: WorkflowRunStatus) -> None:
        """The run's status went from `before` to `after` in the API: post its progress if due."""
        uid = body["metadata"]["uid"]
        now = self.clock()
        reported, since = self._reported.setdefault(uid, (before, now))
        finished = after.phase in FINISHED_RUN_PHASES
        if not finished and now - since < self.interval:
            return
        for transition in routine_transitions(reported, after):
            self.events.post(body, transition.reason, transition.message, transition.type.value)
        if finished:
            self._reported.pop(uid, None)
        else:
            self._reported[uid] = (after, now)

    def forget(self, uid: str) -> None:
        self._reported.pop(uid, None)

    def size(self) -> int:
        return len(self._reported)
