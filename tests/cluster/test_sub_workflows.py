"""Workflows that call workflows, on a real API server: the child run (owned, labelled, named
deterministically), the task following it, its outputs, cancel propagating, cycles refused."""

from __future__ import annotations

import json
import time

from dagwright.api.names import child_run_name

from .kube import container_task as task

TASK_RESOURCE = "Job"  # these tests look at the runs' Jobs (the default, Pod, elsewhere: test_pod_mode.py)

CHILD = {
    "params": [{"name": "source"}],
    "outputs": [{"name": "rows", "value": "{{ tasks.load.outputs.rows }}"}],
    "tasks": [task("extract"),
              task("load", ["extract"], annotations={"sim.dagwright.io/termination-message": '{"rows": 7}'})],
}


def test_a_workflow_task_runs_a_child_run_and_takes_its_outputs(kube, operator):
    kube.apply_workflow("ingest", CHILD)
    spec = {"params": [{"name": "src", "default": "orders"}], "tasks": [
        {"name": "call", "workflow": {"name": "ingest", "params": {"source": "{{ params.src }}"}}},
        {"name": "report", "dependsOn": ["call"],
         "container": {"image": "busybox:1.36", "args": ["{{ tasks.call.outputs.rows }}"]}},
    ]}
    kube.create_run("parent", spec=spec)
    run = kube.wait_for_phase("parent", timeout=90)
    assert run["status"]["phase"] == "Succeeded", run["status"]
    name = child_run_name("parent", "call")
    assert run["status"]["tasks"]["call"]["run"] == name
    assert run["status"]["tasks"]["call"]["outputs"] == {"rows": "7"}
    child = kube.run(name)
    assert child["status"]["phase"] == "Succeeded" and child["status"]["outputs"] == {"rows": "7"}
    assert child["spec"]["params"] == {"source": "orders"}
    assert child["metadata"]["ownerReferences"][0]["name"] == "parent"
    assert child["metadata"]["labels"]["dagwright.io/parent-run"] == "parent"
    assert kube.attempt_keys(name) == [("extract", 1), ("load", 1)]
    assert kube.attempt_keys("parent") == [("report", 1)]
    report = kube.jobs("parent")[0]
    assert report.spec.template.spec.containers[0].args == ["7"]


def test_cancelling_the_parent_cancels_the_child(kube, operator):
    slow = {"tasks": [task("wait", annotations={"sim.dagwright.io/duration": "300s"})]}
    kube.apply_workflow("slow", slow)
    kube.create_run("p2", spec={"tasks": [{"name": "call", "workflow": {"name": "slow"}}]})
    name = child_run_name("p2", "call")
    kube.wait_for("the child running", lambda: (kube.run(name).get("status") or {}).get("phase") == "Running"
                  if kube.custom.list_namespaced_custom_object("dagwright.io", "v1alpha1", kube.ns, "workflowruns",
                                                               field_selector=f"metadata.name={name}")["items"] else None,
                  timeout=60)
    kube.patch_run("p2", {"spec": {"cancel": True}})
    assert kube.wait_for_phase("p2")["status"]["phase"] == "Cancelled"
    assert kube.wait_for_phase(name)["status"]["phase"] == "Cancelled"
    assert all(j.spec.suspend for j in kube.jobs(name))


def test_a_failed_child_fails_the_task_and_a_cycle_makes_the_run_invalid(kube, operator):
    kube.apply_workflow("broken", {"tasks": [task("boom", annotations={"sim.dagwright.io/exit-code": "2"})]})
    kube.create_run("p3", spec={"tasks": [{"name": "call", "workflow": {"name": "broken"}}]})
    run = kube.wait_for_phase("p3", timeout=60)
    assert run["status"]["phase"] == "Failed"
    assert run["status"]["tasks"]["call"]["message"].startswith(f"child run {child_run_name('p3', 'call')} failed")
    kube.apply_workflow("a", {"tasks": [{"name": "t", "workflow": {"name": "b"}}]})
    kube.apply_workflow("b", {"tasks": [{"name": "t", "workflow": {"name": "a"}}]})
    kube.create_run("cyclic", workflow="a")
    run = kube.wait_for_phase("cyclic")
    # a -> b -> a, found on the first pass when the operator already saw both Workflows, else on the
    # child's (b -> a -> b), which fails the task that called it
    assert "workflow reference cycle: " in json.dumps(run["status"]), run["status"]
    assert run["status"]["phase"] == "Failed"
    assert kube.jobs("cyclic") == []


def test_an_operator_killed_after_creating_the_child_adopts_it_after_restart(kube, operator):
    kube.apply_workflow("steady", {"tasks": [task("s1", annotations={"sim.dagwright.io/duration": "4s"}), task("s2", ["s1"])]})
    kube.create_run("p4", spec={"tasks": [{"name": "call", "workflow": {"name": "steady"}}, task("after", ["call"])]})
    name = child_run_name("p4", "call")

    def children() -> list[dict]:
        return kube.custom.list_namespaced_custom_object("dagwright.io", "v1alpha1", kube.ns, "workflowruns",
                                                         label_selector="dagwright.io/parent-run=p4")["items"]

    kube.wait_for("the child run", children, timeout=30)
    operator.kill()
    time.sleep(5)  # the child's first task finishes while nobody watches
    operator.start()
    run = kube.wait_for_phase("p4", timeout=90)
    assert run["status"]["phase"] == "Succeeded", run["status"]
    assert [c["metadata"]["name"] for c in children()] == [name]
    assert kube.attempt_keys(name) == [("s1", 1), ("s2", 1)]
    assert kube.attempt_keys("p4") == [("after", 1)]
