"""What a user checks with kubectl, as test helpers: runs, their Jobs, their Events; with deadlines."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from kubernetes import client

GROUP, VERSION = "dagwright.io", "v1alpha1"
FINISHED = ("Succeeded", "Failed", "Cancelled")


def container_task(name: str, deps: list[str] | None = None, annotations: dict[str, str] | None = None,
                   **extra: Any) -> dict[str, Any]:
    task: dict[str, Any] = {"name": name, "container": {"image": "busybox:1.36", "command": ["true"]}, **extra}
    if deps:
        task["dependsOn"] = deps
    if annotations:
        task["podTemplate"] = {"metadata": {"annotations": annotations}}
    return task


def pod_spec(attempt: Any) -> Any:
    """The pod spec of an attempt: a Job's pod template, or the task Pod's own."""
    return attempt.spec.template.spec if getattr(attempt.spec, "template", None) is not None else attempt.spec


class Kube:
    """A namespace's Dagwright objects through the official client."""

    def __init__(self, api: client.ApiClient, namespace: str, task_resource: str | None = None) -> None:
        self.ns = namespace
        # Set by a test module that looks at its runs' Jobs (`TASK_RESOURCE = "Job"`): every workflow
        # it applies without `taskResource` gets this one. Other modules run the default (Pod).
        self.task_resource = task_resource
        self.custom = client.CustomObjectsApi(api)
        self.batch = client.BatchV1Api(api)
        self.core = client.CoreV1Api(api)

    # objects
    def pinned(self, spec: dict[str, Any]) -> dict[str, Any]:
        """`spec` with the module's task resource, unless it names one."""
        if self.task_resource is None or "taskResource" in spec:
            return spec
        return {**spec, "taskResource": self.task_resource}

    def apply_workflow(self, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Workflow", "metadata": {"name": name},
                "spec": self.pinned(spec)}
        return self.custom.create_namespaced_custom_object(GROUP, VERSION, self.ns, "workflows", body)

    def patch_workflow(self, name: str, patch: dict[str, Any]) -> None:
        self.custom.patch_namespaced_custom_object(GROUP, VERSION, self.ns, "workflows", name, patch)

    def create_run(self, name: str, workflow: str | None = None, spec: dict[str, Any] | None = None,
                   **extra: Any) -> dict[str, Any]:
        run_spec: dict[str, Any] = dict(extra)
        if workflow:
            run_spec["workflowRef"] = {"name": workflow}
        if spec is not None:
            run_spec["workflowSpec"] = self.pinned(spec)
        body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "WorkflowRun", "metadata": {"name": name}, "spec": run_spec}
        return self.custom.create_namespaced_custom_object(GROUP, VERSION, self.ns, "workflowruns", body)

    def run(self, name: str) -> dict[str, Any]:
        return self.custom.get_namespaced_custom_object(GROUP, VERSION, self.ns, "workflowruns", name)

    def patch_run(self, name: str, patch: dict[str, Any]) -> None:
        self.custom.patch_namespaced_custom_object(GROUP, VERSION, self.ns, "workflowruns", name, patch)

    def jobs(self, run: str | None = None) -> list[Any]:
        selector = f"dagwright.io/run={run}" if run else "dagwright.io/run"
        return self.batch.list_namespaced_job(self.ns, label_selector=selector).items

    def task_pods(self, run: str) -> list[Any]:
        """The run's bare task Pods (`taskResource: Pod`): owned by the WorkflowRun, not by a Job;
        sorted by task, then attempt."""
        pods = self.core.list_namespaced_pod(self.ns, label_selector=f"dagwright.io/run={run}").items
        return sorted((p for p in pods if any(o.kind == "WorkflowRun" for o in p.metadata.owner_references or [])),
                      key=lambda p: (p.metadata.labels["dagwright.io/task"], int(p.metadata.labels["dagwright.io/attempt"])))

    def attempts(self, run: str) -> list[Any]:
        """The objects that are the run's task attempts: its Jobs, else its task Pods."""
        return self.jobs(run) or self.task_pods(run)

    def attempt_keys(self, run: str) -> list[tuple[str, int]]:
        """(task, attempt) of every attempt (Job or task Pod) of the run, sorted."""
        return sorted((a.metadata.labels["dagwright.io/task"], int(a.metadata.labels["dagwright.io/attempt"]))
                      for a in self.attempts(run))

    def events(self, name: str) -> list[Any]:
        return [e for e in self.core.list_namespaced_event(self.ns).items if e.involved_object.name == name]

    def event_reasons(self, name: str) -> list[str]:
        return [e.reason for e in sorted(self.events(name), key=lambda e: e.metadata.creation_timestamp)]

    def told_progress(self, name: str) -> str:
        """What the run's start, progress and end Events said, in one text (a short run has one
        Event, RunSucceeded, carrying it all; a longer one spreads it over a few)."""
        told = {"RunStarted", "TaskSucceeded", "TaskStarted", "RunSucceeded", "RunFailed", "RunCancelled"}
        return "; ".join(e.message or "" for e in sorted(self.events(name), key=lambda e: e.metadata.creation_timestamp)
                         if e.reason in told)

    # waiting
    def wait_for(self, what: str, check: Callable[[], Any], timeout: float = 60, every: float = 0.1) -> Any:
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            last = check()
            if last:
                return last
            time.sleep(every)
        raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")

    def wait_for_phase(self, name: str, phases: tuple[str, ...] = FINISHED, timeout: float = 60) -> dict[str, Any]:
        def check():
            run = self.run(name)
            return run if (run.get("status") or {}).get("phase") in phases else None
        try:
            return self.wait_for(f"run {name} in {phases}", check, timeout)
        except AssertionError as error:
            raise AssertionError(f"{error}; status: {self.run(name).get('status')}") from None

    def task_phases(self, run: dict[str, Any]) -> dict[str, str]:
        return {n: t["phase"] for n, t in (run.get("status", {}).get("tasks") or {}).items()}
