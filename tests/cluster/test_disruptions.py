"""Infrastructure failures are not code failures: an evicted attempt is retried without using
`retries.limit`, and an exit code listed in `noRetryOnExitCodes` fails the task at once.

The eviction is real: a policy/v1 Eviction through the API server, which gives the pod the
condition DisruptionTarget=True and deletes it. kwok has no kubelet to end the pod Failed, so
the `pod-disrupted` stage in hack/kwok/stages.yaml does what the kubelet does (phase Failed,
container killed with exit code 137) before the pod is removed; the Job controller then fails
the Job through its podFailurePolicy (condition reason PodFailurePolicy).
"""

from __future__ import annotations

from kubernetes import client

from .kube import container_task as task

TASK_RESOURCE = "Job"  # these tests look at the runs' Jobs (the default, Pod, elsewhere: test_pod_mode.py)

SLOW = {"sim.dagwright.io/duration": "6s"}


def evict(kube, pod_name: str) -> None:
    body = client.V1Eviction(metadata=client.V1ObjectMeta(name=pod_name, namespace=kube.ns))
    kube.core.create_namespaced_pod_eviction(pod_name, kube.ns, body)


def test_an_evicted_attempt_runs_again_without_using_retries(kube, operator):
    kube.create_run("evicted", spec={"tasks": [task("load", annotations=SLOW)]})
    pods = kube.wait_for("the first attempt's pod running", lambda: [
        p for p in kube.core.list_namespaced_pod(kube.ns, label_selector="dagwright.io/attempt=1").items
        if p.status.phase == "Running"])
    evict(kube, pods[0].metadata.name)
    run = kube.wait_for_phase("evicted")
    assert run["status"]["phase"] == "Succeeded"
    load = run["status"]["tasks"]["load"]
    assert (load["attempts"], load["disruptions"]) == (2, 1)
    assert kube.attempt_keys("evicted") == [("load", 1), ("load", 2)]
    first = next(j for j in kube.jobs("evicted") if j.metadata.labels["dagwright.io/attempt"] == "1")
    assert [c.reason for c in first.status.conditions if c.type == "Failed"] == ["PodFailurePolicy"]
    disrupted = [e for e in kube.events("evicted") if e.reason == "TaskDisrupted"]
    assert len(disrupted) == 1 and disrupted[0].type == "Warning"
    assert disrupted[0].message.startswith("task load: attempt 1 failed: disrupted: ")
    assert disrupted[0].message.endswith("(disruption 1 of 3, not counted against retries)")


def test_a_final_exit_code_fails_at_once_with_retries_left(kube, operator):
    retries = {"limit": 3, "backoffSeconds": 0, "noRetryOnExitCodes": [3]}
    kube.create_run("final", spec={"tasks": [
        task("load", annotations={"sim.dagwright.io/exit-code": "3"}, retries=retries)]})
    run = kube.wait_for_phase("final")
    assert run["status"]["phase"] == "Failed"
    load = run["status"]["tasks"]["load"]
    assert load["attempts"] == 1
    assert load["message"].startswith("attempt 1 failed: exit code 3")
    assert load["message"].endswith("(final: exit code listed in noRetryOnExitCodes)")
    assert kube.attempt_keys("final") == [("load", 1)]
