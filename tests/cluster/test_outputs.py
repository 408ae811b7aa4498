"""Task outputs on a real API server: written as a termination message, read by a later task."""

from __future__ import annotations

from .kube import container_task as task

TASK_RESOURCE = "Job"  # these tests look at the runs' Jobs (the default, Pod, elsewhere: test_pod_mode.py)


def test_a_task_reads_the_outputs_of_its_dependency(kube, operator):
    producer = task("count", annotations={"sim.dagwright.io/termination-message": '{"rows": 42, "table": "bronze"}'})
    consumer = {"name": "report", "dependsOn": ["count"],
                "container": {"image": "busybox:1.36", "args": ["{{ tasks.count.outputs.rows }} rows in "
                                                                 "{{ tasks.count.outputs.table }}"]}}
    kube.create_run("outputs", spec={"tasks": [producer, consumer]})
    run = kube.wait_for_phase("outputs")
    assert run["status"]["phase"] == "Succeeded", run["status"]
    assert run["status"]["tasks"]["count"]["outputs"] == {"rows": "42", "table": "bronze"}
    job = next(j for j in kube.jobs("outputs") if j.metadata.labels["dagwright.io/task"] == "report")
    assert job.spec.template.spec.containers[0].args == ["42 rows in bronze"]


def test_outputs_that_are_not_json_fail_the_task_with_a_clear_message(kube, operator):
    producer = task("count", annotations={"sim.dagwright.io/termination-message": "rows=42"})
    consumer = {"name": "report", "dependsOn": ["count"],
                "container": {"image": "busybox:1.36", "args": ["{{ tasks.count.outputs.rows }}"]}}
    kube.create_run("bad-outputs", spec={"tasks": [producer, consumer]})
    run = kube.wait_for_phase("bad-outputs")
    assert run["status"]["phase"] == "Failed"
    assert "outputs are not JSON" in run["status"]["tasks"]["count"]["message"]
    assert kube.task_phases(run)["report"] == "Skipped"


def test_reading_outputs_of_a_task_that_is_not_a_dependency_is_invalid(kube, operator):
    spec = {"tasks": [task("a"), {"name": "b", "container": {"image": "x", "args": ["{{ tasks.a.outputs.k }}"]}}]}
    kube.create_run("stranger", spec=spec)
    run = kube.wait_for_phase("stranger")
    assert "uses outputs of 'a', which is not one of its dependencies" in run["status"]["message"]
