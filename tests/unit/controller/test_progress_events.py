"""Routine progress Events: one per run every so often and one at its end, never one per write."""

from __future__ import annotations

from typing import Any

from dagwright.api.models import RunPhase, TaskPhase, TaskStatus, WorkflowRunStatus
from dagwright.controller.progress import ProgressEvents

RUN = {"apiVersion": "dagwright.io/v1alpha1", "kind": "WorkflowRun",
       "metadata": {"name": "r", "namespace": "ns", "uid": "u1"}}


class Events:
    def __init__(self) -> None:
        self.posted: list[tuple[str, str]] = []

    def post(self, involved: dict[str, Any], reason: str, message: str, event_type: str = "Normal") -> None:
        self.posted.append((reason, message))


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def status(phase: RunPhase = RunPhase.RUNNING, **tasks: TaskPhase) -> WorkflowRunStatus:
    return WorkflowRunStatus(phase=phase, tasks={n: TaskStatus(phase=p, attempts=1) for n, p in tasks.items()})


def progress() -> tuple[ProgressEvents, Events, Clock]:
    events, clock = Events(), Clock()
    return ProgressEvents(events, interval=10, clock=clock), events, clock  # type: ignore[arg-type]


def test_writes_within_the_interval_post_nothing_and_the_end_posts_all_progress_in_one_event():
    sink, events, clock = progress()
    steps = [status(a=TaskPhase.RUNNING),
             status(a=TaskPhase.SUCCEEDED, b=TaskPhase.RUNNING, c=TaskPhase.RUNNING),
             status(a=TaskPhase.SUCCEEDED, b=TaskPhase.SUCCEEDED, c=TaskPhase.SUCCEEDED, d=TaskPhase.RUNNING),
             status(RunPhase.SUCCEEDED, a=TaskPhase.SUCCEEDED, b=TaskPhase.SUCCEEDED, c=TaskPhase.SUCCEEDED,
                    d=TaskPhase.SUCCEEDED)]
    before = WorkflowRunStatus()
    for after in steps:
        clock.now += 1
        sink.written(RUN, before, after)
        before = after
    assert events.posted == [("TaskSucceeded", "succeeded: a, b, c, d")]
    assert sink.size() == 0


def test_a_long_run_posts_its_progress_once_the_interval_has_passed():
    sink, events, clock = progress()
    sink.written(RUN, WorkflowRunStatus(), status(a=TaskPhase.RUNNING))
    clock.now += 11
    sink.written(RUN, status(a=TaskPhase.RUNNING), status(a=TaskPhase.SUCCEEDED, b=TaskPhase.RUNNING))
    assert events.posted == [("TaskSucceeded", "succeeded: a; started: b")]
    clock.now += 1
    sink.written(RUN, status(a=TaskPhase.SUCCEEDED, b=TaskPhase.RUNNING),
                 status(a=TaskPhase.SUCCEEDED, b=TaskPhase.SUCCEEDED))
    assert len(events.posted) == 1  # 1 s after the last progress Event: not yet


def test_progress_starts_from_the_status_found_at_the_first_write_after_a_restart():
    sink, events, _clock = progress()
    found = status(a=TaskPhase.SUCCEEDED, b=TaskPhase.RUNNING)
    sink.written(RUN, found, status(RunPhase.SUCCEEDED, a=TaskPhase.SUCCEEDED, b=TaskPhase.SUCCEEDED))
    assert events.posted == [("TaskSucceeded", "succeeded: b")]


def test_a_forgotten_run_starts_afresh():
    sink, events, clock = progress()
    sink.written(RUN, WorkflowRunStatus(), status(a=TaskPhase.RUNNING))
    sink.forget("u1")
    assert sink.size() == 0
