"""Data quality checks: a failed Blocking check skips what follows, naming it; a Warning one warns."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dagwright.api.checks import CheckSeverity, CheckSpec
from dagwright.api.models import RunPhase, TaskPhase, WorkflowRunStatus
from dagwright.planner.checks import CHECK_FAILED, CHECK_WARNING, WARNING_CONDITION, judge_check
from dagwright.planner.notifications import build_payload
from dagwright.planner.run import plan_run
from dagwright.planner.snapshot import JobState, ObservedJob, RunSnapshot

from .sim import spec_of

NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)


@pytest.mark.parametrize(("outputs", "passed", "rows"), [
    pytest.param(None, True, None, id="no outputs: the check passed"),
    pytest.param({"passed": "true", "rows": "10"}, True, 10, id="passed true with rows"),
    pytest.param({"passed": "false", "rows": "3", "message": "3 null ids"}, False, 3, id="passed false"),
    pytest.param({"passed": "0"}, False, None, id="0 is false"),
    pytest.param({"passed": "yes", "rows": "many"}, True, None, id="rows that are no number are left out"),
])
def test_a_checks_outputs_are_its_verdict(outputs, passed, rows):
    result = judge_check(CheckSpec(), outputs)
    assert (result.passed, result.rows) == (passed, rows)


def spec(severity: CheckSeverity):
    return spec_of([
        {"name": "build"},
        {"name": "gate", "dependsOn": ["build"], "check": {"severity": severity.value, "asset": "lake.gold.orders"}},
        {"name": "reverse-etl", "dependsOn": ["gate"]},
        {"name": "notify", "dependsOn": ["reverse-etl"]},
        {"name": "cleanup", "dependsOn": ["gate"], "triggerRule": "AllDone"},
    ])


def job(task: str, outputs: dict[str, str] | None = None) -> ObservedJob:
    return ObservedJob(name=f"{task}-1", task=task, attempt=1, state=JobState.SUCCEEDED, started_at=NOW,
                       finished_at=NOW, outputs=tuple(outputs.items()) if outputs else None)


def run_to_end(severity: CheckSeverity, verdict: dict[str, str]) -> tuple[WorkflowRunStatus, list]:
    """Plan pass after pass, every created Job succeeding, the gate with `verdict`."""
    status, jobs, transitions = WorkflowRunStatus(), {}, []
    for _ in range(10):
        plan = plan_run(RunSnapshot(run_name="r", spec=spec(severity), status=status, jobs=jobs, now=NOW))
        transitions += plan.transitions
        status = plan.status
        for created in plan.create:
            jobs[created.task] = [job(created.task, verdict if created.task == "gate" else None)]
        if status.phase in (RunPhase.SUCCEEDED, RunPhase.FAILED):
            break
    return status, transitions


FAILING = {"passed": "false", "rows": "3", "message": "3 orders without a customer"}


def test_a_failed_blocking_check_skips_every_task_after_it_naming_the_check_and_its_message():
    status, transitions = run_to_end(CheckSeverity.BLOCKING, FAILING)
    tasks = status.tasks or {}
    assert tasks["gate"].phase == TaskPhase.FAILED and tasks["gate"].attempts == 1
    for name in ("reverse-etl", "notify"):
        assert tasks[name].phase == TaskPhase.SKIPPED
        assert tasks[name].message == ("blocked by check gate on lake.gold.orders: "
                                       "3 orders without a customer (3 rows)")
    assert tasks["cleanup"].phase == TaskPhase.SUCCEEDED  # AllDone still runs
    assert status.phase == RunPhase.FAILED
    result = (status.checks or {})["gate"]
    assert (result.passed, result.rows, result.asset) == (False, 3, "lake.gold.orders")
    assert [t.reason for t in transitions].count(CHECK_FAILED) == 1
    assert not any(c.type == WARNING_CONDITION for c in status.conditions or [])


def test_a_failed_warning_check_lets_its_dependents_run_and_warns_once():
    status, transitions = run_to_end(CheckSeverity.WARNING, FAILING)
    tasks = status.tasks or {}
    assert tasks["gate"].phase == TaskPhase.SUCCEEDED
    assert tasks["gate"].message.startswith("check failed (Warning): 3 orders")
    assert tasks["reverse-etl"].phase == TaskPhase.SUCCEEDED
    assert status.phase == RunPhase.SUCCEEDED
    (warning,) = [c for c in status.conditions or [] if c.type == WARNING_CONDITION]
    assert warning.status == "True" and "check gate failed" in warning.message
    assert [t.reason for t in transitions].count(CHECK_WARNING) == 1


def test_a_passing_check_is_recorded_and_changes_nothing():
    status, transitions = run_to_end(CheckSeverity.BLOCKING, {"passed": "true", "rows": "1000"})
    assert status.phase == RunPhase.SUCCEEDED
    assert (status.checks or {})["gate"].passed is True
    assert not {CHECK_FAILED, CHECK_WARNING} & {t.reason for t in transitions}


def test_the_notification_payload_carries_the_check_results():
    status, _ = run_to_end(CheckSeverity.BLOCKING, FAILING)
    run = {"metadata": {"name": "r", "namespace": "data"}, "spec": {}}
    payload = build_payload(run, "wf", status)
    assert payload["checks"]["gate"] == {"passed": False, "severity": "Blocking", "asset": "lake.gold.orders",
                                         "rows": 3, "message": "3 orders without a customer"}
    assert "failed checks: gate" in payload["text"]


def test_the_dbt_kinds_test_summary_is_a_verdict_too():
    summary = {"exitCode": "1", "total": "12", "passed": "11", "failed": "1", "error": "0",
               "failures": "test.lakehouse.gold_totals_match"}
    result = judge_check(CheckSpec(), summary)
    assert (result.passed, result.rows) == (False, 1)
    assert result.message == "1 of 12 dbt tests failed: test.lakehouse.gold_totals_match"
    assert judge_check(CheckSpec(), {**summary, "exitCode": "0", "failed": "0", "passed": "12"}).passed

