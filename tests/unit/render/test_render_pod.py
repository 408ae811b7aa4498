"""`build_task_pod`: the bare Pod of `taskResource: Pod` is the Job's pod, named and owned like the Job."""

from __future__ import annotations

from dagwright.api.models import WorkflowSpec
from dagwright.render.job import RunIdentity, build_job
from dagwright.render.pod import build_task_pod

RUN = RunIdentity(name="etl", namespace="team", uid="uid-1", workflow="etl-wf")


def spec(**task: object) -> WorkflowSpec:
    return WorkflowSpec.model_validate({"taskResource": "Pod", "tasks": [
        {"name": "load", "container": {"image": "busybox", "command": ["true"]}, **task}]})


def test_the_pod_is_the_jobs_pod_template_with_the_jobs_name_owner_and_labels():
    s = spec(podTemplate={"metadata": {"annotations": {"sim.dagwright.io/duration": "1s"}}})
    pod, job = build_task_pod(RUN, s, s.tasks[0], 2), build_job(RUN, s, s.tasks[0], 2)
    assert pod["kind"] == "Pod" and pod["apiVersion"] == "v1"
    assert pod["metadata"]["name"] == job["metadata"]["name"]
    assert pod["metadata"]["ownerReferences"] == job["metadata"]["ownerReferences"]
    assert pod["metadata"]["labels"] == job["spec"]["template"]["metadata"]["labels"]
    assert pod["metadata"]["annotations"] == {"sim.dagwright.io/duration": "1s"}
    assert pod["spec"] == job["spec"]["template"]["spec"]
    assert pod["spec"]["restartPolicy"] == "Never"


def test_the_tasks_timeout_is_the_pods_active_deadline():
    s = spec(timeoutSeconds=90)
    assert build_task_pod(RUN, s, s.tasks[0], 1)["spec"]["activeDeadlineSeconds"] == 90
    assert "activeDeadlineSeconds" not in build_task_pod(RUN, spec(), spec().tasks[0], 1)["spec"]


def test_a_pool_user_carries_the_pool_label_that_counts_its_slot():
    s = spec(pool="warehouse")
    assert build_task_pod(RUN, s, s.tasks[0], 1)["metadata"]["labels"]["dagwright.io/pool"] == "warehouse"
