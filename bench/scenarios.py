"""The benchmark scenarios, one function each; each returns its figures as a dict.

They share a `Bench`: the cluster, the benchmark's own Job watch, the operator process and the
namespaces. Each scenario works in its own namespace, so API writes can be counted per scenario
from the audit log (namespace + time window), and deletes it when done (waiting until it is
gone, so that the next scenario does not run alongside the garbage collector).
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from kubernetes.client.rest import ApiException

from bench import workloads
from bench.cluster import Cluster, delete_namespace
from bench.instant import InstantJobs
from bench.jobwatch import JobWatch, SeenJob
from bench.operator import Operator, RssSampler
from bench.report import summary_ms
from bench.workloads import GROUP, VERSION

log = logging.getLogger("bench")

FINISHED = ("Succeeded", "Failed", "Cancelled")
SETTLE_SECONDS = 3.0  # after a run ends: its last Events are posted off the hot path
CLIENT_THREADS = 32
RAW_THREADS = (8, 32, 64)  # the bare client's concurrency levels (raw1, raw2, raw3): the best one counts
CHAIN_TASKS = 50
DIAMONDS = 100
FANOUT_TASKS = 1000
FANOUT_POD_SECONDS = "10s"  # so that all 1,000 tasks are active at once
UNRELATED_JOBS = 10_000
STATUS_LAYERS, STATUS_WIDTH = 2, 2500
NAMESPACE_GONE_SECONDS = 180
STATUS_TIMEOUT_SECONDS = 540


@dataclass
class Window:
    """Where and when a scenario's operator writes happened, and for how many tasks."""

    namespace: str
    since: datetime
    until: datetime
    tasks: int


@dataclass
class Bench:
    cluster: Cluster
    watch: JobWatch  # Jobs
    pods: JobWatch  # their pods
    operator: Operator
    namespaces: dict[str, str]
    instant_tasks: bool = False  # the 5,000-task run's Jobs completed by the bench (local cluster)
    windows: dict[str, Window] = field(default_factory=dict)

    # ------------------------------------------------------------- objects

    def create_workflow(self, namespace: str, name: str, spec: dict[str, Any]) -> None:
        """Create (not client-side apply: no last-applied annotation doubling a big spec)."""
        self.cluster.custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "workflows",
                                                            workloads.workflow(name, spec), _preload_content=False)

    def create_run(self, namespace: str, name: str, workflow: str) -> None:
        self.cluster.custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "workflowruns",
                                                            workloads.run(name, workflow), _preload_content=False)

    def runs(self, namespace: str) -> dict[str, dict[str, Any]]:
        answer = self.cluster.custom.list_namespaced_custom_object(GROUP, VERSION, namespace, "workflowruns",
                                                                   _preload_content=False)
        return {r["metadata"]["name"]: r for r in json.loads(answer.data)["items"]}

    def run_raw(self, namespace: str, name: str) -> bytes:
        """A run object exactly as the API server sends it (compact JSON)."""
        return self.cluster.custom.get_namespaced_custom_object(GROUP, VERSION, namespace, "workflowruns", name,
                                                                _preload_content=False).data

    def wait_finished(self, namespace: str, names: list[str], timeout: float, every: float) -> dict[str, Any]:
        """Poll until every named run is in a final phase; its bodies. Fails loudly on a timeout."""
        deadline = time.monotonic() + timeout
        while True:
            self.operator.check_alive()
            runs = self.runs(namespace)
            phases = {n: (runs.get(n, {}).get("status") or {}).get("phase") for n in names}
            if all(p in FINISHED for p in phases.values()):
                return runs
            if time.monotonic() > deadline:
                pending = {n: p for n, p in phases.items() if p not in FINISHED}
                raise TimeoutError(f"{namespace}: runs not finished after {timeout:.0f}s: "
                                   f"{dict(list(pending.items())[:5])} ({len(pending)} pending)")
            time.sleep(every)

    def wait_watch_finished(self, namespace: str, tasks: int, timeout: float = 30) -> None:
        """Our watch has seen `tasks` Jobs finish (the run's status may be ahead of our stream)."""
        self.watch.wait(f"{tasks} finished Jobs in {namespace}",
                        lambda: self.watch.count(namespace, finished=True) >= tasks, timeout)

    def cleanup(self, role: str) -> float:
        """Delete a scenario's namespace and wait until its Jobs and pods are gone (seconds taken).

        The namespace itself may linger in Terminating a while longer (the namespace controller
        is shared with everyone); what loads the API server is deleting its content.
        """
        namespace, started = self.namespaces[role], time.monotonic()
        delete_namespace(self.cluster, namespace)
        deadline = started + NAMESPACE_GONE_SECONDS
        while time.monotonic() < deadline:
            if self._emptied(namespace):
                return round(time.monotonic() - started, 1)
            time.sleep(0.5)
        log.warning("namespace %s still has Jobs or pods after %ss; going on", namespace, NAMESPACE_GONE_SECONDS)
        return round(time.monotonic() - started, 1)

    def _emptied(self, namespace: str) -> bool:
        try:
            jobs = self.cluster.batch.list_namespaced_job(namespace, limit=1, _preload_content=False)
            pods = self.cluster.core.list_namespaced_pod(namespace, limit=1, _preload_content=False)
        except ApiException as exc:
            if exc.status == 404:
                return True
            raise
        return not json.loads(jobs.data)["items"] and not json.loads(pods.data)["items"]

    def sample_rss(self, seconds: float) -> float:
        """The peak RSS over a few seconds of sampling."""
        with RssSampler(self.operator.pid) as rss:
            time.sleep(seconds)
        return round(rss.peak, 1)


def now() -> datetime:
    return datetime.now(UTC)


def dispatch_latencies(jobs: list[SeenJob], deps: dict[str, list[str]],
                       ends: list[SeenJob] | None = None) -> tuple[list[float], int]:
    """For each first attempt of a task with dependencies: its Job's ADDED time minus the latest
    finished time of its dependencies (same run) - their Jobs', or their pods' if `ends` (the pod
    watch's entries) is given. Also how many could not be measured."""
    first = {(j.run, j.task): j for j in jobs if j.attempt == 1}
    finishers = first if ends is None else {(p.run, p.task): p for p in ends if p.attempt == 1}
    latencies, missing = [], 0
    for (run, name), job in first.items():
        parents = deps.get(name) or []
        if not parents:
            continue
        finished = [finishers[(run, p)].finished if (run, p) in finishers else None for p in parents]
        if job.listed or any(f is None for f in finished):
            missing += 1
            continue
        latencies.append(job.added - max(f for f in finished if f is not None))
    return latencies, missing


@dataclass
class Dispatch:
    """A scenario's dispatch latencies: from the dependencies' Jobs finishing, and from their pods."""

    from_job: list[float]
    from_pod: list[float]
    figures: dict[str, Any]


def measure_dispatch(bench: Bench, namespace: str, spec: dict[str, Any], pods: bool = True) -> Dispatch:
    """Dispatch latencies in a namespace, from our Job watch (and pod watch, if it ran there)."""
    deps = workloads.dependencies(spec)
    jobs = bench.watch.of(namespace)
    from_job, missing = dispatch_latencies(jobs, deps)
    figures: dict[str, Any] = {"dispatch": summary_ms(from_job), "unmeasured": missing}
    from_pod: list[float] = []
    if pods:
        from_pod, missing_pods = dispatch_latencies(jobs, deps, bench.pods.of(namespace))
        figures.update(dispatch_from_pod=summary_ms(from_pod), unmeasured_from_pod=missing_pods)
    return Dispatch(from_job, from_pod, figures)


def timeline(jobs: list[SeenJob], started: float) -> dict[str, float | None]:
    """When (seconds after `started`) the first and last Jobs appeared and finished."""
    added = [j.added for j in jobs]
    finished = [j.finished for j in jobs if j.finished is not None]
    def at(values: list[float], pick: Callable[[list[float]], float]) -> float | None:
        return round(pick(values) - started, 1) if values else None
    return {"first_job": at(added, min), "last_job": at(added, max),
            "first_finished": at(finished, min), "last_finished": at(finished, max)}


def _phases(runs: dict[str, Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for body in runs.values():
        phase = (body.get("status") or {}).get("phase", "?")
        counts[phase] = counts.get(phase, 0) + 1
    return counts


# ----------------------------------------------------------------- scenarios


def idle(bench: Bench) -> dict[str, Any]:
    """The operator watching its namespaces, nothing to do."""
    time.sleep(3)
    return {"rss_mib": bench.sample_rss(2)}


def chain(bench: Bench) -> tuple[dict[str, Any], Dispatch]:
    """One run of a 50-task chain: 49 dispatches, one after another."""
    namespace = bench.namespaces["chain"]
    spec = workloads.chain(CHAIN_TASKS)
    since, started = now(), time.monotonic()
    bench.create_workflow(namespace, "chain", spec)
    bench.create_run(namespace, "chain-1", "chain")
    runs = bench.wait_finished(namespace, ["chain-1"], timeout=300, every=0.5)
    seconds = time.monotonic() - started
    bench.wait_watch_finished(namespace, CHAIN_TASKS)
    time.sleep(SETTLE_SECONDS)
    bench.windows["chain"] = Window(namespace, since, now(), CHAIN_TASKS)
    dispatch = measure_dispatch(bench, namespace, spec)
    return {"tasks": CHAIN_TASKS, "seconds": round(seconds, 1), "phases": _phases(runs), **dispatch.figures}, dispatch


def diamonds(bench: Bench) -> tuple[dict[str, Any], Dispatch]:
    """100 runs of a -> (b, c) -> d created at once: 300 dispatches under concurrency."""
    namespace = bench.namespaces["diamonds"]
    spec = workloads.diamond()
    names = [f"diamond-{i:03d}" for i in range(DIAMONDS)]
    since, started = now(), time.monotonic()
    bench.create_workflow(namespace, "diamond", spec)
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda n: bench.create_run(namespace, n, "diamond"), names))
    runs = bench.wait_finished(namespace, names, timeout=300, every=1.0)
    seconds = time.monotonic() - started
    tasks = DIAMONDS * len(spec["tasks"])
    bench.wait_watch_finished(namespace, tasks)
    time.sleep(SETTLE_SECONDS)
    bench.windows["diamonds"] = Window(namespace, since, now(), tasks)
    dispatch = measure_dispatch(bench, namespace, spec)
    return {"tasks": tasks, "runs": DIAMONDS, "seconds": round(seconds, 1), "phases": _phases(runs),
            **dispatch.figures}, dispatch


def fanout(bench: Bench) -> dict[str, Any]:
    """One run of 1,000 independent tasks: creation to the last Job seen; RSS peak meanwhile."""
    namespace = bench.namespaces["fanout"]
    spec = workloads.fanout(FANOUT_TASKS, duration=FANOUT_POD_SECONDS)
    since = now()
    bench.create_workflow(namespace, "fanout", spec)
    time.sleep(1.0)  # let the operator's Workflow cache catch up, as it would have in real life
    with RssSampler(bench.operator.pid) as rss:
        started = time.monotonic()
        bench.create_run(namespace, "fanout-1", "fanout")
        bench.watch.wait(f"{FANOUT_TASKS} Jobs in {namespace}",
                         lambda: bench.watch.count(namespace) >= FANOUT_TASKS, timeout=300)
        jobs = bench.watch.of(namespace)
        first, last = min(j.added for j in jobs), max(j.added for j in jobs)
        runs = bench.wait_finished(namespace, ["fanout-1"], timeout=300, every=1.0)
        seconds = time.monotonic() - started
    bench.wait_watch_finished(namespace, FANOUT_TASKS)
    time.sleep(SETTLE_SECONDS)
    bench.windows["fanout"] = Window(namespace, since, now(), FANOUT_TASKS)
    elapsed = last - started
    return {"tasks": FANOUT_TASKS, "timeline_s": timeline(bench.watch.of(namespace), started),
            "seconds_to_last_job": round(elapsed, 3),
            "seconds_to_first_job": round(first - started, 3), "seconds": round(seconds, 1),
            "jobs_per_s": round(FANOUT_TASKS / elapsed, 1), "phases": _phases(runs),
            "rss_mib_peak": round(rss.peak, 1), "rss_samples": rss.samples}


FOREACH_ITEMS = 1000
FOREACH_POD_SECONDS = "2s"


def for_each(bench: Bench) -> dict[str, Any]:
    """One run of a forEach task over 1,000 items: time to the last Job and to the end, the size of
    the finished run's status (bounded: counts, not one entry per instance), writes per instance."""
    namespace = bench.namespaces["foreach"]
    spec = workloads.for_each(FOREACH_ITEMS, duration=FOREACH_POD_SECONDS)
    since = now()
    bench.create_workflow(namespace, "foreach", spec)
    time.sleep(1.0)
    started = time.monotonic()
    bench.create_run(namespace, "foreach-1", "foreach")
    bench.watch.wait(f"{FOREACH_ITEMS} Jobs in {namespace}",
                     lambda: bench.watch.count(namespace) >= FOREACH_ITEMS, timeout=300)
    jobs = bench.watch.of(namespace)
    last = max(j.added for j in jobs)
    runs = bench.wait_finished(namespace, ["foreach-1"], timeout=STATUS_TIMEOUT_SECONDS, every=1.0)
    seconds = time.monotonic() - started
    body = json.loads(bench.run_raw(namespace, "foreach-1"))
    status = body.get("status") or {}
    time.sleep(SETTLE_SECONDS)
    bench.windows["foreach"] = Window(namespace, since, now(), FOREACH_ITEMS)
    each = (status.get("tasks") or {}).get("each") or {}
    return {"items": FOREACH_ITEMS, "jobs": len(jobs), "seconds_to_last_job": round(last - started, 3),
            "seconds": round(seconds, 1), "phases": _phases(runs),
            "succeeded": (each.get("forEach") or {}).get("succeeded"),
            "status_bytes_without_frozen_spec": len(json.dumps({k: v for k, v in status.items() if k != "frozenSpec"},
                                                               separators=(",", ":")).encode()),
            "frozen_spec_bytes": len(status.get("frozenSpec") or "")}


def raw_jobs(bench: Bench, round_: int = 1, threads: int = CLIENT_THREADS) -> dict[str, Any]:
    """A bare client (`threads` threads, no operator) creating the same 1,000 Jobs as fast as it can.

    Run at several concurrency levels, two rounds before and one after the fan-out (in a fresh
    namespace each time), so that neither a poorly chosen concurrency nor drift in the shared
    cluster's load favours the operator.
    """
    namespace = bench.namespaces[f"raw{round_}"]
    jobs = workloads.equivalent_jobs(workloads.fanout(FANOUT_TASKS, duration=FANOUT_POD_SECONDS), namespace, "raw-1")
    batch = bench.cluster.batch

    def create(job: dict[str, Any]) -> None:
        batch.create_namespaced_job(namespace, job, _preload_content=False)

    started = time.monotonic()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(create, jobs))
    answered = time.monotonic()
    bench.watch.wait(f"{FANOUT_TASKS} Jobs in {namespace}",
                     lambda: bench.watch.count(namespace) >= FANOUT_TASKS, timeout=120)
    last = max(j.added for j in bench.watch.of(namespace))
    elapsed = last - started
    return {"jobs": len(jobs), "threads": threads, "seconds_to_last_job": round(elapsed, 3),
            "seconds_to_last_answer": round(answered - started, 3), "jobs_per_s": round(len(jobs) / elapsed, 1)}


def unrelated_jobs(bench: Bench) -> dict[str, Any]:
    """10,000 suspended Jobs without Dagwright's label in a namespace the operator watches."""
    namespace = bench.namespaces["unrelated"]
    before = bench.sample_rss(2)
    batch = bench.cluster.batch
    errors: list[str] = []

    def create(i: int) -> None:
        for attempt in range(3):
            try:
                batch.create_namespaced_job(namespace, workloads.unrelated_job(f"unrelated-{i:05d}"),
                                            _preload_content=False)
                return
            except ApiException as exc:
                if exc.status == 409:
                    return
                if attempt == 2:
                    errors.append(f"{exc.status} {exc.reason}")
                time.sleep(0.2)

    started = time.monotonic()
    with ThreadPoolExecutor(CLIENT_THREADS) as pool:
        list(pool.map(create, range(UNRELATED_JOBS)))
    seconds = time.monotonic() - started
    time.sleep(10)  # whatever the operator would do about them, give it time to do it
    bench.operator.check_alive()
    after = bench.sample_rss(3)
    return {"jobs": UNRELATED_JOBS - len(errors), "create_errors": len(errors),
            "create_seconds": round(seconds, 1), "create_jobs_per_s": round(UNRELATED_JOBS / seconds, 1),
            "rss_mib_before": before, "rss_mib_after": after, "rss_mib_growth": round(after - before, 1)}


def status_size(bench: Bench) -> dict[str, Any]:
    """A finished 5,000-task run (2 layers of 2,500, two dependencies each): the size of its object.

    On the local cluster the bench completes the run's Jobs itself (`InstantJobs`: no pods), so
    that the run finishes in about a minute instead of 5-10; elsewhere, or with
    BENCH_STATUS_PODS=1, real (kwok) pods run. A run still unfinished after the time limit is
    measured as it is, flagged `finished: false`.
    """
    namespace = bench.namespaces["status"]
    spec = workloads.layered(STATUS_LAYERS, STATUS_WIDTH)
    tasks = STATUS_LAYERS * STATUS_WIDTH
    instant = InstantJobs(bench.cluster.api, namespace) if bench.instant_tasks else None
    since = now()
    bench.create_workflow(namespace, "wide", spec)
    with instant or contextlib.nullcontext():
        started = time.monotonic()
        bench.create_run(namespace, "wide-1", "wide")
        finished, error = True, None
        try:
            bench.watch.wait(f"{tasks} finished Jobs in {namespace}",
                             lambda: bench.watch.count(namespace, finished=True) >= tasks, STATUS_TIMEOUT_SECONDS)
            runs = bench.wait_finished(namespace, ["wide-1"], timeout=120, every=1.0)
        except TimeoutError as timeout:
            finished, error, runs = False, str(timeout), bench.runs(namespace)
        seconds = time.monotonic() - started
    body = bench.run_raw(namespace, "wide-1")
    obj = json.loads(body)
    time.sleep(SETTLE_SECONDS)
    bench.windows["status_5000"] = Window(namespace, since, now(), tasks)
    status = obj.get("status") or {}
    out = {"tasks": tasks, "finished": finished, "seconds": round(seconds, 1), "phases": _phases(runs),
           "tasks_run_by": "bench (instant Jobs, no pods)" if instant else "pods",
           "timeline_s": timeline(bench.watch.of(namespace), started),
           "status_bytes": len(body),
           "status_only_bytes": len(json.dumps(status, separators=(",", ":")).encode()),
           "managed_fields_bytes": len(json.dumps(obj["metadata"].get("managedFields"), separators=(",", ":"))),
           "frozen_spec_bytes": len(status.get("frozenSpec") or ""),
           "progress": status.get("progress"),
           **measure_dispatch(bench, namespace, spec, pods=not instant).figures}
    if instant:
        out["instant_completed"], out["instant_errors"] = instant.completed, instant.errors
    if error:
        out["error"] = error
    return out
