"""What a task attempt is made of, Job or bare Pod (`spec.taskResource`): the calls for each.

`Dispatcher` creates, adopts, confirms, stops and fails attempts through one of these two,
chosen per run from its frozen spec, so that it holds no branch on the kind. A Job is stopped
by suspending it (the Job and its history stay) and failed by an annotation plus suspension;
a bare Pod is stopped by deleting it (its containers get their grace period) and failed by the
same annotation, then deleted. Both are named by `api/names.job_name` and owned by the run.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from dagwright.api.models import Task, TaskResource, WorkflowSpec
from dagwright.api.vocabulary import ANNOTATION_FAILED
from dagwright.kube import resources
from dagwright.kube.http import KubeHttp
from dagwright.kube.observe import observe_job
from dagwright.kube.podattempts import observe_task_pod
from dagwright.planner.snapshot import ObservedJob
from dagwright.render.job import RunIdentity, build_job
from dagwright.render.pod import build_task_pod


class AttemptCalls(Protocol):
    """The API calls and reading of one kind of task attempt."""

    pods: bool  # bare Pods (the JobIndex keeps them apart from Jobs)

    def build(self, run: RunIdentity, spec: WorkflowSpec, task: Task, attempt: int,
              item: int | None = None) -> dict[str, Any]: ...
    def create(self, http: KubeHttp, manifest: dict[str, Any]) -> dict[str, Any]: ...
    def get(self, http: KubeHttp, namespace: str, name: str) -> dict[str, Any] | None: ...
    def observe(self, obj: dict[str, Any], now: datetime) -> ObservedJob | None: ...
    def stop(self, http: KubeHttp, namespace: str, name: str) -> None: ...
    def fail(self, http: KubeHttp, namespace: str, name: str, reason: str) -> None: ...


class JobAttempts:
    """Each attempt is a batch/v1 Job running one pod."""

    pods = False

    def build(self, run: RunIdentity, spec: WorkflowSpec, task: Task, attempt: int,
              item: int | None = None) -> dict[str, Any]:
        return build_job(run, spec, task, attempt, item)

    def create(self, http: KubeHttp, manifest: dict[str, Any]) -> dict[str, Any]:
        return resources.create_job(http, manifest)

    def get(self, http: KubeHttp, namespace: str, name: str) -> dict[str, Any] | None:
        return resources.get_job(http, namespace, name)

    def observe(self, obj: dict[str, Any], now: datetime) -> ObservedJob | None:
        return observe_job(obj, now)

    def stop(self, http: KubeHttp, namespace: str, name: str) -> None:
        resources.suspend_job(http, namespace, name)

    def fail(self, http: KubeHttp, namespace: str, name: str, reason: str) -> None:
        resources.fail_job(http, namespace, name, ANNOTATION_FAILED, reason)


class PodAttempts:
    """Each attempt is a bare Pod the operator creates itself."""

    pods = True

    def build(self, run: RunIdentity, spec: WorkflowSpec, task: Task, attempt: int,
              item: int | None = None) -> dict[str, Any]:
        return build_task_pod(run, spec, task, attempt, item)

    def create(self, http: KubeHttp, manifest: dict[str, Any]) -> dict[str, Any]:
        return resources.create_pod(http, manifest)

    def get(self, http: KubeHttp, namespace: str, name: str) -> dict[str, Any] | None:
        return resources.get_pod(http, namespace, name)

    def observe(self, obj: dict[str, Any], now: datetime) -> ObservedJob | None:
        return observe_task_pod(obj, now)

    def stop(self, http: KubeHttp, namespace: str, name: str) -> None:
        resources.delete_pod(http, namespace, name)  # the pod's own terminationGracePeriodSeconds

    def fail(self, http: KubeHttp, namespace: str, name: str, reason: str) -> None:
        resources.annotate_pod(http, namespace, name, {ANNOTATION_FAILED: reason})
        resources.delete_pod(http, namespace, name)


JOBS, PODS = JobAttempts(), PodAttempts()


def attempts_for(spec: WorkflowSpec) -> AttemptCalls:
    """The calls for the attempts of a run of `spec` (Jobs unless `taskResource: Pod`)."""
    return PODS if spec.task_resource == TaskResource.POD else JOBS
