"""Each task kind (python, spark, dbt, container) rendered to the task pod's `main` container.

Pure. Returns a container dict with sensible defaults for the tool; the pod around it and the
podTemplate merge are `render.job`'s business.
"""

from __future__ import annotations

from typing import Any

from dagwright.api.models import ContainerTask, DbtTask, EnvVar, PythonTask, SparkTask, Task

MAIN_CONTAINER = "main"


def _env(env: list[EnvVar] | None) -> list[dict[str, str]]:
    return [{"name": e.name, "value": e.value} for e in env or []]


def _container(image: str, command: list[str] | None, args: list[str] | None,
               env: list[dict[str, str]] | None = None, working_dir: str | None = None) -> dict[str, Any]:
    container: dict[str, Any] = {"name": MAIN_CONTAINER, "image": image}
    if command:
        container["command"] = command
    if args:
        container["args"] = args
    if env:
        container["env"] = env
    if working_dir:
        container["workingDir"] = working_dir
    return container


def build_container_kind(task: ContainerTask) -> dict[str, Any]:
    """A generic container: the image with its own command and args."""
    return _container(task.image, task.command, task.args, _env(task.env), task.working_dir)


def build_python_kind(task: PythonTask) -> dict[str, Any]:
    """`python -c SCRIPT` or `python -m MODULE`, unbuffered so logs stream."""
    env = [{"name": "PYTHONUNBUFFERED", "value": "1"}] + _env(task.env)
    head = ["python", "-c", task.script] if task.script is not None else ["python", "-m", task.module or ""]
    return _container(task.image, head, task.args, env)


def build_spark_kind(task: SparkTask) -> dict[str, Any]:
    """spark-submit in local mode: driver and executors inside the task pod."""
    command = ["/opt/spark/bin/spark-submit", "--master", "local[*]", "--deploy-mode", "client"]
    if task.main_class:
        command += ["--class", task.main_class]
    for key, value in sorted((task.conf or {}).items()):
        command += ["--conf", f"{key}={value}"]
    command.append(task.main_application_file)
    return _container(task.image, command, task.args)


def build_dbt_kind(task: DbtTask) -> dict[str, Any]:
    """`dbt COMMAND` with select, project dir and target as flags."""
    args = task.command.split()
    for selector in task.select or []:
        args += ["--select", selector]
    if task.project_dir:
        args += ["--project-dir", task.project_dir, "--profiles-dir", task.project_dir]
    if task.target:
        args += ["--target", task.target]
    return _container(task.image, ["dbt"], args)


def build_main_container(task: Task) -> dict[str, Any]:
    """The `main` container of `task`, whichever kind it is."""
    if task.python is not None:
        return build_python_kind(task.python)
    if task.spark is not None:
        return build_spark_kind(task.spark)
    if task.dbt is not None:
        return build_dbt_kind(task.dbt)
    if task.container is not None:
        return build_container_kind(task.container)
    raise ValueError(f"task {task.name} has no task kind")
