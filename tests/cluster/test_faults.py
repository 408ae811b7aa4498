"""Faults: Jobs deleted under the operator, two operators at once, a full quota; no duplicate or lost task."""

from __future__ import annotations

from kubernetes import client

from dagwright.api.names import job_name

from .kube import container_task as task
from .operator_process import OperatorProcess, operator_env
from .test_schedules import pretend_last_fire, runs_of

TASK_RESOURCE = "Job"  # these tests look at the runs' Jobs (the default, Pod, elsewhere: test_pod_mode.py)


def test_a_job_deleted_under_a_running_task_is_a_failed_attempt_that_is_retried(kube, operator):
    slow = task("slow", annotations={"sim.dagwright.io/duration": "300s"}, retries={"limit": 1, "backoffSeconds": 0})
    kube.create_run("deleted", spec={"tasks": [slow]})
    kube.wait_for("attempt 1 running", lambda: kube.task_phases(kube.run("deleted")).get("slow") == "Running")
    kube.batch.delete_namespaced_job(job_name("deleted", "slow", 1), kube.ns, propagation_policy="Background")
    run = kube.wait_for("attempt 2", lambda: (r := kube.run("deleted"))["status"]["tasks"]["slow"]["attempts"] == 2 and r)
    assert "was deleted" in run["status"]["tasks"]["slow"]["message"]
    assert kube.attempt_keys("deleted") == [("slow", 2)]
    kube.patch_run("deleted", {"spec": {"cancel": True}})
    kube.wait_for_phase("deleted")


def test_two_operators_at_once_create_each_job_and_scheduled_run_once(kube, operator, kubeconfig, kube_env, tmp_path):
    second = OperatorProcess(kubeconfig, [kube.ns], tmp_path / "second.log", operator_env(kube_env))
    second.start()
    try:
        tasks = [task(f"t{i}", [f"t{i - 1}"] if i % 5 else None) for i in range(20)]
        kube.create_run("twins", spec={"tasks": tasks})
        kube.apply_workflow("sched", {"schedule": "* * * * *", "catchup": True, "tasks": [task("a")]})
        pretend_last_fire(kube, "sched", 3)
        assert kube.wait_for_phase("twins", timeout=90)["status"]["phase"] == "Succeeded"
        keys = kube.attempt_keys("twins")
        assert keys == sorted((f"t{i}", 1) for i in range(20))
        runs = kube.wait_for("3 scheduled runs", lambda: (r := runs_of(kube, "sched")) and len(r) >= 3 and r)
        names = [r["metadata"]["name"] for r in runs]
        assert len(names) == len(set(names))
        for run in runs:
            kube.wait_for_phase(run["metadata"]["name"])
            assert len(kube.jobs(run["metadata"]["name"])) == 1
        operator.assert_alive()
        second.assert_alive()
    finally:
        second.stop()


def test_a_run_deleted_mid_run_takes_its_jobs_with_it_and_others_go_on(kube, operator):
    slow = task("slow", annotations={"sim.dagwright.io/duration": "300s"})
    kube.create_run("doomed", spec={"tasks": [slow]})
    kube.wait_for("job exists", lambda: kube.jobs("doomed"))
    kube.custom.delete_namespaced_custom_object("dagwright.io", "v1alpha1", kube.ns, "workflowruns", "doomed",
                                                body=client.V1DeleteOptions(propagation_policy="Foreground"))
    kube.wait_for("jobs garbage-collected", lambda: not kube.jobs("doomed"), timeout=60)
    kube.create_run("survivor", spec={"tasks": [task("a")]})
    assert kube.wait_for_phase("survivor")["status"]["phase"] == "Succeeded"
    operator.assert_alive()


def full_job_quota(kube) -> None:
    """A ResourceQuota of one Job, with the usage the quota controller would record (it does not run
    in the local control plane): the API server's quota admission then admits one Job and refuses the next."""
    quota = client.V1ResourceQuota(metadata=client.V1ObjectMeta(name="jobs"),
                                   spec=client.V1ResourceQuotaSpec(hard={"count/jobs.batch": "1"}))
    kube.core.create_namespaced_resource_quota(kube.ns, quota)
    kube.core.patch_namespaced_resource_quota_status("jobs", kube.ns, {"status": {
        "hard": {"count/jobs.batch": "1"}, "used": {"count/jobs.batch": "0"}}})


def test_a_full_resource_quota_holds_a_task_back_without_failing_it_until_there_is_room(kube, operator):
    full_job_quota(kube)
    kube.create_run("quota", spec={"tasks": [task("a"), task("b")]})
    kube.wait_for("a refusal for the quota, tried again",
                  lambda: operator.log().count("exceeded quota") >= 2, timeout=30)
    assert len(kube.jobs("quota")) == 1
    run = kube.run("quota")
    assert (run.get("status") or {}).get("phase") not in ("Failed", "Succeeded")
    assert "Failed" not in kube.task_phases(run).values()
    kube.core.delete_namespaced_resource_quota("jobs", kube.ns)
    assert kube.wait_for_phase("quota")["status"]["phase"] == "Succeeded"
    assert kube.attempt_keys("quota") == [("a", 1), ("b", 1)]
    assert not {"TaskFailed", "TaskRetrying"} & set(kube.event_reasons("quota"))
    operator.assert_alive()
