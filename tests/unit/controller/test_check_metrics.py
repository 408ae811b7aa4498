"""The check-results metric counts each new verdict once."""

from __future__ import annotations

from dagwright.api.checks import CheckSeverity
from dagwright.api.models import WorkflowRunStatus
from dagwright.controller import metrics
from dagwright.planner.snapshot import RunPlan, RunSnapshot

from ..planner.test_checks import FAILING, NOW, run_to_end, spec


def test_each_new_check_verdict_is_counted_once_in_the_metrics():
    def count() -> float:
        return metrics.CHECK_RESULTS.labels("Blocking", "failed")._value.get()

    status, _ = run_to_end(CheckSeverity.BLOCKING, FAILING)
    before = count()
    snapshot = RunSnapshot(run_name="r", spec=spec(CheckSeverity.BLOCKING), status=WorkflowRunStatus(), jobs={},
                           now=NOW)
    metrics.record_plan(snapshot, RunPlan(status=status), NOW)
    assert count() == before + 1
    metrics.record_plan(RunSnapshot(run_name="r", spec=snapshot.spec, status=status, jobs={}, now=NOW),
                        RunPlan(status=status), NOW)  # the same verdict again: not counted
    assert count() == before + 1
