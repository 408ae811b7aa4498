"""API server outages as the operator sees them: its connections cut right after a Job create.

The operator talks to the API server through `ApiProxy`; the test cuts it the moment the first
Job exists (seen by the test's own client, which the cut does not touch), lets the cluster go
on without the operator, then restores it. The bug this guards against: Jobs missing from the
operator's cache after the outage were taken as deleted, their dependents skipped, then the
tasks flipped to Succeeded and the run ended Succeeded with most of it never run.
"""

from __future__ import annotations

import time

import pytest

from .apiproxy import ApiProxy
from .conftest import running_operator
from .kube import container_task as task

TASK_RESOURCE = "Job"  # these tests look at the runs' Jobs (the default, Pod, elsewhere: test_pod_mode.py)


@pytest.fixture
def proxy(kubeconfig):
    proxy = ApiProxy(kubeconfig)
    yield proxy
    proxy.close()


@pytest.fixture
def proxied_operator(proxy, kube_env, namespace, crds, tmp_path, request):
    """The operator, talking to the API server through the proxy."""
    yield from running_operator(proxy.kubeconfig(tmp_path / "kubeconfig"), kube_env, namespace, tmp_path, request)


def finished_jobs(kube, run: str) -> list[str]:
    return [j.metadata.name for j in kube.jobs(run)
            if any(c.type == "Complete" and c.status == "True" for c in j.status.conditions or [])]


def messages(kube, run: str) -> list[str]:
    return [e.message or "" for e in kube.events(run)]


def test_an_outage_right_after_a_job_create_loses_no_task_and_the_run_really_runs_every_one(kube, proxy, proxied_operator):
    mids = [f"mid{i}" for i in range(3)]
    tasks = [task("first", annotations={"sim.dagwright.io/duration": "2s"}),
             *[task(m, ["first"]) for m in mids], task("last", mids)]
    kube.create_run("outage", spec={"tasks": tasks})
    kube.wait_for("the first Job", lambda: kube.jobs("outage"), every=0.01)
    proxy.cut()
    kube.wait_for("the first Job to finish while the operator is cut off", lambda: finished_jobs(kube, "outage"))
    time.sleep(3)  # the operator's calls and watches keep failing meanwhile
    proxy.restore()
    run = kube.wait_for_phase("outage", timeout=120)
    assert run["status"]["phase"] == "Succeeded", run["status"]
    assert kube.task_phases(run) == {name: "Succeeded" for name in ["first", *mids, "last"]}
    assert sorted(kube.attempt_keys("outage")) == sorted([("first", 1), *[(m, 1) for m in mids], ("last", 1)])
    assert not [m for m in messages(kube, "outage") if "deleted" in m]
    proxied_operator.assert_alive()


def test_a_job_really_deleted_during_an_outage_fails_its_task_once_and_never_turns_green(kube, proxy, proxied_operator):
    tasks = [task("first", annotations={"sim.dagwright.io/duration": "300s"}), task("after", ["first"])]
    kube.create_run("gone", spec={"tasks": tasks})
    (job,) = kube.wait_for("the first Job", lambda: kube.jobs("gone"), every=0.01)
    kube.wait_for("the run to say the task runs",
                  lambda: kube.task_phases(kube.run("gone")).get("first") == "Running")
    proxy.cut()
    kube.batch.delete_namespaced_job(job.metadata.name, kube.ns, propagation_policy="Background")
    kube.wait_for("the Job to be gone", lambda: not kube.jobs("gone"))
    proxy.restore()
    run = kube.wait_for_phase("gone", timeout=120)
    assert run["status"]["phase"] == "Failed"
    assert kube.task_phases(run) == {"first": "Failed", "after": "Skipped"}
    assert run["status"]["tasks"]["first"]["message"] == f"attempt 1 failed: its Job {job.metadata.name} was deleted"
    time.sleep(3)
    again = kube.run("gone")
    assert (again["status"]["phase"], kube.task_phases(again)) == ("Failed", {"first": "Failed", "after": "Skipped"})
    assert kube.jobs("gone") == []
