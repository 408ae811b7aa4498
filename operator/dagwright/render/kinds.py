"""Each task kind (python, spark, dbt, container) rendered to what it puts into the task pod.

Pure. `build_kind_pod(task)` returns a `KindPod`: the `main` container with sensible defaults
for the tool, and the pod-level things the kind needs (volumes, a ServiceAccount). The pod
around it and the podTemplate merge are `render.job`'s business; the kinds themselves live in
`render.kind_python`, `render.kind_spark` and `render.kind_dbt`. docs/task-kinds.md describes
what each kind renders.
"""

from __future__ import annotations

from typing import Any

from dagwright.api.models import ContainerTask, Task
from dagwright.render.container import MAIN_CONTAINER, KindPod, build_container, build_env
from dagwright.render.kind_dbt import build_dbt_kind
from dagwright.render.kind_python import build_python_kind
from dagwright.render.kind_spark import build_spark_kind

__all__ = ["MAIN_CONTAINER", "KindPod", "build_container_kind", "build_kind_pod", "build_main_container"]


def build_container_kind(task: ContainerTask) -> KindPod:
    """A generic container: the image with its own command and args."""
    return KindPod(build_container(task.image, task.command, task.args, build_env(task.env), task.working_dir))


def build_kind_pod(task: Task) -> KindPod:
    """What `task`'s kind puts into its pod, whichever kind it is."""
    if task.python is not None:
        return build_python_kind(task.python)
    if task.spark is not None:
        return build_spark_kind(task.spark, task.name)
    if task.dbt is not None:
        return build_dbt_kind(task.dbt, check=task.check is not None)
    if task.container is not None:
        return build_container_kind(task.container)
    raise ValueError(f"task {task.name} has no task kind")


def build_main_container(task: Task) -> dict[str, Any]:
    """The `main` container of `task`, whichever kind it is."""
    return build_kind_pod(task).container
