"""Argo Workflows on the bench's cluster: its CRDs, its controller process, and argoexec's writes.

For `make bench-argo` (bench/sidebyside.py). The controller is the binary `hack/build-argo.sh`
builds from the Go module proxy (`.cache/argo/workflow-controller`), run out of cluster as its
own ServiceAccount identity (so the audit log tells its writes apart), watching every namespace
(`--namespaced=false`), with its ConfigMap in namespace `argo`.

Argo's pods on a real node run argoexec's `wait` container, which writes the pod's
WorkflowTaskResult; the controller (v3.5+) waits for it before it marks the pod's node done.
kwok runs no container, so `TaskResults` makes the same three writes argoexec makes for a
container template without outputs, as a separate identity (counted apart, never as Argo's):
create the result (labels `workflows.argoproj.io/workflow`, `report-outputs-completed=false`,
owned by the Workflow) when the pod runs; after the main container ended, a merge patch of
`outputs: {}`; then the label `report-outputs-completed=true`. kwok keeps Argo's pods Running
(they are owned by neither a Job nor a WorkflowRun) until `TaskResults` has created the result
and annotated the pod `sim.dagwright.io/duration: 0s` (a 4th write, the stand-in for the
container running): the result exists before the pod ends, as in reality.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from kubernetes import client
from kubernetes.client.rest import ApiException

from bench.cluster import REPO, Cluster, _run
from bench.operator import free_port

log = logging.getLogger("bench.argo")

ARGO_DIR = REPO / ".cache" / "argo"
ARGO_BIN = ARGO_DIR / "workflow-controller"
ARGO_VERSION = os.environ.get("ARGO_VERSION", "v3.7.18")
ARGO_NAMESPACE = "argo"
CONFIGMAP = "workflow-controller-configmap"
GROUP, VERSION = "argoproj.io", "v1alpha1"
WF_LABEL = "workflows.argoproj.io/workflow"
DONE_LABEL = "workflows.argoproj.io/report-outputs-completed"
NODE_ID = "workflows.argoproj.io/node-id"
NODE_NAME = "workflows.argoproj.io/node-name"
RELEASE = {"metadata": {"annotations": {"sim.dagwright.io/duration": "0s"}}}
# Argo "tuned": twice the default workers, the client QPS of Argo's scaling docs, and the
# shortest requeue its rate limiter comment calls sensible (the default is 10 s).
TUNED_ARGS = ["--workflow-workers=64", "--qps=50", "--burst=75"]
TUNED_ENV = {"DEFAULT_REQUEUE_TIME": "1s"}


def build(env: dict[str, str]) -> None:
    """Build the controller unless built (hack/build-argo.sh is idempotent)."""
    _run([str(REPO / "hack" / "build-argo.sh")], env, timeout=3600)


def install(cluster: Cluster) -> None:
    """Argo's CRDs (the minimal ones of its release install), namespace `argo`, its ConfigMap."""
    _run(["kubectl", "apply", "--server-side", "--force-conflicts", "-f", str(ARGO_DIR / "crds")], cluster.env, 120)
    _run(["kubectl", "wait", "--for=condition=Established", "--timeout=60s", "crd/workflows.argoproj.io",
          "crd/workflowtaskresults.argoproj.io"], cluster.env, 90)
    core = client.CoreV1Api(cluster.api)
    try:
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=ARGO_NAMESPACE)))
    except ApiException as exc:
        if exc.status != 409:
            raise


class Controller:
    """One workflow-controller process (default or tuned settings)."""

    def __init__(self, kubeconfig: Path, log_path: Path, env: dict[str, str], tuned: bool) -> None:
        self.kubeconfig, self.log_path, self.tuned = kubeconfig, log_path, tuned
        self.env = {**env, "KUBECONFIG": str(kubeconfig), "LEADER_ELECTION_IDENTITY": "dagwright-bench",
                    **(TUNED_ENV if tuned else {})}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, cluster: Cluster, timeout: float = 120) -> None:
        healthz, metrics = free_port(), free_port()
        core = client.CoreV1Api(cluster.api)
        data = {"metricsConfig": f"enabled: true\nport: {metrics}\n", "telemetryConfig": f"port: {metrics}\n"}
        body = client.V1ConfigMap(metadata=client.V1ObjectMeta(name=CONFIGMAP), data=data)
        try:
            core.replace_namespaced_config_map(CONFIGMAP, ARGO_NAMESPACE, body)
        except ApiException as exc:
            if exc.status != 404:
                raise
            core.create_namespaced_config_map(ARGO_NAMESPACE, body)
        cmd = [str(ARGO_BIN), "--kubeconfig", str(self.kubeconfig), "--namespace", ARGO_NAMESPACE,
               "--configmap", CONFIGMAP, "--executor-image", f"quay.io/argoproj/argoexec:{ARGO_VERSION}",
               "--namespaced=false", "--loglevel", "warn", *(TUNED_ARGS if self.tuned else [])]
        with open(self.log_path, "ab") as out:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         env={**self.env, "ARGO_HEALTHZ_PORT": str(healthz)})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"workflow-controller exited {self.proc.returncode}; see {self.log_path}")
            if _leading(cluster):
                time.sleep(2)  # informers synced shortly after the lease
                return
            time.sleep(0.5)
        raise RuntimeError(f"workflow-controller did not take its lease in {timeout}s; see {self.log_path}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def _leading(cluster: Cluster) -> bool:
    """Whether our controller holds Argo's leader lease in namespace `argo`."""
    try:
        leases = client.CoordinationV1Api(cluster.api).list_namespaced_lease(ARGO_NAMESPACE).items
    except ApiException:
        return False
    return any((lease.spec.holder_identity or "").startswith("dagwright-bench") for lease in leases)


class TaskResults:
    """argoexec's WorkflowTaskResult writes for Argo's pods in some namespaces (see the module)."""

    def __init__(self, api: client.ApiClient, workers: int = 64) -> None:
        self.core, self.custom = client.CoreV1Api(api), client.CustomObjectsApi(api)
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix="argoexec")
        self.lock = threading.Lock()
        self.started: set[str] = set()
        self.finishing: set[str] = set()
        self.errors = 0

    def pod_seen(self, pod: dict[str, Any]) -> None:
        """Called with every pod event (the bench's pod watch)."""
        meta, phase = pod.get("metadata") or {}, (pod.get("status") or {}).get("phase")
        uid = meta.get("uid", "")
        if phase == "Running":
            with self.lock:
                if uid in self.started:
                    return
                self.started.add(uid)
            self.pool.submit(self._start, pod)
        elif phase in ("Succeeded", "Failed"):
            with self.lock:
                if uid in self.finishing:
                    return
                self.finishing.add(uid)
            self.pool.submit(self._finish, pod)

    def _start(self, pod: dict[str, Any]) -> None:
        meta = pod["metadata"]
        workflow = next((o for o in meta.get("ownerReferences") or [] if o.get("kind") == "Workflow"), None)
        node = (meta.get("annotations") or {}).get(NODE_ID)
        if workflow is None or node is None:
            return
        body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "WorkflowTaskResult",
                "metadata": {"name": node, "labels": {WF_LABEL: workflow["name"], DONE_LABEL: "false"},
                             "ownerReferences": [{"apiVersion": f"{GROUP}/{VERSION}", "kind": "Workflow",
                                                  "name": workflow["name"], "uid": workflow["uid"]}]}}
        try:
            self.custom.create_namespaced_custom_object(GROUP, VERSION, meta["namespace"], "workflowtaskresults", body)
            self.core.patch_namespaced_pod(meta["name"], meta["namespace"], RELEASE)
        except ApiException as exc:
            self.errors += 1
            log.warning("task result of %s: %s %s", meta["name"], exc.status, exc.reason)

    def _finish(self, pod: dict[str, Any]) -> None:
        meta = pod["metadata"]
        node = (meta.get("annotations") or {}).get(NODE_ID)
        if node is None:
            return
        try:
            for patch in ({"metadata": {"creationTimestamp": None}, "outputs": {}},
                          {"metadata": {"labels": {DONE_LABEL: "true"}}}):
                self.custom.patch_namespaced_custom_object(GROUP, VERSION, meta["namespace"], "workflowtaskresults",
                                                           node, patch)
        except ApiException as exc:
            self.errors += 1
            log.warning("task result of %s: %s %s", meta["name"], exc.status, exc.reason)

    def stop(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=False)


def workflow(name: str, dag: dict[str, list[str]]) -> dict[str, Any]:
    """An Argo Workflow of container tasks (`busybox:1.36`, `true`) with dependencies `dag`."""
    tasks = [{"name": t, "template": "task", **({"dependencies": deps} if deps else {})} for t, deps in dag.items()]
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Workflow", "metadata": {"name": name},
            "spec": {"entrypoint": "main", "templates": [
                {"name": "main", "dag": {"tasks": tasks}},
                {"name": "task", "container": {"image": "busybox:1.36", "command": ["true"]}}]}}


def task_of(pod: dict[str, Any]) -> tuple[str, str] | None:
    """(workflow, task) of an Argo pod, from its node name `<workflow>.<task>`."""
    meta = pod.get("metadata") or {}
    node = (meta.get("annotations") or {}).get(NODE_NAME, "")
    workflow = (meta.get("labels") or {}).get(WF_LABEL)
    if not workflow or not node.startswith(workflow + "."):
        return None
    return workflow, node[len(workflow) + 1:]


def json_dump(value: Any) -> str:
    return json.dumps(value, indent=2)
