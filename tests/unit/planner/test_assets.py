"""Data assets: materializations from a run, recorded idempotently and bounded; the asset graph."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dagwright.api.assets import MAX_MATERIALIZATIONS, CheckState, DataAssetStatus, Materialization
from dagwright.api.checks import CheckResult, CheckSeverity
from dagwright.api.models import TaskPhase, TaskStatus, WorkflowRunStatus
from dagwright.planner.assets import (
    asset_graph,
    asset_object_name,
    materializations_of,
    partition_key,
    record_materialization,
)

from .sim import spec_of

DAY = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(("asset", "name"), [
    ("lake.bronze.orders", "lake.bronze.orders"),
    ("crm.accounts", "crm.accounts"),
])
def test_an_asset_that_is_a_dns_name_is_its_own_object_name(asset, name):
    assert asset_object_name(asset) == name


def test_other_asset_names_are_cleaned_and_hashed_so_they_stay_apart():
    one, other = asset_object_name("lake.gold.customer_segments"), asset_object_name("lake.gold.customer-segments")
    assert one != other and one.startswith("lake.gold.customer-segments-") and len(one) <= 63
    assert len(asset_object_name("x" * 200)) <= 63


@pytest.mark.parametrize(("partitioning", "key"), [(None, None), ("Daily", "2026-11-24"), ("Hourly", "2026-11-24T02")])
def test_a_partition_is_named_by_the_logical_date(partitioning, key):
    assert partition_key(partitioning, DAY) == key


def spec():
    return spec_of([
        {"name": "silver", "produces": [{"name": "lake.silver.orders", "partition": "Daily"}],
         "consumes": [{"name": "lake.bronze.orders"}]},
        {"name": "gate", "dependsOn": ["silver"], "check": {"asset": "lake.silver.orders"}},
        {"name": "other"},
    ])


def status(silver: str, checks: dict[str, CheckResult] | None = None) -> WorkflowRunStatus:
    return WorkflowRunStatus(tasks={"silver": TaskStatus(phase=silver, attempts=1, finished_at="2026-11-24T02:05:00Z")},
                             checks=checks)


def test_a_succeeded_producer_makes_a_materialization_pending_its_checks():
    ((asset, m),) = materializations_of(spec(), status(TaskPhase.SUCCEEDED), "r1", "wf", DAY)
    assert asset == "lake.silver.orders"
    assert (m.run, m.task, m.partition, m.logical_date, m.at) == (
        "r1", "silver", "2026-11-24", "2026-11-24T02:00:00Z", "2026-11-24T02:05:00Z")
    assert m.checks == CheckState.PENDING


@pytest.mark.parametrize(("result", "state"), [
    (CheckResult(passed=True, severity=CheckSeverity.BLOCKING, asset="lake.silver.orders"), CheckState.PASSED),
    (CheckResult(passed=False, severity=CheckSeverity.BLOCKING, asset="lake.silver.orders", message="bad"),
     CheckState.FAILED),
    (CheckResult(passed=False, severity=CheckSeverity.WARNING, asset="lake.silver.orders"), CheckState.WARNED),
])
def test_the_checks_on_the_asset_judge_its_materialization(result, state):
    ((_asset, m),) = materializations_of(spec(), status(TaskPhase.SUCCEEDED, {"gate": result}), "r1", "wf", DAY)
    assert m.checks == state


def test_a_producer_that_did_not_succeed_materializes_nothing():
    assert materializations_of(spec(), status(TaskPhase.FAILED), "r1", "wf", DAY) == []


def m(run: str, at: str, checks: CheckState | None = None) -> Materialization:
    return Materialization(run=run, task="t", at=at, checks=checks)


def test_recording_is_idempotent_and_counts_each_materialization_once():
    first = record_materialization(DataAssetStatus(), m("r1", "2026-11-24T02:00:00Z"))
    assert first is not None and first.count == 1 and first.last_run == "r1"
    assert record_materialization(first, m("r1", "2026-11-24T02:00:00Z")) is None  # replayed
    second = record_materialization(first, m("r2", "2026-11-25T02:00:00Z"))
    assert second is not None and second.count == 2 and second.last_run == "r2"


def test_a_later_check_verdict_updates_the_materialization_without_counting_it_again():
    first = record_materialization(DataAssetStatus(), m("r1", "2026-11-24T02:00:00Z", CheckState.PENDING))
    judged = record_materialization(first, m("r1", "2026-11-24T02:00:00Z", CheckState.FAILED))
    assert judged is not None and judged.count == 1 and judged.checks == CheckState.FAILED


def test_the_status_lists_a_bounded_number_of_materializations_and_counts_all():
    status = DataAssetStatus()
    for i in range(MAX_MATERIALIZATIONS + 5):
        status = record_materialization(status, m(f"r{i:03}", f"2026-11-24T02:{i:02}:00Z")) or status
    assert status.count == MAX_MATERIALIZATIONS + 5
    assert len(status.materializations or []) == MAX_MATERIALIZATIONS
    assert (status.materializations or [])[0].run == f"r{MAX_MATERIALIZATIONS + 4:03}"


def test_the_asset_graph_says_who_produces_what_from_what():
    report = spec_of([{"name": "r"}], triggers={"assets": [{"name": "lake.silver.orders"}]})
    graph = asset_graph({"silver-wf": spec(), "report": report})
    assert graph.producers == {"lake.silver.orders": ["silver-wf/silver"]}
    assert graph.consumers == {"lake.bronze.orders": ["silver-wf/silver"]}
    assert graph.checks == {"lake.silver.orders": ["silver-wf/gate (Blocking)"]}
    assert graph.triggers == {"lake.silver.orders": ["report"]}
    assert graph.assets == ["lake.bronze.orders", "lake.silver.orders"]
