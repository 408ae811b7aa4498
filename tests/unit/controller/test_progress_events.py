"""A run's start, progress and end as Events: one for a short run, a few for a long one, never one per write."""

from __future__ import annotations

from collections.abc import Callable
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


class Timers:
    """What `ProgressEvents` asked to run later, run when the test says so."""

    def __init__(self) -> None:
        self.due: list[tuple[float, Callable[[], None]]] = []

    def __call__(self, delay: float, callback: Callable[[], None]) -> None:
        self.due.append((delay, callback))

    def fire(self) -> None:
        due, self.due = self.due, []
        for _delay, callback in due:
            callback()


def progress() -> tuple[ProgressEvents, Events, Clock, Timers]:
    events, clock, timers = Events(), Clock(), Timers()
    sink = ProgressEvents(events, interval=10, start_delay=5, clock=clock, schedule=timers)  # type: ignore[arg-type]
    return sink, events, clock, timers


DIAMOND_STEPS = [
    status(a=TaskPhase.RUNNING),
    status(a=TaskPhase.SUCCEEDED, b=TaskPhase.RUNNING, c=TaskPhase.RUNNING),
    status(a=TaskPhase.SUCCEEDED, b=TaskPhase.SUCCEEDED, c=TaskPhase.SUCCEEDED, d=TaskPhase.RUNNING),
    status(RunPhase.SUCCEEDED, a=TaskPhase.SUCCEEDED, b=TaskPhase.SUCCEEDED, c=TaskPhase.SUCCEEDED,
           d=TaskPhase.SUCCEEDED),
]


def finished(run: WorkflowRunStatus, message: str, duration: str) -> WorkflowRunStatus:
    return run.model_copy(update={"message": message, "duration": duration})


def test_a_run_that_ends_before_its_start_is_told_has_one_event_telling_all_of_it():
    sink, events, clock, timers = progress()
    before = WorkflowRunStatus(phase=RunPhase.PENDING)
    steps = DIAMOND_STEPS[:-1] + [finished(DIAMOND_STEPS[-1], "all tasks finished", "3s")]
    for after in steps:
        clock.now += 1
        sink.written(RUN, before, after)
        before = after
    assert events.posted == [("RunSucceeded", "run succeeded: all tasks finished (after 3s); succeeded: a, b, c, d")]
    assert sink.size() == 0
    timers.fire()  # the start Event's timer, after the run ended: nothing more
    assert len(events.posted) == 1


def test_a_run_still_going_after_the_start_delay_tells_its_start_with_the_progress_so_far():
    sink, events, clock, timers = progress()
    sink.written(RUN, WorkflowRunStatus(phase=RunPhase.PENDING), DIAMOND_STEPS[0])
    assert [delay for delay, _ in timers.due] == [5]
    sink.written(RUN, DIAMOND_STEPS[0], DIAMOND_STEPS[1])
    assert events.posted == [] and len(timers.due) == 1  # one timer per run
    clock.now += 5
    timers.fire()
    assert events.posted == [("RunStarted", "run started with 3 task(s); succeeded: a; started: b, c")]
    clock.now += 1
    sink.written(RUN, DIAMOND_STEPS[1], DIAMOND_STEPS[2])
    assert len(events.posted) == 1  # within the interval
    sink.written(RUN, DIAMOND_STEPS[2], finished(DIAMOND_STEPS[3], "all tasks finished", "7s"))
    assert events.posted[1] == ("RunSucceeded", "run succeeded: all tasks finished (after 7s); succeeded: b, c, d")


def test_a_long_run_posts_its_progress_once_the_interval_has_passed():
    sink, events, clock, timers = progress()
    sink.written(RUN, status(a=TaskPhase.RUNNING), status(a=TaskPhase.RUNNING, b=TaskPhase.PENDING))
    clock.now += 11
    sink.written(RUN, status(a=TaskPhase.RUNNING), status(a=TaskPhase.SUCCEEDED, b=TaskPhase.RUNNING))
    assert events.posted == [("TaskSucceeded", "succeeded: a; started: b")]
    clock.now += 1
    sink.written(RUN, status(a=TaskPhase.SUCCEEDED, b=TaskPhase.RUNNING),
                 status(a=TaskPhase.SUCCEEDED, b=TaskPhase.SUCCEEDED))
    assert len(events.posted) == 1  # 1 s after the last progress Event: not yet
    assert timers.due == []  # found running (a restart): its start is not told again


def test_progress_starts_from_the_status_found_at_the_first_write_after_a_restart():
    sink, events, _clock, _timers = progress()
    found = status(a=TaskPhase.SUCCEEDED, b=TaskPhase.RUNNING)
    done = finished(status(RunPhase.FAILED, a=TaskPhase.SUCCEEDED, b=TaskPhase.FAILED), "1 task(s) failed: b", "9s")
    sink.written(RUN, found, done)
    assert events.posted == [("RunFailed", "run failed: 1 task(s) failed: b (after 9s)")]


def test_a_forgotten_run_starts_afresh():
    sink, events, clock, timers = progress()
    sink.written(RUN, WorkflowRunStatus(), status(a=TaskPhase.RUNNING))
    sink.forget("u1")
    assert sink.size() == 0
    timers.fire()
    assert events.posted == []
