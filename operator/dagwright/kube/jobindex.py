"""An in-memory index of Dagwright's Jobs, kept current by one server-side-filtered watch.

The watch asks the API server only for Jobs labelled `dagwright.io/run`, so unrelated Jobs in
the cluster cost nothing. Each change is mapped to its run by label and reported through
`on_change(namespace, run_label)` — the controller's wake-up call. Entries are trimmed
`ObservedJob`s, not whole Jobs. Runs in a daemon thread; reconnects and relists on 410 Gone.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

from dagwright.kube.http import ApiError, KubeHttp
from dagwright.kube.observe import job_run_key, observe_job
from dagwright.kube.resources import list_jobs, watch_jobs_path
from dagwright.planner.snapshot import ObservedJob
from dagwright.render.job import LABEL_RUN

log = logging.getLogger("dagwright.jobindex")

RunKey = tuple[str, str]  # (namespace, run label value)
WATCH_TIMEOUT_SECONDS = 290


class JobIndex:
    """Jobs by run, for the namespaces watched (None = all)."""

    def __init__(self, http: KubeHttp, namespaces: list[str] | None,
                 on_change: Callable[[RunKey], None]) -> None:
        self.http = http
        self.namespaces = namespaces
        self.on_change = on_change
        self._lock = threading.Lock()
        self._jobs: dict[RunKey, dict[str, ObservedJob]] = {}
        self._synced: set[str | None] = set()
        self._stopping = threading.Event()
        self.synced = threading.Event()

    # ----------------------------------------------------------------- reading

    def jobs_of(self, key: RunKey) -> dict[str, list[ObservedJob]]:
        """The run's Jobs grouped by task (a copy)."""
        with self._lock:
            entries = list(self._jobs.get(key, {}).values())
        by_task: dict[str, list[ObservedJob]] = {}
        for job in entries:
            by_task.setdefault(job.task, []).append(job)
        return by_task

    def record(self, key: RunKey, job: ObservedJob) -> None:
        """Note a Job we just created or enriched, before its watch event arrives."""
        with self._lock:
            current = self._jobs.setdefault(key, {}).get(job.name)
            if current is None or current.state == job.state or job.failure:
                self._jobs[key][job.name] = job

    def enrich(self, key: RunKey, name: str, **details: object) -> None:
        """Add what the Job's pod told us (exit code, outputs) to a Job's entry."""
        with self._lock:
            current = self._jobs.get(key, {}).get(name)
            if current is not None:
                self._jobs[key][name] = replace(current, **details)  # type: ignore[arg-type]

    def forget_run(self, key: RunKey) -> None:
        """Drop a deleted run's entries."""
        with self._lock:
            self._jobs.pop(key, None)

    def size(self) -> int:
        with self._lock:
            return sum(len(v) for v in self._jobs.values())

    # ----------------------------------------------------------------- watching

    def start(self) -> None:
        for namespace in self.namespaces or [None]:
            threading.Thread(target=self._run, args=(namespace,), daemon=True,
                             name=f"jobindex-{namespace or 'all'}").start()

    def stop(self) -> None:
        self._stopping.set()

    def _run(self, namespace: str | None) -> None:
        backoff = 0.2
        while not self._stopping.is_set():
            try:
                version = self._relist(namespace)
                backoff = 0.2
                while not self._stopping.is_set():
                    version = self._watch(namespace, version)
            except _Expired:
                continue
            except Exception as error:  # noqa: BLE001 - any failure: log, back off, relist
                log.warning("job watch (%s) failed: %s; retrying in %.1fs", namespace or "all", error, backoff)
                time.sleep(backoff)
                backoff = min(backoff * 2, 10.0)

    def _relist(self, namespace: str | None) -> str:
        answer = list_jobs(self.http, namespace, LABEL_RUN)
        now = datetime.now(UTC)
        fresh: dict[RunKey, dict[str, ObservedJob]] = {}
        for job in answer.get("items", []):
            key, observed = job_run_key(job), observe_job(job, now)
            if key and observed:
                fresh.setdefault(key, {})[observed.name] = observed
        with self._lock:
            stale = [k for k in self._jobs if namespace is None or k[0] == namespace]
            for k in stale:
                if k not in fresh:
                    del self._jobs[k]
            for k, entries in fresh.items():
                old = self._jobs.get(k, {})
                self._jobs[k] = {n: _keep_detail(old.get(n), j) for n, j in entries.items()}
            self._synced.add(namespace)
            if len(self._synced) == len(self.namespaces or [None]):
                self.synced.set()
        for key in set(stale) | set(fresh):
            self.on_change(key)
        return answer["metadata"]["resourceVersion"]

    def _watch(self, namespace: str | None, version: str) -> str:
        query = {"watch": "true", "labelSelector": LABEL_RUN, "resourceVersion": version,
                 "allowWatchBookmarks": "true", "timeoutSeconds": WATCH_TIMEOUT_SECONDS}
        for event in self.http.stream(watch_jobs_path(namespace), query, WATCH_TIMEOUT_SECONDS + 30):
            kind, obj = event.get("type"), event.get("object", {})
            if kind == "ERROR":
                if obj.get("code") == 410:
                    raise _Expired()
                raise ApiError(obj.get("code", 500), "WATCH", "jobs", str(obj.get("message")))
            version = obj.get("metadata", {}).get("resourceVersion", version)
            if kind == "BOOKMARK":
                continue
            self._apply(kind, obj)
        return version

    def _apply(self, kind: str, job: dict) -> None:
        key = job_run_key(job)
        observed = observe_job(job, datetime.now(UTC))
        if key is None or observed is None:
            return
        with self._lock:
            entries = self._jobs.setdefault(key, {})
            old = entries.get(observed.name)
            if kind == "DELETED":
                entries.pop(observed.name, None)
            else:
                observed = _keep_detail(old, observed)
                if old == observed:
                    return
                entries[observed.name] = observed
        self.on_change(key)


def _keep_detail(old: ObservedJob | None, new: ObservedJob) -> ObservedJob:
    """Keep what we learnt before (finish time first seen, pod failure detail)."""
    if old is None or old.state != new.state:
        return new
    pod_detail = old.failure is not None and "exit code" in old.failure
    return replace(new, finished_at=old.finished_at or new.finished_at,
                   failure=old.failure if pod_detail else new.failure,
                   outputs=old.outputs, outputs_error=old.outputs_error)


class _Expired(Exception):
    """The watch's resourceVersion is too old (410 Gone): relist."""
