"""Data assets on a real API server: materializations on DataAssets, a workflow waiting for two assets."""

from __future__ import annotations

import time

from .kube import GROUP, VERSION
from .kube import container_task as task
from .test_schedules import runs_of

DAY = "2026-11-24T00:00:00Z"
PASSING = '{"passed": true, "rows": 1000}'
FAILING = '{"passed": false, "rows": 3, "message": "3 null ids"}'


def data_asset(kube, name: str) -> dict:
    return kube.custom.get_namespaced_custom_object(GROUP, VERSION, kube.ns, "dataassets", name)


def producer(asset: str, verdict: str | None = None) -> dict:
    tasks = [task("write", produces=[{"name": asset, "partition": "Daily"}])]
    if verdict is not None:
        tasks.append(task("check", ["write"], annotations={"sim.dagwright.io/termination-message": verdict},
                          check={"asset": asset}))
    return {"tasks": tasks}


def test_an_asset_triggered_workflow_waits_for_both_assets_of_the_day_and_runs_once(kube, operator):
    kube.apply_workflow("orders", producer("lake.silver.orders", PASSING))
    kube.apply_workflow("accounts", producer("crm.accounts"))
    kube.apply_workflow("segments", {"triggers": {"assets": [{"name": "lake.silver.orders"}, {"name": "crm.accounts"}]},
                                     "tasks": [task("build")]})
    kube.create_run("orders-1", workflow="orders", logicalDate=DAY)
    assert kube.wait_for_phase("orders-1")["status"]["phase"] == "Succeeded"
    asset = kube.wait_for("the materialization judged", lambda: (a := data_asset(kube, "lake.silver.orders"))
                          .get("status", {}).get("checks") == "Passed" and a)
    status = asset["status"]
    assert (status["lastRun"], status["lastTask"], status["count"], status["lastLogicalDate"]) == (
        "orders-1", "write", 1, DAY)
    assert status["materializations"][0]["partition"] == "2026-11-24"
    kube.wait_for("segments waits for crm.accounts", lambda: (kube.custom.get_namespaced_custom_object(
        GROUP, VERSION, kube.ns, "workflows", "segments").get("status") or {}).get("triggers", {}).get("waitingFor")
        == "asset:crm.accounts for 2026-11-24T00:00:00Z")
    assert runs_of(kube, "segments") == []

    kube.create_run("accounts-1", workflow="accounts", logicalDate="2026-11-24T06:00:00Z")  # same day
    run = kube.wait_for("a run of segments", lambda: runs_of(kube, "segments"))[0]
    assert run["spec"]["logicalDate"] == DAY
    assert kube.wait_for_phase(run["metadata"]["name"])["status"]["phase"] == "Succeeded"
    assert data_asset(kube, "crm.accounts")["status"]["count"] == 1
    assert len(runs_of(kube, "segments")) == 1


def test_a_materialization_that_failed_its_blocking_check_is_marked_and_triggers_nothing(kube, operator):
    kube.apply_workflow("orders", producer("lake.silver.orders", FAILING))
    kube.apply_workflow("report", {"triggers": {"assets": [{"name": "lake.silver.orders"}]}, "tasks": [task("r")]})
    kube.create_run("orders-bad", workflow="orders", logicalDate=DAY)
    assert kube.wait_for_phase("orders-bad")["status"]["phase"] == "Failed"
    status = kube.wait_for("marked failed", lambda: (s := data_asset(kube, "lake.silver.orders").get("status", {}))
                           .get("checks") == "Failed" and s)
    assert status["materializations"][0]["checkMessage"] == "3 null ids"
    kube.wait_for("report looked", lambda: (kube.custom.get_namespaced_custom_object(
        GROUP, VERSION, kube.ns, "workflows", "report").get("status") or {}).get("triggers"))
    time.sleep(2)  # the asset's update wakes `report` (controller/workflows.py:asset_changed)
    assert runs_of(kube, "report") == []
