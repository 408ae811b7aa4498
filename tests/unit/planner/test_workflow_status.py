"""A Workflow's status: its runs summed up, `Valid`/`Stalled`, and an Event only when invalidity is news."""

from __future__ import annotations

from datetime import UTC, datetime

from dagwright.api.models import Condition, WorkflowStatus
from dagwright.planner.workflow_status import RunSummary, assess_validity, summarize_runs

NOW = datetime(2026, 12, 6, 10, tzinfo=UTC)
EARLIER = "2026-12-06T09:00:00Z"


def test_the_latest_run_by_logical_date_and_the_active_runs():
    runs = [RunSummary("etl-2", "2026-12-02T00:00:00Z", "Running"),
            RunSummary("etl-1", "2026-12-01T00:00:00Z", "Succeeded"),
            RunSummary("etl-3", "2026-12-03T00:00:00Z", None)]
    status = summarize_runs(WorkflowStatus(), runs, 7)
    assert (status.last_run, status.last_run_phase) == ("etl-3", None)
    assert status.active_runs == ["etl-2", "etl-3"]
    assert status.active_run_count == 2
    assert status.observed_generation == 7


def test_the_active_list_is_capped_and_the_count_is_not():
    runs = [RunSummary(f"r-{i:03d}", f"2026-12-01T00:{i // 60:02d}:{i % 60:02d}Z", "Running") for i in range(50)]
    status = summarize_runs(WorkflowStatus(), runs, 1)
    assert status.active_runs == [f"r-{i:03d}" for i in range(10)]
    assert status.active_run_count == 50


def test_no_runs_no_active_list():
    status = summarize_runs(WorkflowStatus(), [], 1)
    assert status.active_runs is None and status.active_run_count is None


def test_a_valid_workflow_gets_valid_true_and_no_event():
    conditions, events = assess_validity([], [], NOW, 2)
    assert [(c.type, c.status, c.message) for c in conditions] == [("Valid", "True", "the workflow is valid")]
    assert events == []


def test_an_invalid_workflow_is_stalled_and_told_once_per_problem():
    conditions, events = assess_validity([], ["spec.schedule: bad cron"], NOW, 2)
    assert {c.type: c.status for c in conditions} == {"Valid": "False", "Stalled": "True"}
    assert [(e.reason, e.message, e.type.value) for e in events] == [("InvalidSpec", "spec.schedule: bad cron", "Warning")]
    again, events = assess_validity(conditions, ["spec.schedule: bad cron"], NOW, 2)
    assert events == []
    _, events = assess_validity(again, ["spec.timezone: unknown"], NOW, 3)
    assert [e.message for e in events] == ["spec.timezone: unknown"]


def test_a_condition_keeps_its_transition_time_while_its_status_holds():
    previous = [Condition(type="Valid", status="True", last_transition_time=EARLIER)]
    (valid,), _ = assess_validity(previous, [], NOW, 2)
    assert valid.last_transition_time == EARLIER
