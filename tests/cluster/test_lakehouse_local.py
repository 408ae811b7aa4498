"""The runnable lakehouse (examples/lakehouse-local) moving real data on the real node.

The services hack/cluster-up.sh starts (PostgreSQL, dw-s3, the notification receiver) hold the
data; the test gives the run its own Iceberg catalog database, CRM database and warehouse folder
(so `make demo` or another run on the same cluster changes nothing here) and checks the data
where a user looks: the CRM table in PostgreSQL, the Iceberg tables' snapshots and rows read back
with pyiceberg (a real Iceberg client, not Spark), the notification bodies the receiver got.

One test, three runs in order, as the days happen: a good day (Succeeded; the CRM equals Gold),
the same logical date again (Succeeded; the CRM is unchanged, not a row rewritten), a bad day
(the quality gate fails, the CRM sync is Skipped, the run Failed, the notification names the
failed check; the CRM still holds the good day). Each run starts five JVMs on a shared 2-core
machine: minutes, not seconds.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml

from .test_realnode import dagwright

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "lakehouse-local"
ENDPOINTS = REPO / ".cluster" / "services" / "endpoints.json"
RUN_TIMEOUT = 1200
GOOD, BAD = "2026-11-24", "2026-11-25"

pytestmark = pytest.mark.realnode


@pytest.fixture(scope="module")
def local():
    sys.path.insert(0, str(EXAMPLE))
    import local as module

    return module


def admin(local, ep: dict, statements: list[str]) -> None:
    """Statements outside a transaction (CREATE/DROP DATABASE); psycopg2's `with conn` would open one."""
    conn = local.connect(ep, "postgres")
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            for statement in statements:
                cur.execute(statement)
    finally:
        conn.close()


@pytest.fixture
def lake(kube, local):
    """The example applied to the test's namespace, with its own databases; their names' prefix."""
    assert ENDPOINTS.exists(), f"{ENDPOINTS} missing: the services start with hack/cluster-up.sh (DW_SERVICES=1)"
    ep = local.endpoints(ENDPOINTS)
    prefix = kube.ns.replace("-", "_")
    admin(local, ep, [f"CREATE DATABASE {db}" for db in local.databases(ep, prefix)])
    for doc in local.manifests(ep, prefix):
        if doc["kind"] == "Secret":
            kube.core.create_namespaced_secret(kube.ns, doc)
        else:
            kube.core.create_namespaced_config_map(kube.ns, doc)
    workflow = yaml.safe_load((EXAMPLE / "workflow.yaml").read_text())
    workflow["metadata"]["namespace"] = kube.ns
    kube.custom.create_namespaced_custom_object("dagwright.io", "v1alpha1", kube.ns, "workflows", workflow)
    yield ep, prefix
    admin(local, ep, [f"DROP DATABASE IF EXISTS {db} WITH (FORCE)" for db in local.databases(ep, prefix)])


def notifications(ep: dict, prefix: str, run: str) -> list[dict]:
    bodies = []
    for line in Path(ep["receiver"]["log"]).read_text().splitlines():
        path, _, body = line.partition(" ")
        if path == f"/{prefix}" and json.loads(body)["run"] == run:
            bodies.append(json.loads(body))
    return bodies


def outputs(kube, run: str, task: str) -> dict:
    """What a task wrote as its outputs: its pod's termination message (the run's status keeps
    outputs only of tasks that a later task reads)."""
    [pod] = kube.core.list_namespaced_pod(kube.ns, label_selector=f"dagwright.io/run={run},dagwright.io/task={task}").items
    [main] = [c for c in pod.status.container_statuses if c.name == "main"]
    return json.loads(main.state.terminated.message)


def run_day(kube, local, ep, name: str, day: str, quality: str) -> dict:
    local.land(ep, day, quality)
    kube.create_run(name, workflow="lakehouse-local", logicalDate=f"{day}T01:00:00Z")
    return kube.wait_for_phase(name, timeout=RUN_TIMEOUT)


def test_a_good_day_reaches_the_crm_a_rerun_changes_nothing_and_a_bad_day_stops_at_its_gate(
        kube, operator, kube_env, local, lake):
    ep, prefix = lake

    # --- the good day: every task Succeeded, the CRM equals Gold
    run = run_day(kube, local, ep, "good", GOOD, "good")
    assert run["status"]["phase"] == "Succeeded", run["status"]
    tasks = run["status"]["tasks"]
    assert tasks["validate-landing"]["outputs"] == {"files": "3", "rows": "600", "malformed": "0"}
    bronze_out = outputs(kube, "good", "bronze-ingest")
    assert bronze_out["rows"] == 600
    assert outputs(kube, "good", "quality-gate")["failed"] == 0
    layers = local.layers(ep, prefix)
    assert layers["bronze.orders"]["perDay"] == {GOOD: 600}
    bronze_snapshot = bronze_out["snapshot"]
    bronze = local.catalog(ep, prefix).load_table("bronze.orders")
    assert str(bronze.current_snapshot().snapshot_id) == bronze_snapshot
    silver_rows = layers["silver.orders"]["rows"]
    assert 560 < silver_rows < 600  # the day's bad rows and repeats are not in Silver
    gold = layers["gold.customer_value"]["table"].to_pylist()
    crm = local.crm_rows(ep, prefix)
    assert len(crm) == len(gold) > 0 and local.gold_equals_crm(gold, crm)
    assert {str(c[5]) for c in crm} == {GOOD}
    assert outputs(kube, "good", "reverse-etl") == {"customers": len(gold), "written": len(gold), "deleted": 0}
    [note] = notifications(ep, prefix, "good")
    assert note["phase"] == "Succeeded" and note["failedTasks"] == []
    logs = dagwright(kube_env, kube.ns, "logs", "good", "bronze-ingest")
    assert f"lake.bronze.orders: snapshot {bronze_snapshot}, 600 rows in all" in logs.stdout, logs.stdout[-2000:]

    # --- the same logical date again: the same data, the CRM table untouched (row versions too)
    run = run_day(kube, local, ep, "good-again", GOOD, "good")
    assert run["status"]["phase"] == "Succeeded", run["status"]
    assert outputs(kube, "good-again", "reverse-etl") == {"customers": len(gold), "written": 0, "deleted": 0}
    assert local.crm_rows(ep, prefix) == crm
    again = local.layers(ep, prefix)
    assert again["bronze.orders"]["perDay"] == {GOOD: 600}  # the day's partition replaced, not appended
    assert again["bronze.orders"]["snapshots"] == layers["bronze.orders"]["snapshots"] + 1
    assert again["silver.orders"]["rows"] == silver_rows

    # --- the bad day: the gate fails, the sync is Skipped, the CRM still holds the good day
    run = run_day(kube, local, ep, "bad", BAD, "bad")
    assert run["status"]["phase"] == "Failed", run["status"]
    tasks = run["status"]["tasks"]
    assert tasks["bronze-ingest"]["phase"] == "Succeeded" and tasks["gold"]["phase"] == "Succeeded"
    gate = tasks["quality-gate"]
    assert gate["phase"] == "Failed" and gate["attempts"] == 1
    assert "test.lakehouse.gate_rejected_share" in gate["message"], gate["message"]
    assert tasks["reverse-etl"]["phase"] == "Skipped"
    assert kube.attempt_keys("bad") == [(t, 1) for t in sorted(
        ["validate-landing", "bronze-ingest", "silver", "gold", "quality-gate"])]
    assert local.crm_rows(ep, prefix) == crm
    bad_layers = local.layers(ep, prefix)
    assert bad_layers["bronze.orders"]["perDay"] == {GOOD: 600, BAD: 600}
    [note] = notifications(ep, prefix, "bad")
    assert note["phase"] == "Failed" and note["failedTasks"] == ["quality-gate"]
    assert "gate_rejected_share" in note["failures"]["quality-gate"] and "gate_rejected_share" in note["text"]
