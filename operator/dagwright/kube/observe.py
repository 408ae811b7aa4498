"""Reading what the planner needs out of a Job or Pod dict (pure, no API calls).

`observe_job` turns a batch/v1 Job into an `ObservedJob`; `describe_pod_failure` reads the
exit code (or OOMKilled, or the termination message) of a task pod.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, NamedTuple

from dagwright.api.models import GROUP
from dagwright.api.timefmt import parse_time
from dagwright.api.vocabulary import ANNOTATION_FAILED, LABEL_ATTEMPT, LABEL_ITEM, LABEL_POOL, LABEL_RUN, LABEL_TASK
from dagwright.planner.snapshot import FailureKind, JobState, ObservedJob, PodWaiting
from dagwright.render.kinds import MAIN_CONTAINER

_SUCCESS = ("Complete", "SuccessCriteriaMet")
_FAILURE = ("Failed", "FailureTarget")
# The Job's only podFailurePolicy rule (render/job.py) fails it on a pod with condition
# DisruptionTarget; the Job controller then gives its Failed condition this reason.
JOB_REASON_POD_FAILURE_POLICY = "PodFailurePolicy"
POD_CONDITION_DISRUPTION = "DisruptionTarget"


def _condition(job: dict[str, Any], types: tuple[str, ...]) -> dict[str, Any] | None:
    for condition in job.get("status", {}).get("conditions") or []:
        if condition.get("type") in types and condition.get("status") == "True":
            return condition
    return None


def job_run_key(job: dict[str, Any]) -> tuple[str, str] | None:
    """(namespace, run label) of a Dagwright Job, or None for a foreign Job."""
    labels = job.get("metadata", {}).get("labels") or {}
    run = labels.get(LABEL_RUN)
    return (job["metadata"]["namespace"], run) if run else None


def _failure(condition: dict[str, Any], job: dict[str, Any]) -> tuple[FailureKind, str]:
    reason = condition.get("reason", "")
    if reason == "DeadlineExceeded":
        return FailureKind.TIMED_OUT, f"timed out after {job.get('spec', {}).get('activeDeadlineSeconds', '?')}s"
    if reason == JOB_REASON_POD_FAILURE_POLICY:
        return FailureKind.DISRUPTED, "disrupted: " + (condition.get("message") or reason)
    return FailureKind.JOB, condition.get("message") or reason or "failed"


def observe_job(job: dict[str, Any], seen_at: datetime) -> ObservedJob | None:
    """The planner's view of a Job; `seen_at` stands in for times the Job does not record."""
    labels = job.get("metadata", {}).get("labels") or {}
    try:
        task, attempt = labels[LABEL_TASK], int(labels[LABEL_ATTEMPT])
    except (KeyError, ValueError):
        return None
    return replace(_observe(job, seen_at, task, attempt), pool=labels.get(LABEL_POOL), item=item_of(labels))


def item_of(labels: dict[str, str]) -> int | None:
    """The forEach instance (item index) an attempt belongs to, from its label; None for a plain task."""
    item = labels.get(LABEL_ITEM)
    return int(item) if item is not None and item.isdigit() else None


def _observe(job: dict[str, Any], seen_at: datetime, task: str, attempt: int) -> ObservedJob:
    status = job.get("status", {})
    started = parse_time(status["startTime"]) if status.get("startTime") else None
    name = job["metadata"]["name"]
    if (done := _condition(job, _SUCCESS)) is not None:
        return ObservedJob(name, task, attempt, JobState.SUCCEEDED, started, _when(done, seen_at))
    if failed_by_us := (job.get("metadata", {}).get("annotations") or {}).get(ANNOTATION_FAILED):
        return ObservedJob(name, task, attempt, JobState.FAILED, started, seen_at, failed_by_us,
                           failure_kind=FailureKind.NOT_STARTED)
    if (failed := _condition(job, _FAILURE)) is not None:
        kind, text = _failure(failed, job)
        return ObservedJob(name, task, attempt, JobState.FAILED, started, _when(failed, seen_at), text, failure_kind=kind)
    if job.get("spec", {}).get("suspend"):
        return ObservedJob(name, task, attempt, JobState.FAILED, started, seen_at, "stopped", stopped=True,
                           failure_kind=FailureKind.STOPPED)
    return ObservedJob(name, task, attempt, JobState.ACTIVE, started)


def _when(condition: dict[str, Any], seen_at: datetime) -> datetime:
    """The later of the condition's (whole-second) time and when we saw it: never early."""
    stamp = condition.get("lastTransitionTime")
    return max(parse_time(stamp), seen_at) if stamp else seen_at


def is_timed_out(job: ObservedJob) -> bool:
    """An attempt its Job's deadline ended (the Job controller deletes the pod, and its log)."""
    return job.state == JobState.FAILED and job.failure_kind is FailureKind.TIMED_OUT


def needs_pod_detail(job: ObservedJob) -> bool:
    """A failed attempt whose reason says less than the pod could (exit code, OOMKilled)."""
    return job.state == JobState.FAILED and job.failure_kind in (FailureKind.JOB, FailureKind.POD)


def read_termination_message(pods: list[dict[str, Any]]) -> str | None:
    """The main container's termination message (where a task writes its outputs)."""
    for pod in pods:
        for container in pod.get("status", {}).get("containerStatuses") or []:
            terminated = (container.get("state") or {}).get("terminated") or {}
            if container.get("name") == MAIN_CONTAINER and terminated:
                return terminated.get("message")
    return None


def describe_pod_failure(pods: list[dict[str, Any]]) -> str | None:
    """'exit code 2', 'OOMKilled (exit code 137)', with the termination message when short."""
    failure = read_pod_failure(pods)
    return failure[1] if failure else None


class PodFailure(NamedTuple):
    """What a failed pod says: its kind, a short text, and the main container's exit code."""

    kind: FailureKind
    text: str
    exit_code: int | None = None


def _disruption(pod: dict[str, Any]) -> dict[str, Any] | None:
    """The pod's DisruptionTarget=True condition (evicted, preempted, node shutdown), if any."""
    for condition in pod.get("status", {}).get("conditions") or []:
        if condition.get("type") == POD_CONDITION_DISRUPTION and condition.get("status") == "True":
            return condition
    return None


def read_pod_failure(pods: list[dict[str, Any]]) -> PodFailure | None:
    """(DISRUPTED, 'disrupted: EvictionByEvictionAPI: …') when Kubernetes took the pod away,
    else (EXIT, 'exit code 2', 2) from the main container, else (POD, 'Evicted: …') from the pod."""
    for pod in pods:
        if (disruption := _disruption(pod)) is not None:
            text = f"{disruption.get('reason') or POD_CONDITION_DISRUPTION}: {disruption.get('message') or ''}"
            return PodFailure(FailureKind.DISRUPTED, "disrupted: " + text.strip(": "))
        for container in pod.get("status", {}).get("containerStatuses") or []:
            if container.get("name") != MAIN_CONTAINER:
                continue
            terminated = (container.get("state") or {}).get("terminated") or {}
            if "exitCode" not in terminated:
                continue
            text = f"exit code {terminated['exitCode']}"
            if terminated.get("reason") not in (None, "Error", "Completed"):
                text = f"{terminated['reason']} ({text})"
            message = (terminated.get("message") or "").strip()
            if message and len(message) <= 200:
                text += f": {message}"
            return PodFailure(FailureKind.EXIT, text, int(terminated["exitCode"]))
        if pod.get("status", {}).get("reason"):
            return PodFailure(FailureKind.POD,
                              f"{pod['status']['reason']}: {pod['status'].get('message', '')}".strip(": "))
    return None


def observe_waiting(pod: dict[str, Any]) -> PodWaiting | None:
    """Why a task pod that has not finished is not running yet, or None (running, finished, going).

    The main container's waiting reason and message as the kubelet reports them, or
    `Unschedulable` with the scheduler's message while the pod has no node.
    """
    meta, status = pod.get("metadata", {}), pod.get("status", {})
    if meta.get("deletionTimestamp") or status.get("phase") in ("Succeeded", "Failed", "Running"):
        return None
    created = meta.get("creationTimestamp")
    if not created:
        return None
    for container in status.get("containerStatuses") or []:
        waiting = (container.get("state") or {}).get("waiting")
        if container.get("name") == MAIN_CONTAINER and waiting and waiting.get("reason"):
            return PodWaiting(waiting["reason"], waiting.get("message") or "", parse_time(created))
    for condition in status.get("conditions") or []:
        if condition.get("type") == "PodScheduled" and condition.get("status") == "False":
            return PodWaiting(condition.get("reason") or "Unschedulable", condition.get("message") or "",
                              parse_time(created))
    return None


def is_task_pod(pod: dict[str, Any]) -> bool:
    """A bare task Pod (`taskResource: Pod`): its controller is a WorkflowRun, not a Job."""
    return any(o.get("controller") and o.get("kind") == "WorkflowRun"
               and str(o.get("apiVersion", "")).startswith(f"{GROUP}/")
               for o in pod.get("metadata", {}).get("ownerReferences") or [])


def _attempt_name(pod: dict[str, Any]) -> str | None:
    """The name of the attempt a pod belongs to: its Job's, or its own for a bare task Pod."""
    labels = pod.get("metadata", {}).get("labels") or {}
    job = labels.get("batch.kubernetes.io/job-name") or labels.get("job-name")
    if job is None and is_task_pod(pod):
        return str(pod["metadata"]["name"])
    return job


def pod_job_key(pod: dict[str, Any]) -> tuple[tuple[str, str], str] | None:
    """((namespace, run), attempt name: the Job's, or the bare task Pod's own) of a Dagwright
    task pod, or None for a foreign pod."""
    meta = pod.get("metadata", {})
    labels = meta.get("labels") or {}
    run = labels.get(LABEL_RUN)
    job = _attempt_name(pod)
    return ((meta["namespace"], run), job) if run and job else None


@dataclass(frozen=True)
class PodFacts:
    """What a finished task pod says about its attempt."""

    job: str
    succeeded: bool
    seen_at: datetime
    failure: str | None = None  # exit code (and reason) of a failed pod
    message: str | None = None  # the main container's termination message
    failure_kind: FailureKind | None = None  # EXIT when `failure` has the exit code, DISRUPTED, POD
    exit_code: int | None = None  # the main container's exit code (kind EXIT)


def observe_pod(pod: dict[str, Any], seen_at: datetime) -> tuple[tuple[str, str], PodFacts] | None:
    """(run key, facts) for a finished Dagwright pod; None for a running or foreign pod."""
    meta = pod.get("metadata", {})
    labels = meta.get("labels") or {}
    run = labels.get(LABEL_RUN)
    job = _attempt_name(pod)
    phase = pod.get("status", {}).get("phase")
    if not run or not job or phase not in ("Succeeded", "Failed"):
        return None
    failure = read_pod_failure([pod]) if phase == "Failed" else None
    facts = PodFacts(job=job, succeeded=phase == "Succeeded", seen_at=seen_at,
                     failure=failure[1] if failure else None, message=read_termination_message([pod]),
                     failure_kind=failure.kind if failure else None,
                     exit_code=failure.exit_code if failure else None)
    return (meta["namespace"], run), facts
