"""The benchmark's workflow shapes and Job manifests (pure: dicts in, dicts out).

Every task is a plain container task (`busybox:1.36`, `true`); on the local cluster kwok plays
its pod, which succeeds at once unless `sim.dagwright.io/duration` says otherwise.
"""

from __future__ import annotations

from typing import Any

from dagwright.api.models import WorkflowSpec
from dagwright.render.job import RunIdentity, build_job

GROUP, VERSION = "dagwright.io", "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
DURATION_ANNOTATION = "sim.dagwright.io/duration"


def task(name: str, deps: list[str] | None = None, duration: str | None = None) -> dict[str, Any]:
    """One container task."""
    out: dict[str, Any] = {"name": name, "container": {"image": "busybox:1.36", "command": ["true"]}}
    if deps:
        out["dependsOn"] = deps
    if duration:
        out["podTemplate"] = {"metadata": {"annotations": {DURATION_ANNOTATION: duration}}}
    return out


def chain(n: int) -> dict[str, Any]:
    """t00 -> t01 -> ... -> t(n-1)."""
    names = [f"t{i:02d}" for i in range(n)]
    return {"tasks": [task(name, [names[i - 1]] if i else None) for i, name in enumerate(names)]}


def diamond() -> dict[str, Any]:
    """a -> (b, c) -> d."""
    return {"tasks": [task("a"), task("b", ["a"]), task("c", ["a"]), task("d", ["b", "c"])]}


def fanout(n: int, duration: str | None = None) -> dict[str, Any]:
    """`n` independent tasks."""
    return {"tasks": [task(f"t{i:04d}", duration=duration) for i in range(n)]}


def for_each(n: int, duration: str | None = None) -> dict[str, Any]:
    """One forEach task over `n` items: `n` instances, each one Job."""
    each = task("each", duration=duration)
    each["forEach"] = {"items": list(range(n))}
    each["container"]["args"] = ["{{ item }}"]
    return {"tasks": [each]}


def layered(layers: int, width: int) -> dict[str, Any]:
    """`layers` layers of `width` tasks; task i of layer k needs tasks i and i+1 of layer k-1."""
    tasks = []
    for k in range(layers):
        for i in range(width):
            deps = [f"l{k - 1}-t{i:04d}", f"l{k - 1}-t{(i + 1) % width:04d}"] if k else None
            tasks.append(task(f"l{k}-t{i:04d}", deps))
    return {"tasks": tasks}


def dependencies(spec: dict[str, Any]) -> dict[str, list[str]]:
    """Task name -> the names it depends on."""
    return {t["name"]: list(t.get("dependsOn") or []) for t in spec["tasks"]}


def workflow(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    """`make bench`'s figures are defined on Jobs (Job events, Jobs/s against a bare client creating
    the same Jobs), so its workflows name `taskResource: Job`; Pods, the default, are measured
    side by side with Jobs and Argo by `make bench-argo` (bench/sidebyside.py)."""
    return {"apiVersion": API_VERSION, "kind": "Workflow", "metadata": {"name": name},
            "spec": {"taskResource": "Job", **spec}}


def run(name: str, workflow_name: str) -> dict[str, Any]:
    return {"apiVersion": API_VERSION, "kind": "WorkflowRun", "metadata": {"name": name},
            "spec": {"workflowRef": {"name": workflow_name}}}


def equivalent_jobs(spec: dict[str, Any], namespace: str, run_name: str) -> list[dict[str, Any]]:
    """The Jobs the operator would create for a run of `spec`, minus the owner reference.

    Rendered by Dagwright's own `build_job`, so the bare client sends exactly the same shape
    (labels, pod template, security context); without an owner (the run does not exist) and
    in a namespace no operator watches.
    """
    model = WorkflowSpec.model_validate(spec)
    identity = RunIdentity(name=run_name, namespace=namespace, uid="", workflow=run_name)
    jobs = []
    for item in model.tasks:
        job = build_job(identity, model, item, 1)
        job["metadata"].pop("ownerReferences", None)
        jobs.append(job)
    return jobs


UNRELATED_MANAGER = "bench.dagwright.io/unrelated"


def unrelated_job(name: str) -> dict[str, Any]:
    """A suspended Job with no Dagwright label: no pod ever starts.

    `managedBy` another controller, so the built-in Job controller leaves it alone too (half the
    API server's work per Job; on clusters without the JobManagedBy feature the field is dropped
    and the Job controller just marks it Suspended).
    """
    return {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": name, "labels": {"app": "bench-unrelated"}},
        "spec": {
            "managedBy": UNRELATED_MANAGER,
            "suspend": True,
            "backoffLimit": 0,
            "template": {"spec": {"restartPolicy": "Never",
                                  "containers": [{"name": "main", "image": "busybox:1.36", "command": ["true"]}]}},
        },
    }
