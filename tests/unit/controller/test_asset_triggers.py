"""Asset-triggered workflows: every listed asset updated for the same day, exactly once."""

from __future__ import annotations

from datetime import UTC, datetime

from dagwright.api.assets import CheckState, DataAssetStatus, Materialization
from dagwright.api.models import WorkflowSpec, WorkflowStatus
from dagwright.controller.store import RunStore
from dagwright.controller.triggering import build_trigger_snapshot
from dagwright.schedule.triggers import OwnRun, plan_triggers

NOW = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)
WORKFLOW = {"metadata": {"name": "report", "namespace": "data", "generation": 1,
                         "creationTimestamp": "2026-11-24T00:00:00Z"}}
SPEC = WorkflowSpec.model_validate({"triggers": {"assets": [{"name": "lake.silver.orders"}, {"name": "crm.accounts"}]},
                                    "tasks": [{"name": "t", "container": {"image": "busybox"}}]})


def asset(*items: tuple[str, str, str, CheckState | None]) -> DataAssetStatus:
    return DataAssetStatus(materializations=[
        Materialization(run=run, task="t", logical_date=logical, at=at, checks=checks)
        for run, logical, at, checks in items])


def plan(assets: dict[str, DataAssetStatus], own: tuple[OwnRun, ...] = ()):
    snapshot = build_trigger_snapshot(WORKFLOW, SPEC, WorkflowStatus(), RunStore(), [], NOW, assets)
    return plan_triggers(snapshot.__class__(**{**snapshot.__dict__, "own_runs": own}))


ORDERS = ("silver-1", "2026-11-24T02:00:00Z", "2026-11-24T02:10:00Z", None)
ACCOUNTS = ("crm-1", "2026-11-24T05:00:00Z", "2026-11-24T05:01:00Z", None)  # same day, another hour


def test_one_asset_updated_waits_for_the_other_and_says_so():
    result = plan({"lake.silver.orders": asset(ORDERS)})
    assert result.create == ()
    assert result.waiting_for == "asset:crm.accounts for 2026-11-24T00:00:00Z"


def test_both_assets_updated_for_the_same_day_start_one_run_for_that_day():
    result = plan({"lake.silver.orders": asset(ORDERS), "crm.accounts": asset(ACCOUNTS)})
    (run,) = result.create
    assert run.logical_date == datetime(2026, 11, 24, tzinfo=UTC)
    assert run.upstream_runs == ("silver-1/t", "crm-1/t")
    again = plan({"lake.silver.orders": asset(ORDERS), "crm.accounts": asset(ACCOUNTS)}, (OwnRun(run.name, True),))
    assert again.create == ()


def test_a_materialization_that_failed_or_awaits_its_checks_does_not_count():
    for checks in (CheckState.FAILED, CheckState.PENDING):
        orders = (*ORDERS[:3], checks)
        assert plan({"lake.silver.orders": asset(orders), "crm.accounts": asset(ACCOUNTS)}).create == ()
    passed = (*ORDERS[:3], CheckState.PASSED)
    assert len(plan({"lake.silver.orders": asset(passed), "crm.accounts": asset(ACCOUNTS)}).create) == 1
