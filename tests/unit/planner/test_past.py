"""Depends on past: a task waits for the same task of the previous logical date's run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dagwright.api.models import TaskPhase, WorkflowRunStatus
from dagwright.planner.past import PastRun, assess_past
from dagwright.planner.run import plan_run
from dagwright.planner.snapshot import RunSnapshot

from .sim import spec_of

DAY2 = datetime(2026, 11, 25, tzinfo=UTC)
DAY1 = DAY2 - timedelta(days=1)
DAY0 = DAY1 - timedelta(days=1)


def past(name: str, day: datetime, phase: str | None, finished: bool = True) -> PastRun:
    return PastRun(name, day, finished, {} if phase is None else {"load": phase})


@pytest.mark.parametrize(("runs", "waits_for"), [
    pytest.param([], None, id="the first run does not wait"),
    pytest.param([past("d1", DAY1, "Succeeded")], None, id="the previous day succeeded: go"),
    pytest.param([past("d1", DAY1, "Skipped")], None, id="the previous day skipped it: go"),
    pytest.param([past("d1", DAY1, "Failed")], "d1", id="the previous day failed: wait for it"),
    pytest.param([past("d1", DAY1, "Running", finished=False)], "d1", id="the previous day still runs: wait"),
    pytest.param([past("d1", DAY1, "Failed"), past("d1-retry", DAY1, "Succeeded")], None,
                 id="a retry of the previous day succeeded: go"),
    pytest.param([past("d1", DAY1, "Failed"), past("d1-retry", DAY1, "Running", finished=False)], "d1-retry",
                 id="a retry of the previous day is running: wait for the retry"),
    pytest.param([past("d0", DAY0, "Succeeded"), past("d1", DAY1, "Failed")], "d1",
                 id="only the newest earlier date counts, not an older success"),
    pytest.param([past("d0", DAY0, "Failed")], "d0", id="a missing day: the newest earlier run counts"),
    pytest.param([past("d3", DAY2 + timedelta(days=1), "Failed")], None, id="later runs do not count"),
    pytest.param([past("d1", DAY1, None)], None, id="a finished previous run without the task: go"),
    pytest.param([past("d1", DAY1, None, finished=False)], "d1", id="an unfinished previous run without it yet: wait"),
])
def test_a_depends_on_past_task_waits_for_the_previous_logical_dates_run(runs, waits_for):
    waiting = assess_past(["load"], "d2", DAY2, runs)
    if waits_for is None:
        assert waiting == {}
    else:
        assert f"in run {waits_for} " in waiting["load"]
        assert "2026-11-24T00:00:00Z" in waiting["load"] or waits_for == "d0"


def test_the_run_itself_is_not_its_own_past():
    assert assess_past(["load"], "d2", DAY2, [past("d2", DAY1, "Failed")]) == {}


def snapshot(waiting: dict[str, str]) -> RunSnapshot:
    spec = spec_of([{"name": "load", "dependsOnPast": True}, {"name": "other"}])
    return RunSnapshot(run_name="d2", spec=spec, status=WorkflowRunStatus(), jobs={}, now=DAY2,
                       past_waiting=waiting)


def test_the_planner_keeps_a_waiting_task_pending_with_the_message_and_looks_again():
    plan = plan_run(snapshot({"load": "waiting for task load to succeed in run d1 …"}))
    assert [job.task for job in plan.create] == ["other"]
    tasks = plan.status.tasks or {}
    assert tasks["load"].phase == TaskPhase.PENDING
    assert tasks["load"].message == "waiting for task load to succeed in run d1 …"
    assert plan.requeue_after is not None


def test_once_the_past_is_fine_the_task_starts_and_the_message_is_gone():
    waiting = plan_run(snapshot({"load": "waiting …"}))
    later = RunSnapshot(run_name="d2", spec=snapshot({}).spec, status=waiting.status, jobs={}, now=DAY2)
    plan = plan_run(later)
    assert "load" in [job.task for job in plan.create]
    assert (plan.status.tasks or {})["load"].message is None
