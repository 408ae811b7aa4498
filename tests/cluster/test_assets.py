"""Data assets on a real API server: materializations on DataAssets, a workflow waiting for two assets."""

from __future__ import annotations

import re
import time

from .kube import GROUP, VERSION
from .kube import container_task as task
from .test_kubectl import kubectl
from .test_schedules import runs_of

DAY = "2026-11-24T00:00:00Z"
PASSING = '{"passed": true, "rows": 1000}'
FAILING = '{"passed": false, "rows": 3, "message": "3 null ids"}'


def table(text: str) -> list[dict[str, str]]:
    """kubectl's table by column name; names may hold one space (LAST RUN), columns are 2+ apart."""
    header, *lines = text.rstrip("\n").splitlines()
    starts = [0] + [m.end() for m in re.finditer(r" {2,}", header)]
    names = [header[a:b].strip() for a, b in zip(starts, [*starts[1:], None], strict=True)]
    return [{name: line[a:b].strip() for name, a, b in zip(names, starts, [*starts[1:], None], strict=True)}
            for line in lines]


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


def test_kubectl_shows_what_a_workflow_waits_for_and_each_assets_last_materialization(kube, operator, kube_env):
    kube.apply_workflow("orders", producer("lake.silver.orders"))
    kube.apply_workflow("segments", {"triggers": {"workflows": [{"name": "orders"}], "assets": [{"name": "crm.accounts"}]},
                                     "tasks": [task("build")]})
    kube.create_run("orders-1", workflow="orders", logicalDate=DAY)
    kube.wait_for_phase("orders-1")
    rows = kube.wait_for("WAITING FOR", lambda: [r for r in table(kubectl(kube_env, kube.ns, "get", "workflows"))
                                                 if r["NAME"] == "segments" and r["WAITING FOR"].startswith("asset:")])
    assert rows[0]["WAITING FOR"] == "asset:crm.accounts for 2026-11-24T00:00:00Z"
    (asset,) = kube.wait_for("a DataAsset", lambda: table(kubectl(kube_env, kube.ns, "get", "dataassets")))
    assert list(asset) == ["NAME", "ASSET", "LAST UPDATED", "RUN", "TASK", "LOGICAL DATE", "COUNT", "CHECKS", "AGE"]
    assert (asset["NAME"], asset["RUN"], asset["TASK"], asset["LOGICAL DATE"], asset["COUNT"]) == (
        "lake.silver.orders", "orders-1", "write", DAY, "1")
