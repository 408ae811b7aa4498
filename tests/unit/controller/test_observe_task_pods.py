"""`observe_task_pod`: a bare task Pod read as the attempt it is (`taskResource: Pod`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from dagwright.kube.observe import is_task_pod, pod_job_key
from dagwright.kube.podattempts import observe_task_pod
from dagwright.planner.snapshot import FailureKind, JobState

NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)
OWNER = {"apiVersion": "dagwright.io/v1alpha1", "kind": "WorkflowRun", "name": "etl", "uid": "u", "controller": True}


def pod(status: dict[str, Any] | None = None, **meta: Any) -> dict[str, Any]:
    return {"metadata": {"name": "etl-load-abc-1", "namespace": "team", "ownerReferences": [OWNER],
                         "labels": {"dagwright.io/run": "etl", "dagwright.io/task": "load", "dagwright.io/attempt": "1"},
                         **meta},
            "spec": {"activeDeadlineSeconds": 30}, "status": status or {}}


EXIT_2 = {"phase": "Failed", "containerStatuses": [{"name": "main", "state": {"terminated": {"exitCode": 2}}}]}
DISRUPTED = {"phase": "Failed", "conditions": [{"type": "DisruptionTarget", "status": "True",
                                                "reason": "PreemptionByScheduler", "message": "preempted"}]}


@pytest.mark.parametrize("body, state, kind, text", [
    (pod({"phase": "Pending"}), JobState.ACTIVE, None, None),
    (pod({"phase": "Running"}), JobState.ACTIVE, None, None),
    (pod({"phase": "Succeeded"}), JobState.SUCCEEDED, None, None),
    (pod(EXIT_2), JobState.FAILED, FailureKind.EXIT, "exit code 2"),
    (pod({"phase": "Failed", "reason": "DeadlineExceeded"}), JobState.FAILED, FailureKind.TIMED_OUT, "timed out after 30s"),
    (pod(DISRUPTED), JobState.FAILED, FailureKind.DISRUPTED, "disrupted: PreemptionByScheduler: preempted"),
    (pod({"phase": "Running"}, annotations={"dagwright.io/failed": "ImagePullBackOff"}), JobState.FAILED,
     FailureKind.NOT_STARTED, "ImagePullBackOff"),
    (pod({"phase": "Running"}, deletionTimestamp="2026-12-06T12:00:00Z"), JobState.FAILED, FailureKind.POD,
     "its pod was deleted"),
], ids=["pending is active", "running is active", "succeeded", "a failed container gives its exit code",
        "the kubelet's deadline is a timeout", "a DisruptionTarget condition is a disruption",
        "the operator's failed annotation is an attempt that could not start",
        "deleted before it finished is a failure"])
def test_a_task_pod_is_read_as_its_attempt(body, state, kind, text):
    observed = observe_task_pod(body, NOW)
    assert observed is not None
    assert (observed.state, observed.failure_kind, observed.failure) == (state, kind, text)
    assert (observed.name, observed.task, observed.attempt) == ("etl-load-abc-1", "load", 1)


def test_a_task_pod_is_its_own_attempt_and_a_jobs_pod_belongs_to_its_job():
    assert is_task_pod(pod()) and pod_job_key(pod()) == (("team", "etl"), "etl-load-abc-1")
    job_pod = pod(ownerReferences=[{"kind": "Job", "name": "j", "controller": True}])
    job_pod["metadata"]["labels"]["job-name"] = "j"
    assert not is_task_pod(job_pod) and pod_job_key(job_pod) == (("team", "etl"), "j")


def test_a_for_each_instance_pod_is_read_as_that_instances_attempt():
    instance = pod({"phase": "Running"})
    instance["metadata"]["labels"]["dagwright.io/item"] = "7"
    assert observe_task_pod(instance, NOW).item == 7
    assert observe_task_pod(pod({"phase": "Running"}), NOW).item is None


@pytest.mark.parametrize("status", [{"phase": "Running"}, {"phase": "Succeeded"}, EXIT_2],
                         ids=["running", "succeeded", "failed"])
def test_a_pooled_task_pod_names_its_pool_in_every_state(status):
    pooled = pod(status)
    pooled["metadata"]["labels"]["dagwright.io/pool"] = "warehouse"
    assert observe_task_pod(pooled, NOW).pool == "warehouse"
    assert observe_task_pod(pod(status), NOW).pool is None
