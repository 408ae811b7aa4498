"""Triggers and depends-on-past on a real API server: chains, joins, exactly once across operator kills."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from .kube import GROUP, VERSION
from .kube import container_task as task
from .operator_process import OperatorProcess, operator_env
from .test_schedules import runs_of, stamp, workflow_events

TASK_RESOURCE = "Job"  # these tests look at the runs' Jobs (the default, Pod, elsewhere: test_pod_mode.py)

DAY = "2026-11-24T00:00:00Z"
DAY2 = "2026-11-25T00:00:00Z"


def get_workflow(kube, name: str) -> dict:
    return kube.custom.get_namespaced_custom_object(GROUP, VERSION, kube.ns, "workflows", name)


def one_run_of(kube, name: str, timeout: float = 60) -> dict:
    return kube.wait_for(f"a run of {name}", lambda: runs_of(kube, name), timeout=timeout)[0]


def pretend_finished(kube, run: str, phase: str = "Succeeded") -> None:
    """The status the operator writes when a run ends, written while the operator is down."""
    now = stamp(datetime.now(UTC))
    kube.custom.patch_namespaced_custom_object_status(GROUP, VERSION, kube.ns, "workflowruns", run, {"status": {
        "phase": phase, "startedAt": now, "finishedAt": now, "progress": "1/1",
        "tasks": {"load": {"phase": phase, "attempts": 1, "finishedAt": now,
                           "outputs": {"rows": "7"} if phase == "Succeeded" else None}}}})


def test_a_chain_of_three_workflows_runs_end_to_end_once_each_with_date_and_params(kube, operator):
    load = task("load", annotations={"sim.dagwright.io/termination-message": '{"rows": "42"}'}, publishOutputs=True)
    kube.apply_workflow("chain-a", {"tasks": [load]})
    kube.apply_workflow("chain-b", {
        "triggers": {"workflows": [{"name": "chain-a"}],
                     "params": [{"name": "rows", "fromOutput": {"workflow": "chain-a", "task": "load", "key": "rows"}}]},
        "params": [{"name": "rows", "default": "0"}],
        "tasks": [{"name": "transform", "container": {"image": "busybox:1.36", "command": ["true"],
                                                       "env": [{"name": "ROWS", "value": "{{ params.rows }}"}]}}]})
    kube.apply_workflow("chain-c", {"triggers": {"workflows": [{"name": "chain-b", "when": "Finished"}]},
                                    "tasks": [task("publish")]})
    kube.wait_for("chain-c waits for chain-b", lambda: (get_workflow(kube, "chain-c").get("status") or {})
                  .get("triggers", {}).get("waitingFor") == "chain-b Finished")
    interval = {"start": "2026-11-23T00:00:00Z", "end": DAY}
    kube.create_run("chain-a-1", workflow="chain-a", logicalDate=DAY, dataInterval=interval)

    c_run = one_run_of(kube, "chain-c", timeout=90)
    assert kube.wait_for_phase(c_run["metadata"]["name"])["status"]["phase"] == "Succeeded"
    b_runs, c_runs = runs_of(kube, "chain-b"), runs_of(kube, "chain-c")
    assert len(b_runs) == 1 and len(c_runs) == 1
    b_run = b_runs[0]
    assert b_run["metadata"]["name"].startswith("chain-b-20261124t000000z-")
    assert b_run["spec"]["logicalDate"] == DAY and c_run["spec"]["logicalDate"] == DAY
    assert b_run["spec"]["dataInterval"] == interval
    assert b_run["spec"]["params"] == {"rows": "42"}
    assert b_run["metadata"]["annotations"]["dagwright.io/upstream-runs"] == "chain-a-1"
    assert b_run["metadata"]["annotations"]["dagwright.io/trigger"] == "workflow"
    assert b_run["metadata"]["ownerReferences"][0]["name"] == "chain-b"
    job = kube.jobs(b_run["metadata"]["name"])[0]
    env = {e.name: e.value for e in job.spec.template.spec.containers[0].env or []}
    assert env["ROWS"] == "42"
    assert any(e.reason == "Triggered" and "chain-a-1" in e.message for e in workflow_events(kube, "chain-b"))
    assert get_workflow(kube, "chain-c")["status"]["triggers"]["lastTriggeredRun"] == c_run["metadata"]["name"]
    operator.assert_alive()


def test_the_operator_killed_between_an_upstream_end_and_the_downstream_creation_makes_one_run(kube, operator):
    kube.apply_workflow("up", {"tasks": [task("load", publishOutputs=True)]})
    kube.apply_workflow("down", {"triggers": {"workflows": [{"name": "up"}]}, "tasks": [task("only")]})
    kube.wait_for("down's trigger status", lambda: (get_workflow(kube, "down").get("status") or {}).get("triggers"))
    operator.kill()
    # The upstream run ended and its status was written; then the operator died before creating the
    # downstream run (and before recording anything on `down`).
    kube.create_run("up-1", workflow="up", logicalDate=DAY)
    pretend_finished(kube, "up-1")
    operator.start()
    created = one_run_of(kube, "down")
    assert kube.wait_for_phase(created["metadata"]["name"])["status"]["phase"] == "Succeeded"
    recorded = kube.wait_for("the event recorded", lambda: (get_workflow(kube, "down")["status"]["triggers"]
                                                             .get("handled")))
    assert recorded == [created["metadata"]["name"]]

    # Killed again right after creating it, before recording it: the status is as it was before.
    operator.kill()
    before = get_workflow(kube, "down")["status"]["triggers"]
    kube.custom.patch_namespaced_custom_object_status(GROUP, VERSION, kube.ns, "workflows", "down", {"status": {
        "triggers": {"handled": None, "watermark": stamp(datetime.now(UTC) - timedelta(hours=1))}}})
    operator.start()
    kube.wait_for("the event recorded again", lambda: (get_workflow(kube, "down")["status"]["triggers"]
                                                       .get("handled")) == before["handled"])
    runs = runs_of(kube, "down")
    assert [r["metadata"]["name"] for r in runs] == [created["metadata"]["name"]]

    # And a third time, by a real kill -9 while the next upstream run ends: still one run per event.
    kube.create_run("up-2", workflow="up", logicalDate=DAY2)
    kube.wait_for("up-2 finished", lambda: (kube.run("up-2").get("status") or {}).get("phase") == "Succeeded")
    operator.kill()
    operator.start()
    second = kube.wait_for("a run for up-2", lambda: [r for r in runs_of(kube, "down")
                                                       if r["spec"]["logicalDate"] == DAY2])
    assert len(second) == 1
    kube.wait_for_phase(second[0]["metadata"]["name"])
    assert len(runs_of(kube, "down")) == 2
    assert len(kube.jobs(second[0]["metadata"]["name"])) == 1
    operator.assert_alive()


def test_a_join_waits_for_both_upstreams_for_the_same_day_and_says_which_it_waits_for(kube, operator):
    kube.apply_workflow("orders", {"tasks": [task("load")]})
    kube.apply_workflow("accounts", {"tasks": [task("load")]})
    kube.apply_workflow("report", {"triggers": {"workflows": [{"name": "orders"}, {"name": "accounts"}]},
                                   "tasks": [task("only")]})
    kube.create_run("orders-1", workflow="orders", logicalDate=DAY)
    kube.wait_for_phase("orders-1")
    kube.wait_for("waiting for accounts", lambda: (get_workflow(kube, "report").get("status") or {})
                  .get("triggers", {}).get("waitingFor") == f"accounts for {DAY}")
    kube.create_run("accounts-2", workflow="accounts", logicalDate=DAY2)  # another day: no join
    kube.wait_for_phase("accounts-2")
    kube.wait_for("the newest partial day shown", lambda: (get_workflow(kube, "report").get("status") or {})
                  .get("triggers", {}).get("waitingFor") == f"orders for {DAY2}")
    assert runs_of(kube, "report") == []
    kube.create_run("accounts-1", workflow="accounts", logicalDate=DAY)
    run = one_run_of(kube, "report")
    assert run["spec"]["logicalDate"] == DAY
    assert run["metadata"]["annotations"]["dagwright.io/upstream-runs"] == "orders-1,accounts-1"
    kube.wait_for_phase(run["metadata"]["name"])
    assert len(runs_of(kube, "report")) == 1


def test_forbid_skips_an_event_while_a_triggered_run_is_active(kube, operator):
    kube.apply_workflow("src", {"tasks": [task("load")]})
    kube.apply_workflow("slow", {"triggers": {"workflows": [{"name": "src"}]}, "concurrencyPolicy": "Forbid",
                                 "tasks": [task("only", annotations={"sim.dagwright.io/duration": "300s"})]})
    kube.create_run("src-1", workflow="src", logicalDate=DAY)
    first = one_run_of(kube, "slow")
    kube.wait_for("running", lambda: (kube.run(first["metadata"]["name"]).get("status") or {}).get("phase")
                  == "Running")
    kube.create_run("src-2", workflow="src", logicalDate=DAY2)
    kube.wait_for("skipped", lambda: [e for e in workflow_events(kube, "slow") if e.reason == "TriggerSkipped"])
    assert len(runs_of(kube, "slow")) == 1
    kube.patch_run(first["metadata"]["name"], {"spec": {"cancel": True}})


def test_depends_on_past_blocks_the_next_day_until_the_failed_day_succeeds(kube, operator):
    code = {"sim.dagwright.io/exit-code": "{{ params.code }}"}
    kube.apply_workflow("daily", {"params": [{"name": "code", "default": "0"}],
                                  "tasks": [task("load", annotations=code, dependsOnPast=True), task("other")]})
    kube.create_run("daily-1", workflow="daily", logicalDate=DAY, params={"code": "3"})
    assert kube.wait_for_phase("daily-1")["status"]["phase"] == "Failed"
    kube.create_run("daily-2", workflow="daily", logicalDate=DAY2)
    message = kube.wait_for("load waits", lambda: (((kube.run("daily-2").get("status") or {}).get("tasks") or {})
                                                   .get("load") or {}).get("message"))
    assert "in run daily-1 " in message and "it is Failed" in message
    kube.wait_for("other ran", lambda: kube.task_phases(kube.run("daily-2")).get("other") == "Succeeded")
    assert kube.task_phases(kube.run("daily-2"))["load"] == "Pending"
    assert kube.attempt_keys("daily-2") == [("other", 1)]
    # The failed day is run again, and succeeds: the next day goes on.
    kube.create_run("daily-1-again", workflow="daily", logicalDate=DAY, params={"code": "0"})
    assert kube.wait_for_phase("daily-2", timeout=90)["status"]["phase"] == "Succeeded"
    assert kube.attempt_keys("daily-2") == [("load", 1), ("other", 1)]


def test_two_operators_at_once_start_one_downstream_run_per_upstream_run(kube, operator, kubeconfig, kube_env,
                                                                        tmp_path):
    second = OperatorProcess(kubeconfig, [kube.ns], tmp_path / "second.log", operator_env(kube_env))
    second.start()
    try:
        kube.apply_workflow("up", {"tasks": [task("load")]})
        kube.apply_workflow("down", {"triggers": {"workflows": [{"name": "up"}]}, "tasks": [task("only")]})
        days = [f"2026-11-{day}T00:00:00Z" for day in (21, 22, 23, 24)]
        for i, day in enumerate(days):
            kube.create_run(f"up-{i}", workflow="up", logicalDate=day)
        runs = kube.wait_for("a downstream run per upstream run", lambda: (r := runs_of(kube, "down"))
                             and len(r) >= len(days) and r, timeout=90)
        for run in runs:
            kube.wait_for_phase(run["metadata"]["name"])
        time.sleep(2)  # both operators had their say
        runs = runs_of(kube, "down")
        assert [r["spec"]["logicalDate"] for r in runs] == days
        assert sorted(r["metadata"]["annotations"]["dagwright.io/upstream-runs"] for r in runs) == [
            f"up-{i}" for i in range(len(days))]
        for run in runs:
            assert len(kube.jobs(run["metadata"]["name"])) == 1
        operator.assert_alive()
        second.assert_alive()
    finally:
        second.stop()
