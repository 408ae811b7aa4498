"""The benchmark's own eyes: a watch on Jobs (or their pods) per namespace, stamping each event on receipt.

Timestamps are local receive times (`time.monotonic()`, sub-millisecond), not Kubernetes'
`creationTimestamp` (1 s resolution). For every Job we keep when it was first seen (its ADDED
event) and when it was first seen finished (condition Complete or SuccessCriteriaMet True;
Failed/FailureTarget count as finished too, flagged). Watching pods instead, entries are keyed
by their Job's name (a pod without a Job - `taskResource: Pod`, Argo's - by its own) and
"finished" means the pod's phase is Succeeded or Failed - the earliest
moment anyone can know a task ended (the Job controller marks the Job up to ~1 s later). One
daemon thread per namespace, raw JSON lines (no model deserialisation), reconnecting from the
last resourceVersion.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from kubernetes import client

log = logging.getLogger("bench.jobwatch")

SUCCESS = ("Complete", "SuccessCriteriaMet")
FAILURE = ("Failed", "FailureTarget")
WATCH_SECONDS = 240


@dataclass
class SeenJob:
    """What the watch saw of one Job."""

    namespace: str
    name: str
    labels: dict[str, str]
    added: float  # time.monotonic() when first seen
    finished: float | None = None  # time.monotonic() when first seen finished
    failed: bool = False
    listed: bool = False  # already there when the watch started (no ADDED time)

    @property
    def run(self) -> str:
        return self.labels.get("dagwright.io/run", "")

    @property
    def task(self) -> str:
        return self.labels.get("dagwright.io/task", "")

    @property
    def attempt(self) -> int:
        try:
            return int(self.labels.get("dagwright.io/attempt", "1"))
        except ValueError:
            return 1


def finished_state(job: dict[str, Any]) -> str | None:
    """'succeeded', 'failed' or None (still going), from the Job's conditions."""
    for condition in (job.get("status") or {}).get("conditions") or []:
        if condition.get("status") != "True":
            continue
        if condition.get("type") in SUCCESS:
            return "succeeded"
        if condition.get("type") in FAILURE:
            return "failed"
    return None


def pod_finished_state(pod: dict[str, Any]) -> str | None:
    """'succeeded', 'failed' or None (still going), from the pod's phase."""
    phase = (pod.get("status") or {}).get("phase")
    return {"Succeeded": "succeeded", "Failed": "failed"}.get(phase or "")


def job_name_of_pod(pod: dict[str, Any]) -> str:
    labels = (pod.get("metadata") or {}).get("labels") or {}
    return labels.get("batch.kubernetes.io/job-name") or labels.get("job-name") or ""


def _lines(response: Any) -> Iterator[tuple[float, bytes]]:
    """Each complete line of a streamed watch answer, with the time its chunk arrived."""
    buffer = b""
    for chunk in response.stream(65536, decode_content=True):
        now = time.monotonic()
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            if line.strip():
                yield now, line


class JobWatch:
    """Jobs (or pods, by their Job's name) matching `selector` in the given namespaces."""

    def __init__(self, api: client.ApiClient, selector: str, pods: bool = False,
                 on_new: Callable[[dict[str, Any]], None] | None = None,
                 on_event: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.pods = pods
        self.on_new = on_new  # called (in the watch thread) with each object the first time it is seen
        self.on_event = on_event  # called (in the watch thread) with every object seen
        self._list_call = client.CoreV1Api(api).list_namespaced_pod if pods else client.BatchV1Api(api).list_namespaced_job
        self.selector = selector
        self.restarts = 0  # relists after 410 Gone, and reconnects after errors
        self.jobs: dict[tuple[str, str], SeenJob] = {}
        self._cond = threading.Condition()
        self._stopping = threading.Event()
        self._ready: dict[str, threading.Event] = {}
        self._responses: dict[str, Any] = {}

    # ------------------------------------------------------------- control

    def add_namespace(self, namespace: str, timeout: float = 30) -> None:
        """Start watching a namespace; returns once its initial list is done."""
        ready = self._ready[namespace] = threading.Event()
        name = f"watch-{'pods' if self.pods else 'jobs'}-{namespace}"
        threading.Thread(target=self._loop, args=(namespace,), daemon=True, name=name).start()
        if not ready.wait(timeout):
            raise RuntimeError(f"watch on {namespace} not ready in {timeout}s")

    def stop(self) -> None:
        self._stopping.set()
        for response in list(self._responses.values()):
            try:
                response.shutdown()  # unblocks the reading thread (close() would wait for it)
            except Exception:  # noqa: BLE001 - best effort: the threads are daemons anyway
                pass

    # ------------------------------------------------------------- reading

    def of(self, namespace: str, run: str | None = None) -> list[SeenJob]:
        with self._cond:
            return [j for j in self.jobs.values() if j.namespace == namespace and (run is None or j.run == run)]

    def wait(self, what: str, check: Callable[[], bool], timeout: float) -> None:
        """Block until `check()` (evaluated under the lock, on every event) holds."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not check():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
                self._cond.wait(min(left, 1.0))

    def count(self, namespace: str, finished: bool = False) -> int:
        """Jobs seen in a namespace (finished ones only, if asked). Call under `wait` or alone."""
        return sum(1 for j in self.jobs.values()
                   if j.namespace == namespace and (not finished or j.finished is not None))

    # ------------------------------------------------------------- the watch

    def _loop(self, namespace: str) -> None:
        version = None
        while not self._stopping.is_set():
            try:
                if version is None:
                    version = self._list(namespace)
                    self._ready[namespace].set()
                version = self._watch(namespace, version)
            except _Gone:
                self.restarts += 1
                version = None
            except Exception as error:  # noqa: BLE001 - log, back off, go on
                if self._stopping.is_set():
                    return
                self.restarts += 1
                log.warning("watch %s: %s; retrying", namespace, error)
                time.sleep(0.5)

    def _list(self, namespace: str) -> str:
        answer = self._list_call(namespace, label_selector=self.selector, _preload_content=False)
        body = json.loads(answer.data)
        now = time.monotonic()
        for job in body.get("items", []):
            self._record(now, job, listed=True)
        return body["metadata"]["resourceVersion"]

    def _watch(self, namespace: str, version: str) -> str:
        response = self._list_call(
            namespace, label_selector=self.selector, watch=True, resource_version=version,
            allow_watch_bookmarks=True, timeout_seconds=WATCH_SECONDS,
            _preload_content=False, _request_timeout=WATCH_SECONDS + 30)
        self._responses[namespace] = response
        try:
            for received, line in _lines(response):
                event = json.loads(line)
                kind, obj = event.get("type"), event.get("object") or {}
                if kind == "ERROR":
                    if obj.get("code") == 410:
                        raise _Gone()
                    raise RuntimeError(f"watch error: {obj.get('message')}")
                version = (obj.get("metadata") or {}).get("resourceVersion", version)
                if kind in ("ADDED", "MODIFIED"):
                    self._record(received, obj)
        finally:
            self._responses.pop(namespace, None)
            response.release_conn()
        return version

    def _record(self, received: float, job: dict[str, Any], listed: bool = False) -> None:
        meta = job.get("metadata") or {}
        # A Job's pod by its Job's name; a bare task Pod (taskResource: Pod, or Argo's) by its own.
        key = (meta.get("namespace", ""), (job_name_of_pod(job) or meta.get("name", "")) if self.pods
               else meta.get("name", ""))
        state = pod_finished_state(job) if self.pods else finished_state(job)
        with self._cond:
            seen = self.jobs.get(key)
            new = seen is None
            if seen is None:
                seen = self.jobs[key] = SeenJob(key[0], key[1], dict(meta.get("labels") or {}), received,
                                                listed=listed)
            if state is not None and seen.finished is None:
                seen.finished, seen.failed = received, state == "failed"
            self._cond.notify_all()
        if new and self.on_new is not None:
            self.on_new(job)
        if self.on_event is not None:
            self.on_event(job)


class _Gone(Exception):
    """410: the resourceVersion is too old; list again."""
