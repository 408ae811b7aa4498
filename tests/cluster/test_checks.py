"""Data quality checks on a real API server: a blocking check stops reverse ETL, a warning one does not."""

from __future__ import annotations

from .kube import container_task as task

FAILING = '{"passed": false, "rows": 3, "message": "3 orders without a customer"}'


def pipeline(severity: str) -> dict:
    gate = task("quality-gate", ["gold"], annotations={"sim.dagwright.io/termination-message": FAILING},
                check={"severity": severity, "asset": "lake.gold.orders"})
    return {"tasks": [task("gold"), gate, task("reverse-etl", ["quality-gate"]),
                      task("status-message", ["reverse-etl"], triggerRule="AllDone")]}


def test_a_failing_blocking_check_stops_reverse_etl_naming_the_check(kube, operator):
    kube.create_run("blocked", spec=pipeline("Blocking"))
    run = kube.wait_for_phase("blocked")
    assert run["status"]["phase"] == "Failed"
    tasks = run["status"]["tasks"]
    assert tasks["quality-gate"]["phase"] == "Failed"
    assert tasks["reverse-etl"]["phase"] == "Skipped"
    assert tasks["reverse-etl"]["message"] == \
        "blocked by check quality-gate on lake.gold.orders: 3 orders without a customer (3 rows)"
    assert tasks["status-message"]["phase"] == "Succeeded"
    assert run["status"]["checks"]["quality-gate"] == {
        "passed": False, "severity": "Blocking", "asset": "lake.gold.orders", "rows": 3,
        "message": "3 orders without a customer"}
    assert [key for key in kube.attempt_keys("blocked") if key[0] == "reverse-etl"] == []
    assert kube.attempt_keys("blocked").count(("quality-gate", 1)) == 1  # a verdict is not retried
    kube.wait_for("CheckFailed event", lambda: "CheckFailed" in kube.event_reasons("blocked"))


def test_a_failing_warning_check_lets_reverse_etl_run_and_warns(kube, operator):
    kube.create_run("warned", spec=pipeline("Warning"))
    run = kube.wait_for_phase("warned")
    assert run["status"]["phase"] == "Succeeded"
    assert run["status"]["tasks"]["reverse-etl"]["phase"] == "Succeeded"
    assert ("reverse-etl", 1) in kube.attempt_keys("warned")
    warning = [c for c in run["status"]["conditions"] if c["type"] == "Warning"]
    assert warning and warning[0]["status"] == "True" and "quality-gate" in warning[0]["message"]
    assert run["status"]["checks"]["quality-gate"]["passed"] is False
    kube.wait_for("CheckWarning event", lambda: "CheckWarning" in kube.event_reasons("warned"))
