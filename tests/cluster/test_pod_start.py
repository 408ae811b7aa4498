"""A task pod that cannot start ends its attempt after the grace period, with the scheduler's words.

On kwok nodes: a pod whose nodeSelector matches no node stays Pending with `PodScheduled=False`,
reason `Unschedulable`. (Image and container-creation waits need a kubelet: test_realnode.py.)
"""

from __future__ import annotations

from .kube import container_task as task

TASK_RESOURCE = "Job"  # these tests look at the runs' Jobs (the default, Pod, elsewhere: test_pod_mode.py)


def test_an_unschedulable_task_fails_after_the_grace_period_naming_the_scheduler_message(kube, operator):
    operator.stop()
    operator.extra_args = ["--pod-start-grace", "5"]
    operator.start()
    nowhere = task("nowhere", podTemplate={"spec": {"nodeSelector": {"dagwright.io/no-such-node": "true"}}})
    kube.create_run("unschedulable", spec={"tasks": [nowhere, task("after", ["nowhere"])]})
    run = kube.wait_for_phase("unschedulable", timeout=90)
    assert run["status"]["phase"] == "Failed"
    assert kube.task_phases(run) == {"nowhere": "Failed", "after": "Skipped"}
    message = run["status"]["tasks"]["nowhere"]["message"]
    assert message.startswith("attempt 1 failed: not started after 5s: Unschedulable: "), message
    assert "node affinity/selector" in message
    assert [j.metadata.name for j in kube.jobs("unschedulable")] == [run["status"]["tasks"]["nowhere"]["job"]]
