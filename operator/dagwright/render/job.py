"""`build_job`: one task attempt rendered to a Kubernetes Job manifest (a plain dict).

Pure. The Job runs exactly one pod (`backoffLimit: 0`, `restartPolicy: Never`) because retries
belong to the operator; it carries the Dagwright labels (also on its pod, so kwok stages and
`kubectl logs -l` can find it), an ownerReference to its run, and the task's timeout as
`activeDeadlineSeconds`. `defaults.podTemplate` then the task's `podTemplate` merge on top.
Its `podFailurePolicy` fails the Job on a pod with condition DisruptionTarget (eviction,
preemption, node shutdown), which gives the Job's Failed condition reason `PodFailurePolicy`:
how the operator tells an attempt Kubernetes took away from one the task's code failed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dagwright.api.models import API_VERSION, Task, WorkflowSpec
from dagwright.api.names import instance_job_name, job_name, label_value
from dagwright.api.vocabulary import LABEL_ATTEMPT, LABEL_ITEM, LABEL_POOL, LABEL_RUN, LABEL_TASK, LABEL_WORKFLOW, MANAGED_BY
from dagwright.render.kinds import build_kind_pod
from dagwright.render.large_outputs import outputs_volume, wrap_for_large_outputs
from dagwright.render.merge import deep_merge
from dagwright.render.templating import render_value


def build_pod_failure_policy() -> dict[str, Any]:
    """Fail the Job on a disrupted pod. The only rule: another FailJob rule would make the
    condition reason `PodFailurePolicy` ambiguous."""
    return {"rules": [{"action": "FailJob", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]}]}

RESTRICTED_CONTAINER_SECURITY = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


@dataclass(frozen=True)
class RunIdentity:
    """Who a Job belongs to: the run's name, namespace and uid, and its workflow's name."""

    name: str
    namespace: str
    uid: str
    workflow: str
    template_context: dict[str, str] = field(default_factory=dict)


def build_labels(run: RunIdentity, task: str | None = None, attempt: int | None = None) -> dict[str, str]:
    """The labels docs/api.md promises on an object of `run` (and of one task attempt)."""
    labels = {LABEL_WORKFLOW: label_value(run.workflow), LABEL_RUN: label_value(run.name), **MANAGED_BY}
    if task is not None:
        labels[LABEL_TASK] = task
    if attempt is not None:
        labels[LABEL_ATTEMPT] = str(attempt)
    return labels


def build_owner_reference(run: RunIdentity) -> dict[str, Any]:
    """The ownerReference that makes the run own (and garbage-collect) a Job."""
    return {
        "apiVersion": API_VERSION,
        "kind": "WorkflowRun",
        "name": run.name,
        "uid": run.uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _setting(task: Task, spec: WorkflowSpec, attribute: str) -> Any:
    own = getattr(task, attribute)
    if own is not None:
        return own
    return getattr(spec.defaults, attribute) if spec.defaults is not None else None


def task_timeout(spec: WorkflowSpec, task: Task) -> int | None:
    """The attempt's timeout in seconds: the task's own, else the workflow's default."""
    timeout: int | None = _setting(task, spec, "timeout_seconds")
    return timeout


def build_pod_template(spec: WorkflowSpec, task: Task, labels: dict[str, str], context: dict[str, str]) -> dict[str, Any]:
    """The Job's pod template: main container, restricted defaults, then podTemplate merges."""
    kind = build_kind_pod(task)
    container = {**kind.container, "securityContext": dict(RESTRICTED_CONTAINER_SECURITY)}
    volumes = [dict(v) for v in kind.volumes]
    if task.large_outputs:
        container = wrap_for_large_outputs(container)
        volumes.append(outputs_volume())
    pod_spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "containers": [container],
        "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
        "enableServiceLinks": False,
    }
    if volumes:
        pod_spec["volumes"] = volumes
    # The task's own ServiceAccount, else the one its kind needs (Spark on Kubernetes), else defaults.
    service_account = task.service_account_name or kind.service_account_name or _setting(
        task, spec, "service_account_name")
    if service_account:
        pod_spec["serviceAccountName"] = service_account
    pod: dict[str, Any] = {"metadata": {"labels": dict(labels)}, "spec": pod_spec}
    for overlay in (spec.defaults.pod_template if spec.defaults else None, task.pod_template):
        if overlay:
            pod = deep_merge(pod, overlay)
    pod["metadata"]["labels"] = {**pod["metadata"].get("labels", {}), **labels}
    pod["spec"]["restartPolicy"] = "Never"
    return render_value(pod, context)


def attempt_labels(run: RunIdentity, task: Task, attempt: int, item: int | None) -> dict[str, str]:
    """The labels of one attempt's Job or Pod (and its pod): the run's, the task's, the forEach item's,
    and the pool's (counted as a held slot while the attempt is unfinished)."""
    labels = build_labels(run, task.name, attempt)
    if item is not None:
        labels[LABEL_ITEM] = str(item)
    if task.pool:
        labels[LABEL_POOL] = task.pool
    return labels


def attempt_name(run: RunIdentity, task: Task, attempt: int, item: int | None) -> str:
    """The deterministic name of one attempt's Job or Pod (of instance `item` of a forEach task)."""
    return job_name(run.name, task.name, attempt) if item is None else instance_job_name(run.name, task.name, item, attempt)


def build_job(run: RunIdentity, spec: WorkflowSpec, task: Task, attempt: int, item: int | None = None) -> dict[str, Any]:
    """The Job manifest for `attempt` (1-based) of `task` in `run` (of instance `item` of a forEach task;
    its item's template names are in `run.template_context`)."""
    labels = attempt_labels(run, task, attempt, item)
    job_spec: dict[str, Any] = {
        "backoffLimit": 0,
        "podFailurePolicy": build_pod_failure_policy(),
        "template": build_pod_template(spec, task, labels, run.template_context),
    }
    timeout = task_timeout(spec, task)
    if timeout:
        job_spec["activeDeadlineSeconds"] = timeout
    if spec.job_ttl_seconds_after_finished is not None:
        job_spec["ttlSecondsAfterFinished"] = spec.job_ttl_seconds_after_finished
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": attempt_name(run, task, attempt, item),
            "namespace": run.namespace,
            "labels": labels,
            "ownerReferences": [build_owner_reference(run)],
        },
        "spec": job_spec,
    }
