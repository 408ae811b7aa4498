"""`taskResource: Pod` against a real API server (kwok plays the pods): Pods, no Jobs, same outcomes."""

from __future__ import annotations

from .kube import container_task as task


def finished_at(pod):
    return pod.status.container_statuses[0].state.terminated.finished_at


def test_a_chain_in_pod_mode_runs_one_pod_per_task_in_order_and_no_job(kube, operator):
    tasks = [task("t0"), task("t1", ["t0"]), task("t2", ["t1"])]
    kube.apply_workflow("podchain", {"taskResource": "Pod", "tasks": tasks})
    kube.create_run("podchain-1", workflow="podchain")
    run = kube.wait_for_phase("podchain-1")
    assert run["status"]["phase"] == "Succeeded" and run["status"]["progress"] == "3/3"
    assert kube.jobs("podchain-1") == []
    pods = {p.metadata.labels["dagwright.io/task"]: p for p in kube.task_pods("podchain-1")}
    assert sorted(pods) == ["t0", "t1", "t2"]
    assert all(p.status.phase == "Succeeded" for p in pods.values())
    assert pods["t1"].metadata.owner_references[0].kind == "WorkflowRun"
    assert pods["t1"].metadata.owner_references[0].name == "podchain-1"
    assert pods["t1"].spec.restart_policy == "Never"
    assert finished_at(pods["t0"]) <= pods["t1"].metadata.creation_timestamp
    assert finished_at(pods["t1"]) <= pods["t2"].metadata.creation_timestamp
    assert run["status"]["tasks"]["t2"]["job"] == pods["t2"].metadata.name
    reasons = kube.wait_for("run events", lambda: (r := kube.event_reasons("podchain-1")) and "RunSucceeded" in r and r)
    assert reasons.count("RunSucceeded") == 1
    assert all(f"t{i}" in kube.told_progress("podchain-1") for i in range(3)), kube.told_progress("podchain-1")


def test_a_failing_task_in_pod_mode_is_retried_as_a_second_pod_and_succeeds(kube, operator):
    flaky = task("flaky", annotations={"sim.dagwright.io/fail-first-attempt": "true", "sim.dagwright.io/exit-code": "4"},
                 retries={"limit": 2, "backoffSeconds": 1})
    kube.create_run("podflaky", spec={"taskResource": "Pod", "tasks": [flaky, task("after", ["flaky"])]})
    run = kube.wait_for_phase("podflaky")
    assert run["status"]["phase"] == "Succeeded"
    assert run["status"]["tasks"]["flaky"]["attempts"] == 2
    pods = kube.task_pods("podflaky")
    assert [(p.metadata.labels["dagwright.io/task"], p.metadata.labels["dagwright.io/attempt"], p.status.phase)
            for p in pods] == [("after", "1", "Succeeded"), ("flaky", "1", "Failed"), ("flaky", "2", "Succeeded")]
    assert pods[1].status.container_statuses[0].state.terminated.exit_code == 4
    assert kube.jobs("podflaky") == []
    assert "TaskRetrying" in kube.event_reasons("podflaky")


def test_cancelling_a_pod_mode_run_deletes_its_running_pod(kube, operator):
    spec = {"taskResource": "Pod", "tasks": [task("long", annotations={"sim.dagwright.io/duration": "60s"}),
                                             task("next", ["long"])]}
    kube.create_run("podcancel", spec=spec)
    kube.wait_for("long to run", lambda: kube.task_phases(kube.run("podcancel")).get("long") == "Running")
    kube.patch_run("podcancel", {"spec": {"cancel": True}})
    run = kube.wait_for_phase("podcancel")
    assert run["status"]["phase"] == "Cancelled"
    kube.wait_for("the pod deleted", lambda: not kube.task_pods("podcancel"), timeout=60)
