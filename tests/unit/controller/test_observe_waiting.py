"""What the operator reads off a task pod that has not started, and off a Job it failed itself."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dagwright.kube.observe import observe_job, observe_waiting, pod_job_key
from dagwright.planner.snapshot import JobState

NOW = datetime(2026, 12, 6, 12, 0, 0, tzinfo=UTC)
LABELS = {"dagwright.io/run": "r1", "batch.kubernetes.io/job-name": "r1-a-1"}


def pod(phase="Pending", waiting=None, scheduled=None, deleting=False, name="main"):
    status = {"phase": phase}
    if waiting is not None:
        status["containerStatuses"] = [{"name": name, "state": {"waiting": waiting}}]
    if scheduled is not None:
        status["conditions"] = [{"type": "PodScheduled", "status": "False", **scheduled}]
    meta = {"name": "r1-a-1-x", "namespace": "ns", "labels": LABELS, "creationTimestamp": "2026-12-06T11:59:00Z"}
    if deleting:
        meta["deletionTimestamp"] = "2026-12-06T12:00:00Z"
    return {"metadata": meta, "status": status}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (pod(waiting={"reason": "ErrImageNeverPull", "message": "not present"}), ("ErrImageNeverPull", "not present")),
        (pod(waiting={"reason": "ContainerCreating"}), ("ContainerCreating", "")),
        (pod(scheduled={"reason": "Unschedulable", "message": "0/4 nodes are available"}),
         ("Unschedulable", "0/4 nodes are available")),
        (pod(waiting={"reason": "ContainerCreating"}, name="sidecar"), None),  # only the main container counts
        (pod(phase="Running"), None),
        (pod(phase="Failed", waiting={"reason": "ErrImagePull"}), None),
        (pod(waiting={"reason": "ImagePullBackOff"}, deleting=True), None),  # going away: not a wait
        (pod(), None),
    ],
)
def test_why_a_pod_has_not_started(body, expected):
    waiting = observe_waiting(body)
    if expected is None:
        assert waiting is None
    else:
        assert (waiting.reason, waiting.message) == expected
        assert waiting.since == datetime(2026, 12, 6, 11, 59, 0, tzinfo=UTC)


def test_a_task_pod_is_mapped_to_its_run_and_job():
    assert pod_job_key(pod()) == (("ns", "r1"), "r1-a-1")
    assert pod_job_key({"metadata": {"namespace": "ns", "labels": {"app": "x"}}}) is None


def test_a_job_the_operator_failed_is_a_failed_attempt_with_the_reason_not_a_cancel():
    job = {
        "metadata": {"name": "r1-a-1", "namespace": "ns",
                     "labels": {"dagwright.io/run": "r1", "dagwright.io/task": "a", "dagwright.io/attempt": "1"},
                     "annotations": {"dagwright.io/failed": "ErrImageNeverPull: not present"}},
        "spec": {"suspend": True},
        "status": {"conditions": [{"type": "Suspended", "status": "True"}]},
    }
    observed = observe_job(job, NOW)
    assert observed.state == JobState.FAILED
    assert observed.failure == "ErrImageNeverPull: not present"
    assert not observed.stopped
