"""The web view's copy of the cluster: one list-then-watch per kind, shared by every open page.

Workflows and WorkflowRuns are watched whole (every namespace, or the ones given); Jobs and pods
through the operator's own `JobIndex` (only those labelled `dagwright.io/run`, trimmed to each
attempt's facts). However many pages are open, the API server sees these four watches and
nothing else, apart from the one GET a page makes when someone opens a task's log.

Every change is reported as the set of topics it touches (`runs`, `workflows`,
`run/NS/NAME`, `workflow/NS/NAME`) to `on_change`, from the watch threads; the web layer turns
that into pushes to the pages that show them. Objects here are never changed in place.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from dagwright.api.names import label_value
from dagwright.kube.http import KubeHttp
from dagwright.kube.jobindex import JobIndex, RunKey
from dagwright.kube.resources import CRD_BASE
from dagwright.kube.watch import LabelWatch
from dagwright.planner.snapshot import ObservedJob
from dagwright.ui.views import workflow_of

Key = tuple[str, str]  # (namespace, name)
ChangeHandler = Callable[[set[str]], None]
RUNS, WORKFLOWS = "runs", "workflows"


def run_topic(namespace: str, name: str) -> str:
    return f"run/{namespace}/{name}"


def workflow_topic(namespace: str, name: str) -> str:
    return f"workflow/{namespace}/{name}"


def _custom_path(plural: str) -> Callable[[str | None], str]:
    def path(namespace: str | None) -> str:
        return f"{CRD_BASE}/namespaces/{namespace}/{plural}" if namespace else f"{CRD_BASE}/{plural}"
    return path


def _key(obj: dict[str, Any]) -> Key:
    meta = obj.get("metadata") or {}
    return str(meta.get("namespace", "")), str(meta.get("name", ""))


class KindCache:
    """The current objects of one kind, by (namespace, name), kept by one LabelWatch."""

    def __init__(self, http: KubeHttp, plural: str, namespaces: list[str] | None,
                 on_change: Callable[[list[dict[str, Any]]], None]) -> None:
        self._lock = threading.Lock()
        self._objects: dict[Key, dict[str, Any]] = {}
        self._on_change = on_change
        self.synced = threading.Event()
        self._listed: set[str | None] = set()
        self._wanted = len(namespaces or [None])
        self.watch = LabelWatch(http, plural, _custom_path(plural), "", namespaces, self._listed_all, self._event)

    def get(self, key: Key) -> dict[str, Any] | None:
        with self._lock:
            return self._objects.get(key)

    def all(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._objects.values())

    def _listed_all(self, namespace: str | None, items: list[dict[str, Any]]) -> None:
        fresh = {_key(item): item for item in items}
        with self._lock:
            gone = [self._objects.pop(k) for k in list(self._objects) if (namespace is None or k[0] == namespace)
                    and k not in fresh]
            self._objects.update(fresh)
            self._listed.add(namespace)
            if len(self._listed) >= self._wanted:
                self.synced.set()
        self._on_change(gone + list(fresh.values()))

    def _event(self, kind: str, obj: dict[str, Any]) -> None:
        key = _key(obj)
        with self._lock:
            if kind == "DELETED":
                self._objects.pop(key, None)
            else:
                self._objects[key] = obj
        self._on_change([obj])


class ClusterCache:
    """Workflows, runs and their attempts, for the namespaces given (None: all)."""

    def __init__(self, http: KubeHttp, namespaces: list[str] | None, on_change: ChangeHandler) -> None:
        self.http = http
        self.namespaces = namespaces
        self.on_change = on_change
        self.runs = KindCache(http, "workflowruns", namespaces, self._runs_changed)
        self.workflows = KindCache(http, "workflows", namespaces, self._workflows_changed)
        self.jobs = JobIndex(http, namespaces, self._jobs_changed)

    def start(self) -> None:
        self.runs.watch.start()
        self.workflows.watch.start()
        self.jobs.start()

    def stop(self) -> None:
        self.runs.watch.stop()
        self.workflows.watch.stop()
        self.jobs.stop()

    def wait_synced(self, timeout: float) -> bool:
        return all(event.wait(timeout) for event in (self.runs.synced, self.workflows.synced, self.jobs.synced))

    def attempts_of(self, namespace: str, run: str) -> dict[str, list[ObservedJob]]:
        """The run's attempts by task, as the operator sees them (finished pods merged in)."""
        return self.jobs.jobs_of((namespace, label_value(run)))

    def _runs_changed(self, runs: list[dict[str, Any]]) -> None:
        topics = {RUNS}
        for run in runs:
            namespace, name = _key(run)
            topics.add(run_topic(namespace, name))
            if workflow_of(run):
                topics.add(workflow_topic(namespace, workflow_of(run)))
        self.on_change(topics)

    def _workflows_changed(self, workflows: list[dict[str, Any]]) -> None:
        topics = {WORKFLOWS}
        for workflow in workflows:
            topics.add(workflow_topic(*_key(workflow)))
        # a run page that draws its DAG from the workflow (no frozen spec yet) follows it too
        names = {_key(w) for w in workflows}
        topics |= {run_topic(*_key(r)) for r in self.runs.all() if (_key(r)[0], workflow_of(r)) in names}
        self.on_change(topics)

    def _jobs_changed(self, key: RunKey) -> None:
        namespace, label = key
        self.on_change({run_topic(namespace, name) for ns, name in self._run_names(namespace) if label_value(name) == label})

    def _run_names(self, namespace: str) -> list[Key]:
        return [_key(r) for r in self.runs.all() if _key(r)[0] == namespace]
