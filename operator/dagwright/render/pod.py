"""`build_task_pod`: one task attempt rendered to a bare Pod manifest (`taskResource: Pod`).

Pure. The same pod as the Job of `render/job.py` would have run (the same pod template, labels
and merges), created by the operator itself: named like the Job (`api/names.job_name`, so a
second create answers 409 AlreadyExists), owned by the run (deleted with it), the task's
timeout as the pod's own `activeDeadlineSeconds` (the kubelet fails the pod with reason
DeadlineExceeded and keeps it, with its log), `restartPolicy: Never`. What the Job controller
did otherwise - retries, disruption detection, stopping - is the operator's either way.
"""

from __future__ import annotations

from typing import Any

from dagwright.api.models import Task, WorkflowSpec
from dagwright.render.job import (
    RunIdentity,
    attempt_labels,
    attempt_name,
    build_owner_reference,
    build_pod_template,
    task_timeout,
)


def build_task_pod(run: RunIdentity, spec: WorkflowSpec, task: Task, attempt: int,
                   item: int | None = None) -> dict[str, Any]:
    """The Pod manifest for `attempt` (1-based) of `task` in `run` (of instance `item` of a forEach task)."""
    labels = attempt_labels(run, task, attempt, item)
    template = build_pod_template(spec, task, labels, run.template_context)
    metadata = {**template.get("metadata", {}), "name": attempt_name(run, task, attempt, item),
                "namespace": run.namespace, "ownerReferences": [build_owner_reference(run)]}
    pod_spec = dict(template["spec"])
    timeout = task_timeout(spec, task)
    if timeout:
        pod_spec["activeDeadlineSeconds"] = timeout
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": pod_spec}
