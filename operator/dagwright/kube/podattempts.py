"""Reading a task attempt out of a bare task Pod (`taskResource: Pod`; pure, no API calls).

With Jobs, the Job controller turns the pod's end into the Job's conditions and `observe_job`
reads those. A bare Pod is the attempt itself: `observe_task_pod` reads the same
`ObservedJob` straight from it - Succeeded/Failed phase, the main container's exit code, the
kubelet's `DeadlineExceeded` (the pod's `activeDeadlineSeconds`: a timeout), a
`DisruptionTarget` condition (eviction, preemption, node shutdown: a disruption, as the Job's
podFailurePolicy tells it), the operator's own `dagwright.io/failed` annotation (a pod that
could not start), and a pod deleted before it finished.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from dagwright.api.timefmt import parse_time
from dagwright.api.vocabulary import ANNOTATION_FAILED, LABEL_ATTEMPT, LABEL_POOL, LABEL_TASK
from dagwright.kube.observe import POD_CONDITION_DISRUPTION, item_of, read_pod_failure
from dagwright.planner.snapshot import FailureKind, JobState, ObservedJob

POD_REASON_DEADLINE = "DeadlineExceeded"  # the kubelet's pod status reason after activeDeadlineSeconds


def observe_task_pod(pod: dict[str, Any], seen_at: datetime) -> ObservedJob | None:
    """The planner's view of a task Pod (the attempt itself); None without task/attempt labels."""
    labels = pod.get("metadata", {}).get("labels") or {}
    try:
        task, attempt = labels[LABEL_TASK], int(labels[LABEL_ATTEMPT])
    except (KeyError, ValueError):
        return None
    return replace(_observe_task_pod(pod, seen_at, task, attempt), pool=labels.get(LABEL_POOL), item=item_of(labels))


def _observe_task_pod(pod: dict[str, Any], seen_at: datetime, task: str, attempt: int) -> ObservedJob:
    meta, status = pod.get("metadata", {}), pod.get("status", {})
    name = meta["name"]
    started = parse_time(status["startTime"]) if status.get("startTime") else None
    phase = status.get("phase")

    def failed(text: str, kind: FailureKind, exit_code: int | None = None) -> ObservedJob:
        return ObservedJob(name, task, attempt, JobState.FAILED, started, seen_at, text, failure_kind=kind,
                           exit_code=exit_code)

    if phase == "Succeeded":
        return ObservedJob(name, task, attempt, JobState.SUCCEEDED, started, seen_at)
    if failed_by_us := (meta.get("annotations") or {}).get(ANNOTATION_FAILED):
        return failed(failed_by_us, FailureKind.NOT_STARTED)
    if phase == "Failed" and status.get("reason") == POD_REASON_DEADLINE:
        return failed(f"timed out after {pod.get('spec', {}).get('activeDeadlineSeconds', '?')}s",
                      FailureKind.TIMED_OUT)
    disrupted = any(c.get("type") == POD_CONDITION_DISRUPTION and c.get("status") == "True"
                    for c in status.get("conditions") or [])
    if phase == "Failed" or disrupted:
        failure = read_pod_failure([pod])
        if failure is not None:
            return failed(failure.text, failure.kind, failure.exit_code)
        return failed("failed", FailureKind.POD)
    if meta.get("deletionTimestamp"):
        return failed("its pod was deleted", FailureKind.POD)
    return ObservedJob(name, task, attempt, JobState.ACTIVE, started)
