"""The `spark` task kind: `spark-submit` in the task pod, in local or Kubernetes mode.

Pure. The task pod always runs the driver (client mode), so a task attempt is one Job whose
logs and exit code are the application's.

- `mode: local` (default): `--master local[N]`, N = `driver.cores` (`*` when unset); driver and
  executors are threads of one JVM in the task pod, which is sized from the driver settings.
- `mode: kubernetes`: `--master k8s://https://kubernetes.default.svc`; executors are pods the
  driver creates through the API. The pod's own name (`spark.kubernetes.driver.pod.name`, from
  the downward API) makes the driver pod their owner, so Kubernetes deletes them with it; the
  executors reach the driver at the pod IP (`spark.driver.host`) on fixed ports (driver RPC
  7078, block manager 7079), no Service needed. The pod runs as ServiceAccount
  `dagwright-spark` (the Helm chart creates it with a Role for pods, services, configmaps and
  PVCs) unless the task sets `serviceAccountName`.

Resources: the driver pod requests `driver.cores` CPUs and `driver.memory` plus Spark's own
overhead for memory outside the heap (`max(384 MiB, 10 %)`, 40 % for Python applications whose
workers live outside the JVM), as request and limit. With `packages`, Ivy's cache goes to
`/tmp/.ivy2` (the apache/spark images have no writable home directory). `conf` entries win over
everything this module sets.
"""

from __future__ import annotations

import math
import re
from typing import Any

from dagwright.api.models import SparkMode, SparkTask
from dagwright.render.container import KindPod, build_container

SPARK_SUBMIT = "/opt/spark/bin/spark-submit"
KUBERNETES_MASTER = "k8s://https://kubernetes.default.svc"
SPARK_SERVICE_ACCOUNT = "dagwright-spark"
DRIVER_PORT = 7078
BLOCK_MANAGER_PORT = 7079
UI_PORT = 4040
IVY_DIR = "/tmp/.ivy2"
MIN_OVERHEAD_MIB = 384
JVM_OVERHEAD_FACTOR = 0.10
NON_JVM_OVERHEAD_FACTOR = 0.40

_UNITS_MIB = {"": 1.0, "k": 1 / 1024, "m": 1.0, "g": 1024.0, "t": 1024.0 * 1024}
_MEMORY = re.compile(r"^([0-9]+)([kmgt]?)b?$")


def spark_memory_mib(text: str) -> int:
    """A Spark memory string in MiB, as Spark reads it: `4g` -> 4096, `512m` -> 512, `100` -> 100."""
    match = _MEMORY.match(text.strip().lower())
    if not match:
        raise ValueError(f"not a Spark memory size: {text!r}")
    return max(1, int(int(match.group(1)) * _UNITS_MIB[match.group(2)]))


def is_python_application(task: SparkTask) -> bool:
    """PySpark (and SparkR) applications run workers outside the JVM heap."""
    return task.main_application_file.lower().endswith((".py", ".r"))


def pod_memory_mib(heap_mib: int, non_jvm: bool) -> int:
    """Memory of a pod whose JVM has `heap_mib` of heap: the heap plus Spark's overhead."""
    factor = NON_JVM_OVERHEAD_FACTOR if non_jvm else JVM_OVERHEAD_FACTOR
    return heap_mib + max(MIN_OVERHEAD_MIB, math.ceil(heap_mib * factor))


def build_driver_resources(task: SparkTask) -> dict[str, Any] | None:
    """Requests (and a memory limit) for the task pod, from the driver settings; None if unset."""
    cores = task.driver.cores if task.driver else None
    heap = task.driver.memory if task.driver else None
    requests: dict[str, str] = {}
    limits: dict[str, str] = {}
    if cores:
        requests["cpu"] = str(cores)
    if heap:
        memory = f"{pod_memory_mib(spark_memory_mib(heap), is_python_application(task))}Mi"
        requests["memory"] = limits["memory"] = memory
    if not requests:
        return None
    return {"requests": requests, **({"limits": limits} if limits else {})}


def build_master(task: SparkTask) -> str:
    """`local[N]` from the driver cores, or the in-cluster Kubernetes API."""
    if SparkMode(task.mode) == SparkMode.KUBERNETES:
        return KUBERNETES_MASTER
    cores = task.driver.cores if task.driver else None
    return f"local[{cores or '*'}]"


def build_spark_conf(task: SparkTask) -> list[tuple[str, str]]:
    """Every `--conf` pair: what the fields imply, then `conf` (which wins on the same key)."""
    conf: dict[str, str] = {}
    if task.executor and task.executor.cores:
        conf["spark.executor.cores"] = str(task.executor.cores)
    if task.executor and task.executor.memory:
        conf["spark.executor.memory"] = task.executor.memory
    if task.executors:
        conf["spark.executor.instances"] = str(task.executors.instances)
    if task.packages:
        conf["spark.jars.ivy"] = IVY_DIR
    if SparkMode(task.mode) == SparkMode.KUBERNETES:
        conf.update(
            {
                "spark.kubernetes.container.image": task.image,
                "spark.kubernetes.namespace": "$(POD_NAMESPACE)",
                "spark.kubernetes.driver.pod.name": "$(POD_NAME)",
                "spark.kubernetes.authenticate.driver.serviceAccountName": "$(POD_SERVICE_ACCOUNT)",
                "spark.driver.host": "$(POD_IP)",
                "spark.driver.bindAddress": "0.0.0.0",
                "spark.driver.port": str(DRIVER_PORT),
                "spark.driver.blockManager.port": str(BLOCK_MANAGER_PORT),
                "spark.blockManager.port": str(BLOCK_MANAGER_PORT),
            }
        )
    for key, value in sorted((task.conf or {}).items()):
        conf[key] = value
    return list(conf.items())


def build_spark_command(task: SparkTask, app_name: str) -> list[str]:
    """`spark-submit` with master, name, class, packages, driver memory, conf and the app file."""
    command = [SPARK_SUBMIT, "--master", build_master(task), "--deploy-mode", "client"]
    command += ["--name", app_name]
    if task.main_class:
        command += ["--class", task.main_class]
    if task.packages:
        command += ["--packages", ",".join(task.packages)]
    if task.driver and task.driver.memory:
        command += ["--driver-memory", task.driver.memory]
    for key, value in build_spark_conf(task):
        command += ["--conf", f"{key}={value}"]
    command.append(task.main_application_file)
    return command


def _field_env(name: str, path: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"fieldRef": {"fieldPath": path}}}


def build_spark_kind(task: SparkTask, app_name: str) -> KindPod:
    """The driver container (and, in Kubernetes mode, its ServiceAccount) of a Spark task."""
    kubernetes = SparkMode(task.mode) == SparkMode.KUBERNETES
    env: list[dict[str, Any]] = []
    if kubernetes:
        env = [
            _field_env("POD_NAME", "metadata.name"),
            _field_env("POD_NAMESPACE", "metadata.namespace"),
            _field_env("POD_IP", "status.podIP"),
            _field_env("POD_SERVICE_ACCOUNT", "spec.serviceAccountName"),
        ]
    container = build_container(task.image, build_spark_command(task, app_name), task.args, env)
    resources = build_driver_resources(task)
    if resources:
        container["resources"] = resources
    if kubernetes:
        container["ports"] = [
            {"name": "driver-rpc", "containerPort": DRIVER_PORT, "protocol": "TCP"},
            {"name": "blockmanager", "containerPort": BLOCK_MANAGER_PORT, "protocol": "TCP"},
            {"name": "spark-ui", "containerPort": UI_PORT, "protocol": "TCP"},
        ]
    return KindPod(container, service_account_name=SPARK_SERVICE_ACCOUNT if kubernetes else None)
