"""Run conditions, the Notified record and invalid runs: pure functions of a status."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dagwright.api.models import Condition, WorkflowRunStatus
from dagwright.planner.conditions import build_run_conditions, is_notified, with_notified
from dagwright.planner.invalid import plan_invalid_run

NOW = "2026-12-06T10:00:00Z"


def conditions(status: WorkflowRunStatus) -> dict[str, str]:
    return {c.type: c.status for c in build_run_conditions(status, 3, NOW)}


@pytest.mark.parametrize("phase, ready, reconciling, stalled", [
    (None, "False", "True", "False"),
    ("Queued", "False", "True", "False"),
    ("Running", "False", "True", "False"),
    ("Succeeded", "True", "False", "False"),
    ("Failed", "False", "False", "True"),
    ("Cancelled", "False", "False", "True"),
])
def test_ready_reconciling_stalled_follow_the_phase(phase, ready, reconciling, stalled):
    assert conditions(WorkflowRunStatus(phase=phase)) == {"Ready": ready, "Reconciling": reconciling, "Stalled": stalled}


def test_a_condition_keeps_its_transition_time_while_its_status_does_not_change():
    earlier = WorkflowRunStatus(phase="Running", conditions=build_run_conditions(
        WorkflowRunStatus(phase="Running"), 1, "2026-12-06T09:00:00Z"))
    again = {c.type: c.last_transition_time for c in build_run_conditions(earlier, 1, NOW)}
    assert again == {"Ready": "2026-12-06T09:00:00Z", "Reconciling": "2026-12-06T09:00:00Z",
                     "Stalled": "2026-12-06T09:00:00Z"}


def test_other_conditions_are_kept():
    status = WorkflowRunStatus(phase="Succeeded", conditions=[Condition(type="Notified", status="True")])
    assert "Notified" in conditions(status)


@pytest.mark.parametrize("errors, delivered, state, message", [
    ([], 2, "True", "2 notification(s) delivered"),
    (["notification 0: HTTP 500 after 4 attempt(s)"], 1, "False", "notification 0: HTTP 500 after 4 attempt(s)"),
])
def test_notified_records_the_outcome_once(errors, delivered, state, message):
    status = WorkflowRunStatus(phase="Succeeded")
    assert not is_notified(status)
    notified = with_notified(status, errors, delivered, NOW)
    (condition,) = [c for c in notified.conditions or [] if c.type == "Notified"]
    assert (condition.status, condition.message) == (state, message)
    assert is_notified(notified)
    twice = with_notified(notified, errors, delivered, NOW)
    assert [c.type for c in twice.conditions or []].count("Notified") == 1


def test_an_invalid_run_fails_at_once_with_valid_false_and_one_warning_event():
    plan = plan_invalid_run(WorkflowRunStatus(), "spec.tasks[0].dependsOn: unknown task 'ghost'",
                            datetime(2026, 12, 6, 10, tzinfo=UTC), 4)
    status = plan.status
    assert status.phase == "Failed"
    assert status.message == "invalid workflow: spec.tasks[0].dependsOn: unknown task 'ghost'"
    assert status.started_at == status.finished_at == NOW
    assert {c.type: c.status for c in status.conditions or []} == {
        "Valid": "False", "Ready": "False", "Reconciling": "False", "Stalled": "True"}
    assert [(t.reason, t.type.value) for t in plan.transitions] == [("InvalidSpec", "Warning")]
    assert plan.create == [] and plan.stop == []
