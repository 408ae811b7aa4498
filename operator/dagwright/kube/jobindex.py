"""An in-memory index of Dagwright's Jobs and their finished pods, kept current by two watches.

Both watches ask the API server only for objects labelled `dagwright.io/run`, so unrelated Jobs
and pods in the cluster cost nothing. Each change is mapped to its run by label and reported
through `on_change(run key)` — the controller's wake-up call. Entries are trimmed facts, not
whole objects.

Why pods too: the Job controller marks a Job complete up to a second after its pod finished
(it batches pod updates); a finished pod of a `backoffLimit: 0` Job already decides the
attempt, so its dependents can start at once. Pods also carry the exit code and the
termination message (task outputs) without another API call. And a pod that has not started
says why (the kubelet's waiting reason): the planner fails attempts that cannot start.

With `taskResource: Pod` there is no Job: the bare task Pod (owned by its run) is the attempt,
read by `kube/podattempts.observe_task_pod` into the same `ObservedJob` and kept apart from the
Jobs (`_pod_attempts`), so that a re-list of either kind never drops the other's entries.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from dagwright.api.vocabulary import LABEL_RUN
from dagwright.kube.http import KubeHttp
from dagwright.kube.observe import (
    PodFacts,
    is_task_pod,
    job_run_key,
    observe_job,
    observe_pod,
    observe_waiting,
    pod_job_key,
)
from dagwright.kube.podattempts import observe_task_pod
from dagwright.kube.resources import watch_jobs_path, watch_pods_path
from dagwright.kube.watch import LabelWatch
from dagwright.planner.snapshot import FailureKind, JobState, ObservedJob, PodWaiting

RunKey = tuple[str, str]  # (namespace, run label value)


class JobIndex:
    """Jobs (and finished pods) by run, for the namespaces watched (None = all)."""

    def __init__(self, http: KubeHttp, namespaces: list[str] | None,
                 on_change: Callable[[RunKey], object]) -> None:
        self.namespaces = namespaces
        self.on_change = on_change
        self._lock = threading.Lock()
        self._jobs: dict[RunKey, dict[str, ObservedJob]] = {}
        self._pods: dict[RunKey, dict[str, PodFacts]] = {}
        self._waiting: dict[RunKey, dict[str, PodWaiting]] = {}  # pods not started, by Job name
        self._pod_attempts: dict[RunKey, dict[str, ObservedJob]] = {}  # bare task Pods (taskResource: Pod)
        self._listed: set[tuple[str, str | None]] = set()
        self.synced = threading.Event()
        self._watches = [
            LabelWatch(http, "jobs", watch_jobs_path, LABEL_RUN, namespaces, self.jobs_listed, self.job_event),
            LabelWatch(http, "pods", watch_pods_path, LABEL_RUN, namespaces, self.pods_listed, self.pod_event),
        ]

    # ----------------------------------------------------------------- reading

    def jobs_of(self, key: RunKey) -> dict[str, list[ObservedJob]]:
        """The run's Jobs grouped by task, with what their finished pods already tell."""
        with self._lock:
            entries = list(self._jobs.get(key, {}).values()) + list(self._pod_attempts.get(key, {}).values())
            pods = dict(self._pods.get(key, {}))
            waiting = dict(self._waiting.get(key, {}))
        by_task: dict[str, list[ObservedJob]] = {}
        for job in entries:
            merged = merge_pod_facts(job, pods.get(job.name))
            if merged.state == JobState.ACTIVE and job.name in waiting:
                merged = replace(merged, waiting=waiting[job.name])
            by_task.setdefault(job.task, []).append(merged)
        return by_task

    def pool_holders(self, namespace: str) -> dict[str, list[tuple[str, ObservedJob]]]:
        """Unfinished pool-labelled attempts in `namespace`, by pool: (run label, Job) each.

        A slot is derived from the Jobs that exist, never counted: a finished, deleted or
        stopped attempt (or a deleted run's Jobs) holds none.
        """
        with self._lock:
            runs = [(key, list(jobs.values()) + list(self._pod_attempts.get(key, {}).values()),
                     dict(self._pods.get(key, {})))
                    for key, jobs in self._jobs.items() if key[0] == namespace]
            runs += [(key, list(attempts.values()), dict(self._pods.get(key, {})))
                     for key, attempts in self._pod_attempts.items() if key[0] == namespace and key not in self._jobs]
        holders: dict[str, list[tuple[str, ObservedJob]]] = {}
        for key, jobs, pods in runs:
            for job in jobs:
                if job.pool and merge_pod_facts(job, pods.get(job.name)).state == JobState.ACTIVE:
                    holders.setdefault(job.pool, []).append((key[1], job))
        return holders

    def pod_facts(self, key: RunKey, job_name: str) -> PodFacts | None:
        with self._lock:
            return self._pods.get(key, {}).get(job_name)

    def record(self, key: RunKey, job: ObservedJob, pod: bool = False) -> None:
        """Note a Job (`pod`: a bare task Pod) we just created (or could not create), before its
        watch event arrives."""
        with self._lock:
            entries = (self._pod_attempts if pod else self._jobs).setdefault(key, {})
            current = entries.get(job.name)
            if current is None or current.state == job.state or job.failure:
                entries[job.name] = job

    def enrich(self, key: RunKey, name: str, **details: object) -> None:
        """Add what the Job's pod told us (exit code, outputs) to a Job's entry."""
        with self._lock:
            for entries in (self._jobs.get(key, {}), self._pod_attempts.get(key, {})):
                current = entries.get(name)
                if current is not None:
                    entries[name] = replace(current, **details)  # type: ignore[arg-type]

    def forget_run(self, key: RunKey) -> None:
        with self._lock:
            self._jobs.pop(key, None)
            self._pods.pop(key, None)
            self._waiting.pop(key, None)
            self._pod_attempts.pop(key, None)

    def size(self) -> int:
        with self._lock:
            return sum(len(v) for v in self._jobs.values()) + sum(len(v) for v in self._pod_attempts.values())

    # ----------------------------------------------------------------- watching

    def start(self) -> None:
        for watch in self._watches:
            watch.start()

    def stop(self) -> None:
        for watch in self._watches:
            watch.stop()

    def _mark_listed(self, kind: str, namespace: str | None) -> None:
        self._listed.add((kind, namespace))
        if len(self._listed) == 2 * len(self.namespaces or [None]):
            self.synced.set()

    def jobs_listed(self, namespace: str | None, items: list[dict[str, Any]]) -> None:
        now = datetime.now(UTC)
        fresh: dict[RunKey, dict[str, ObservedJob]] = {}
        for job in items:
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
                self._jobs[k] = {n: keep_detail(old.get(n), j) for n, j in entries.items()}
            self._mark_listed("jobs", namespace)
        for key in set(stale) | set(fresh):
            self.on_change(key)

    def job_event(self, kind: str, job: dict[str, Any]) -> None:
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
                observed = keep_detail(old, observed)
                if old == observed:
                    return
                entries[observed.name] = observed
                pod = self._pods.get(key, {}).get(observed.name)
                if old is not None and decides_same(old, observed, pod):
                    return  # e.g. startTime set, or Complete after its pod already said so: no pass
        self.on_change(key)

    def pods_listed(self, namespace: str | None, items: list[dict[str, Any]]) -> None:
        now = datetime.now(UTC)
        fresh: dict[RunKey, dict[str, PodFacts]] = {}
        waiting: dict[RunKey, dict[str, PodWaiting]] = {}
        attempts: dict[RunKey, dict[str, ObservedJob]] = {}
        for pod in items:
            if is_task_pod(pod) and (ids := pod_job_key(pod)) and (attempt := observe_task_pod(pod, now)):
                attempts.setdefault(ids[0], {})[attempt.name] = attempt
            seen = observe_pod(pod, now)
            if seen is not None:
                fresh.setdefault(seen[0], {})[seen[1].job] = seen[1]
            elif (wait := observe_waiting(pod)) is not None and (ids := pod_job_key(pod)) is not None:
                waiting.setdefault(ids[0], {})[ids[1]] = wait
        with self._lock:
            for k in [k for k in self._waiting if namespace is None or k[0] == namespace]:
                del self._waiting[k]
            self._waiting.update(waiting)
            for k in [k for k in self._pod_attempts if namespace is None or k[0] == namespace]:
                if k not in attempts:
                    del self._pod_attempts[k]
            for k, found in attempts.items():
                old_attempts = self._pod_attempts.get(k, {})
                self._pod_attempts[k] = {n: keep_detail(old_attempts.get(n), a) for n, a in found.items()}
            for k in [k for k in self._pods if namespace is None or k[0] == namespace]:
                if k not in fresh:
                    del self._pods[k]
            for k, entries in fresh.items():
                old = self._pods.get(k, {})
                self._pods[k] = {n: old.get(n) or f for n, f in entries.items()}
            self._mark_listed("pods", namespace)
        for key in set(fresh) | set(waiting) | set(attempts):
            self.on_change(key)

    def pod_event(self, kind: str, pod: dict[str, Any]) -> None:
        if is_task_pod(pod):
            self._task_pod_event(kind, pod)
        if self._note_waiting(kind, pod):
            return
        seen = observe_pod(pod, datetime.now(UTC))
        if seen is None:
            return
        key, facts = seen
        with self._lock:
            entries = self._pods.setdefault(key, {})
            if kind == "DELETED":
                entries.pop(facts.job, None)
                return
            if facts.job in entries:
                return  # first sight of a finished pod is what counts
            entries[facts.job] = facts
        self.on_change(key)

    def _task_pod_event(self, kind: str, pod: dict[str, Any]) -> None:
        """A bare task Pod changed: it is the attempt, as `job_event` is for a Job."""
        ids, observed = pod_job_key(pod), observe_task_pod(pod, datetime.now(UTC))
        if ids is None or observed is None:
            return
        key = ids[0]
        with self._lock:
            entries = self._pod_attempts.setdefault(key, {})
            old = entries.get(observed.name)
            if kind == "DELETED":
                entries.pop(observed.name, None)
            else:
                observed = keep_detail(old, observed)
                if old is not None and decides_same(old, observed, None):
                    entries[observed.name] = observed
                    return
                entries[observed.name] = observed
        self.on_change(key)

    def _note_waiting(self, kind: str, pod: dict[str, Any]) -> bool:
        """Track why a pod has not started; True when that changed (a pass was asked for)."""
        ids = pod_job_key(pod)
        if ids is None:
            return False
        key, job = ids
        wait = None if kind == "DELETED" else observe_waiting(pod)
        with self._lock:
            entries = self._waiting.setdefault(key, {})
            old = entries.get(job)
            if wait is None:
                entries.pop(job, None)
            else:
                entries[job] = wait
        if wait is not None and (old is None or old.reason != wait.reason or old.message != wait.message):
            self.on_change(key)
            return True
        return False


def merge_pod_facts(job: ObservedJob, pod: PodFacts | None) -> ObservedJob:
    """A Job's state as its finished pod already decides it (pure)."""
    if pod is None or job.stopped:
        return job
    if job.state == JobState.ACTIVE and pod.succeeded:
        return replace(job, state=JobState.SUCCEEDED, finished_at=pod.seen_at)
    # The pod's word over the Job controller's: its exit code, or its disruption's own reason
    # (EvictionByEvictionAPI, PreemptionByScheduler) rather than "matching FailJob rule at index 0".
    pod_says_more = job.failure_kind in (FailureKind.JOB, FailureKind.POD) or (
        job.failure_kind is FailureKind.DISRUPTED and pod.failure_kind is FailureKind.DISRUPTED)
    if job.state == JobState.FAILED and pod.failure and pod_says_more:
        return replace(job, failure=pod.failure, failure_kind=pod.failure_kind, exit_code=pod.exit_code)
    return job


def decides_same(old: ObservedJob, new: ObservedJob, pod: PodFacts | None) -> bool:
    """Whether the planner would decide the same with `new` as with `old` (pure).

    The planner acts on an attempt's state, failure, stop and outputs; a Job's start time or
    the Job controller confirming what the finished pod already told change nothing.
    """
    before, after = merge_pod_facts(old, pod), merge_pod_facts(new, pod)
    return (before.state, before.failure, before.stopped, before.outputs, before.outputs_error,
            before.outputs_ref) == \
        (after.state, after.failure, after.stopped, after.outputs, after.outputs_error, after.outputs_ref)


def keep_detail(old: ObservedJob | None, new: ObservedJob) -> ObservedJob:
    """Keep what we learnt before (finish time first seen, pod failure detail, outputs)."""
    if old is None:
        return new
    if old.state != new.state:
        return replace(new, outputs=old.outputs, outputs_error=old.outputs_error, outputs_ref=old.outputs_ref)
    pod_detail = old.failure_kind in (FailureKind.EXIT, FailureKind.DISRUPTED)
    return replace(new, finished_at=old.finished_at or new.finished_at,
                   failure=old.failure if pod_detail else new.failure,
                   failure_kind=old.failure_kind if pod_detail else new.failure_kind,
                   exit_code=old.exit_code if pod_detail else new.exit_code,
                   outputs=old.outputs, outputs_error=old.outputs_error, outputs_ref=old.outputs_ref)
