"""Deadlines from the schedule: when a run is due, whether it is late, and how `plan_run` marks it."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from dagwright.api.models import Condition, Deadline, NotifyOn, WorkflowRunStatus
from dagwright.api.validation import validate_workflow_spec
from dagwright.planner.lateness import (
    assess_lateness,
    deadline_of,
    is_deadline_missed,
    keep_deadline_records,
    parse_after,
    with_deadline_notified,
)
from dagwright.planner.notifications import build_payload, due_notifications
from dagwright.planner.run import plan_run

from .sim import T0, World, spec_of

H = timedelta(hours=1)


@pytest.mark.parametrize("text, expected", [
    ("5h", 5 * H), ("90s", timedelta(seconds=90)), ("1d2h30m10s", timedelta(days=1, hours=2, minutes=30, seconds=10)),
    ("45m", timedelta(minutes=45)),
], ids=["hours", "seconds", "every-unit-in-order", "minutes"])
def test_after_reads_d_h_m_s_combinations(text, expected):
    assert parse_after(text) == expected


@pytest.mark.parametrize("text", ["", "5", "h", "5x", "1m2h"], ids=["empty", "no-unit", "no-number", "bad-unit",
                                                                    "units-out-of-order"])
def test_after_refuses_anything_else(text):
    with pytest.raises(ValueError):
        parse_after(text)


def _deadline(after: str, start: str) -> Deadline:
    return Deadline.model_validate({"after": after, "from": start})


@pytest.mark.parametrize("start, logical, created, started, due", [
    ("logicalDate", T0, T0, None, T0 + 3 * H),
    ("logicalDate", T0, T0 + H, T0 + H, T0 + 3 * H),
    ("logicalDate", T0 - 30 * 24 * H, T0, T0, None),
    ("logicalDate", T0 - 2 * H, T0, T0, T0 + H),
    ("start", T0, T0, T0 + 2 * H, T0 + 5 * H),
    ("start", T0, T0, None, None),
    ("logicalDate", None, None, T0, None),
], ids=[
    "logical-date-deadline-even-before-the-run-starts",
    "a-run-created-late-but-before-its-deadline-is-judged",
    "a-backfill-of-last-month-is-not-late",
    "a-run-created-after-its-logical-date-but-before-the-deadline-is-judged",
    "start-deadline-counts-from-the-start",
    "start-deadline-of-a-run-not-started-yet-is-not-set",
    "without-a-logical-date-nothing-is-judged",
])
def test_when_a_run_is_due(start, logical, created, started, due):
    assert deadline_of(_deadline("3h", start), logical, created, started) == due


MISSED = Condition(type="DeadlineMissed", status="True", reason="DeadlineMissed")


@pytest.mark.parametrize("due, now, conditions, missed, recheck", [
    (T0 + H, T0, [], False, 3600.0),
    (T0 + H, T0 + H, [], True, None),
    (T0 + H, T0 + 2 * H, [], True, None),
    (T0 + H, T0 + 2 * H, [MISSED], False, None),
    (None, T0, [], False, None),
], ids=["before-the-deadline-look-again-at-it", "at-the-deadline-missed", "after-the-deadline-missed",
        "already-marked-missed-only-once", "no-deadline-nothing"])
def test_a_run_is_late_once(due, now, conditions, missed, recheck):
    lateness = assess_lateness(due, now, WorkflowRunStatus(conditions=conditions))
    assert (lateness.missed_now, lateness.recheck_after) == (missed, recheck)


def _late_world(after: str = "5s", start: str = "start", **extra) -> World:
    return World(spec_of([{"name": "a"}], deadline={"after": after, "from": start}, **extra), outcomes={("a", 0): "hang"})


def test_plan_run_marks_a_running_run_late_at_its_deadline_with_one_warning_event():
    world = _late_world()
    first = world.step()
    assert first.requeue_after == 5.0  # looked at again at the deadline itself
    assert not is_deadline_missed(world.status)
    world.tick(5)
    plan = world.step()
    assert plan.status.phase == "Running"
    assert is_deadline_missed(plan.status)
    assert [(t.reason, t.type.value) for t in plan.transitions] == [("DeadlineMissed", "Warning")]
    world.tick(5)
    assert world.step().transitions == []  # once


def test_a_quick_run_is_not_late():
    world = World(spec_of([{"name": "a"}], deadline={"after": "1h", "from": "start"}))
    status = world.run_to_end()
    assert status.phase == "Succeeded"
    assert not is_deadline_missed(status)
    assert all(t.reason != "DeadlineMissed" for p in world.plans for t in p.transitions)


def test_a_queued_run_is_late_against_its_logical_date():
    world = _late_world(after="1h", start="logicalDate")
    snapshot = dataclasses.replace(world.snapshot(), admitted=False, logical_date=T0 - 2 * H, created_at=T0 - 2 * H)
    plan = plan_run(snapshot)
    assert plan.status.phase == "Queued"
    assert is_deadline_missed(plan.status)
    assert "DeadlineMissed" in [t.reason for t in plan.transitions]


def test_a_queued_run_is_looked_at_again_at_its_deadline():
    world = _late_world(after="1h", start="logicalDate")
    plan = plan_run(dataclasses.replace(world.snapshot(), admitted=False, logical_date=T0, created_at=T0))
    assert (plan.status.phase, plan.requeue_after) == ("Queued", 3600.0)


def test_a_backfilled_run_is_not_late_against_its_logical_date():
    world = _late_world(after="1h", start="logicalDate")
    plan = plan_run(dataclasses.replace(world.snapshot(), logical_date=T0 - 30 * 24 * H, created_at=T0))
    assert not is_deadline_missed(plan.status)
    assert plan.requeue_after is None


def test_deadline_records_survive_a_status_planned_from_an_older_one():
    notified = with_deadline_notified(WorkflowRunStatus(conditions=[MISSED]), [], 1, "2026-11-24T02:00:00Z")
    older_plan = WorkflowRunStatus(phase="Running", conditions=[MISSED])
    kept = keep_deadline_records(older_plan, notified)
    assert sorted(c.type for c in kept.conditions) == ["DeadlineMissed", "DeadlineNotified"]


def test_deadline_missed_notifications_are_due_only_for_the_miss():
    spec = spec_of([{"name": "a"}], deadline={"after": "1h"}, notifications=[
        {"on": ["DeadlineMissed"], "webhook": {"url": "http://x"}}, {"webhook": {"url": "http://y"}}])
    assert [n.webhook.url for n in due_notifications(spec.notifications, NotifyOn.DEADLINE_MISSED.value)] == ["http://x"]
    assert [n.webhook.url for n in due_notifications(spec.notifications, "Succeeded")] == ["http://y"]
    run = {"metadata": {"name": "r", "namespace": "ns", "creationTimestamp": "2026-11-24T02:00:00Z"}}
    payload = build_payload(run, "wf", WorkflowRunStatus(phase="Running", progress="0/1"), NotifyOn.DEADLINE_MISSED)
    assert payload["event"] == "DeadlineMissed"
    assert payload["phase"] == "Running"
    assert build_payload(run, "wf", WorkflowRunStatus(phase="Failed"))["event"] == "Failed"


def test_deadline_missed_notification_without_a_deadline_is_a_validation_error():
    spec = spec_of([{"name": "a"}], notifications=[{"on": ["DeadlineMissed"], "webhook": {"url": "http://x"}}])
    assert [p.field for p in validate_workflow_spec(spec)] == ["spec.notifications[0].on"]
    ok = spec_of([{"name": "a"}], deadline={"after": "2h"},
                 notifications=[{"on": ["DeadlineMissed"], "webhook": {"url": "http://x"}}])
    assert validate_workflow_spec(ok) == []


def test_the_deadline_spec_reads_from_and_after_on_the_wire():
    spec = spec_of([{"name": "a"}], deadline={"after": "3h", "from": "logicalDate"})
    assert spec.to_wire()["deadline"] == {"after": "3h", "from": "logicalDate"}
    assert datetime(2026, 1, 1, tzinfo=UTC) + parse_after(spec.deadline.after) == datetime(2026, 1, 1, 3, tzinfo=UTC)


def test_a_failed_runs_notification_says_why_each_task_failed():
    run = {"metadata": {"name": "r", "namespace": "ns", "creationTimestamp": "2026-11-24T02:00:00Z"}}
    gate = 'attempt 1 failed: exit code 1: {"failed":1,"failures":"test.lakehouse.gate_rejected_share"}'
    status = WorkflowRunStatus(phase="Failed", tasks={
        "gate": {"phase": "Failed", "message": gate},
        "sync": {"phase": "Skipped", "message": "upstream failed"},
        "long": {"phase": "Failed", "message": "x" * 1000}})
    payload = build_payload(run, "wf", status)
    assert payload["failedTasks"] == ["gate", "long"]
    assert payload["failures"]["gate"] == gate
    assert len(payload["failures"]["long"]) == 300
    assert "gate: " + gate in payload["text"]
