"""`make bench`: run every scenario against one operator process, print a table, write JSON.

    python -m bench.run [--only chain,diamonds,...] [--keep]

Brings the local cluster up unless `KUBECONFIG` is set, installs the CRDs, creates the bench
namespaces (`bench-<role>-<hex>`) and the operator's own identity, starts the operator, runs the
scenarios in a fixed order, cleans up, and writes `bench/results/latest.json`.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kubernetes.client.rest import ApiException

import dagwright
from bench import auditlog, scenarios
from bench.cluster import (
    REPO,
    Cluster,
    Identity,
    connect,
    create_namespace,
    delete_namespace,
    drop_identity,
    install_crds,
    kubernetes_version,
    machine,
    operator_identity,
    suffix,
)
from bench.jobwatch import JobWatch
from bench.operator import Operator
from bench.report import TARGETS, percentile, summary_ms, table

log = logging.getLogger("bench")

RESULTS = REPO / "bench" / "results"
ROLES = ("operator", "chain", "diamonds", "fanout", "raw1", "raw2", "raw3", "unrelated", "status", "foreach")
WATCHED_BY_OPERATOR = ("chain", "diamonds", "fanout", "unrelated", "status", "foreach")
WATCHED_BY_BENCH = ("chain", "diamonds", "fanout", "raw1", "raw2", "raw3", "status", "foreach")
PODS_WATCHED_BY_BENCH = ("chain", "diamonds")  # dispatch latency from the pods' end
SCENARIOS = ("unrelated", "chain", "diamonds", "fanout", "raw", "status", "foreach")
WRITE_SCENARIOS = ("chain", "diamonds", "fanout")  # api_writes_per_task is over these


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                              text=True, timeout=10).stdout.strip()
    except OSError:
        return ""


def make_identity(cluster: Cluster, namespace: str) -> Identity | None:
    """The operator's own ServiceAccount identity, or None when we may not create one."""
    try:
        return operator_identity(cluster, namespace, RESULTS / "operator.kubeconfig")
    except ApiException as exc:
        log.warning("cannot create the bench-operator identity (%s %s): the operator runs as you and "
                    "API writes are not counted", exc.status, exc.reason)
        return None


def step(name: str, action: Callable[[], Any]) -> Any:
    """Run one scenario, logging how long it took."""
    log.info("%s ...", name)
    started = time.monotonic()
    result = action()
    log.info("%s done in %.1fs", name, time.monotonic() - started)
    return result


def operator_delta(before: dict[str, float], after: dict[str, float]) -> dict[str, Any]:
    """What the operator spent during a scenario: CPU, reconcile passes, its own dispatch view."""
    def delta(key: str) -> float:
        return after.get(key, 0.0) - before.get(key, 0.0)

    out: dict[str, Any] = {"cpu_seconds": round(delta("cpu_seconds"), 2)}
    passes = delta("dagwright_reconcile_seconds_count")
    out["reconcile_passes"] = int(passes)
    if passes:
        out["reconcile_ms_mean"] = round(1000 * delta("dagwright_reconcile_seconds_sum") / passes, 1)
    dispatched = delta("dagwright_dispatch_latency_seconds_count")
    if dispatched:
        out["own_dispatch_ms_mean"] = round(1000 * delta("dagwright_dispatch_latency_seconds_sum") / dispatched, 1)
    errors = sum(after[k] - before.get(k, 0.0) for k in after if k.startswith("dagwright_api_errors_total"))
    out["api_errors"] = int(errors)
    return out


def scenario(bench: scenarios.Bench, name: str, action: Callable[[], Any]) -> Any:
    """A scenario step, with the operator's CPU and metrics over it added to its figures.

    A scenario that fails is recorded as `{"error": ...}` and the others still run.
    """
    before = bench.operator.snapshot()
    try:
        result = step(name, action)
    except Exception as error:  # noqa: BLE001 - one scenario's failure must not lose the others' figures
        log.exception("%s failed", name)
        bench.operator.check_alive()
        return {"error": f"{type(error).__name__}: {error}"}
    figures = result[0] if isinstance(result, tuple) else result
    figures["operator"] = operator_delta(before, bench.operator.snapshot())
    return result


def run_scenarios(bench: scenarios.Bench, only: set[str]) -> tuple[dict[str, Any], list[scenarios.Dispatch]]:
    """Every scenario in order; deletes each namespace once its figures are taken."""
    out: dict[str, Any] = {}
    dispatch: list[scenarios.Dispatch] = []

    def cleanup(role: str, figures: dict[str, Any] | None) -> None:
        seconds = step(f"emptying {bench.namespaces[role]}", lambda: bench.cleanup(role))
        if figures is not None:
            figures["cleanup_seconds"] = seconds

    out["idle"] = scenario(bench, "idle", lambda: scenarios.idle(bench))
    if "unrelated" in only:
        out["unrelated_jobs"] = scenario(bench, "10,000 unrelated Jobs", lambda: scenarios.unrelated_jobs(bench))
    cleanup("unrelated", out.get("unrelated_jobs"))
    for key, label, action in (("chain", "chain (50 tasks)", scenarios.chain),
                               ("diamonds", "diamonds (100 x 4 tasks)", scenarios.diamonds)):
        if key in only:
            result = scenario(bench, label, lambda: action(bench))  # noqa: B023 - called at once
            out[key] = result[0] if isinstance(result, tuple) else result
            if isinstance(result, tuple):
                dispatch.append(result[1])
    cleanup("chain", out.get("chain"))
    cleanup("diamonds", out.get("diamonds"))
    raw: list[dict[str, Any]] = []
    for role in ("raw1", "raw2", "fanout", "raw3"):
        figures = None
        if role == "fanout" and "fanout" in only:
            figures = out["fanout"] = scenario(bench, "fan-out (1,000 tasks)", lambda: scenarios.fanout(bench))
        elif role != "fanout" and "raw" in only:
            threads = scenarios.RAW_THREADS[int(role[-1]) - 1]
            figures = scenario(bench, f"bare client (1,000 Jobs, {threads} threads), {role}",
                               lambda: scenarios.raw_jobs(bench, int(role[-1]), threads))  # noqa: B023 - called at once
            raw.append(figures)
        cleanup(role, figures)
    if raw:
        best = max((r for r in raw if "jobs_per_s" in r), key=lambda r: r["jobs_per_s"], default=None)
        out["raw"] = {"jobs_per_s": best["jobs_per_s"] if best else None,
                      "threads": best["threads"] if best else None, "rounds": raw,
                      "note": f"best of {len(raw)} rounds at {scenarios.RAW_THREADS} threads "
                              "(two before the fan-out, one after)"}
    if "status" in only:
        out["status_5000"] = scenario(bench, "5,000-task run", lambda: scenarios.status_size(bench))
    cleanup("status", out.get("status_5000"))
    if "foreach" in only:
        out["foreach"] = scenario(bench, "forEach (1,000 items)", lambda: scenarios.for_each(bench))
    cleanup("foreach", out.get("foreach"))
    return out, dispatch


def count_writes(results: dict[str, Any], bench: scenarios.Bench, audit: auditlog.AuditLog | None,
                 identity: Identity | None) -> None:
    """Per-scenario and overall operator writes per task, from the audit log."""
    if audit is None or identity is None:
        return
    everyone = audit.writes(None)
    writes = [w for w in everyone if w.user == identity.username]
    total_writes = total_tasks = 0
    for name, window in bench.windows.items():
        chosen = auditlog.within(writes, {window.namespace}, window.since, window.until)
        n, breakdown = auditlog.count(chosen)
        scenario = results["scenarios"][name]
        scenario.update(api_writes=n, api_writes_per_task=round(n / window.tasks, 3), api_writes_by_kind=breakdown)
        components = auditlog.by_component(auditlog.within(everyone, {window.namespace}, window.since, window.until),
                                           identity.username)
        cluster = sum(v for k, v in components.items() if k != "bench")
        scenario["api_writes_by_component"] = components
        scenario["api_writes_per_task_by_component"] = {
            **{k: round(v / window.tasks, 3) for k, v in components.items()},
            "cluster": round(cluster / window.tasks, 3)}
        creates = auditlog.latencies(chosen, "create", "jobs")
        if creates:  # the API server's own share of every dispatch latency
            scenario["api_create_job_latency"] = summary_ms(creates)
        if name in WRITE_SCENARIOS:
            total_writes, total_tasks = total_writes + n, total_tasks + window.tasks
    if total_tasks:
        results["api_writes_per_task"] = round(total_writes / total_tasks, 3)
        results["api_writes"] = {"writes": total_writes, "tasks": total_tasks, "scenarios": list(WRITE_SCENARIOS),
                                 "user": identity.username}


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 1)


def headline(results: dict[str, Any], dispatch: list[scenarios.Dispatch]) -> None:
    """The top-level figures from the scenarios' details."""
    s = results["scenarios"]
    from_job = [x for d in dispatch for x in d.from_job]
    from_pod = [x for d in dispatch for x in d.from_pod]
    results["dispatch_p50_ms"] = _ms(percentile(from_job, 50))
    results["dispatch_p99_ms"] = _ms(percentile(from_job, 99))
    results["dispatch_samples"] = len(from_job)
    results["dispatch_from_pod_p50_ms"] = _ms(percentile(from_pod, 50))
    results["dispatch_from_pod_p99_ms"] = _ms(percentile(from_pod, 99))
    results["fanout_tasks_per_s"] = (s.get("fanout") or {}).get("jobs_per_s")
    results["raw_jobs_per_s"] = (s.get("raw") or {}).get("jobs_per_s")
    if results["fanout_tasks_per_s"] and results["raw_jobs_per_s"]:
        results["fanout_ratio"] = round(results["fanout_tasks_per_s"] / results["raw_jobs_per_s"], 3)
    results["rss_mib_idle"] = s["idle"]["rss_mib"]
    results["rss_mib_1000_active"] = (s.get("fanout") or {}).get("rss_mib_peak")
    results["rss_mib_10k_unrelated_jobs"] = (s.get("unrelated_jobs") or {}).get("rss_mib_after")
    results["status_bytes_5000_tasks"] = (s.get("status_5000") or {}).get("status_bytes")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(SCENARIOS), help=f"comma-separated subset of {SCENARIOS}")
    parser.add_argument("--output", default=str(RESULTS / "latest.json"))
    parser.add_argument("--profile", action="store_true",
                        help="run the operator under cProfile; stats in bench/results/operator.prof")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    only = set(args.only.split(","))
    began = time.monotonic()
    RESULTS.mkdir(parents=True, exist_ok=True)

    cluster = step("cluster", connect)
    step("CRDs", lambda: install_crds(cluster))
    tag = suffix()
    namespaces = {role: f"bench-{role}-{tag}" for role in ROLES}
    results: dict[str, Any] = {
        "dagwright_version": dagwright.__version__, "git_commit": git_commit(),
        "kubernetes_version": kubernetes_version(cluster), "timestamp": scenarios.now().isoformat(timespec="seconds"),
        "machine": machine(), "cluster": "local" if cluster.local else cluster.kubeconfig,
        "namespaces": namespaces,
    }
    for namespace in namespaces.values():
        create_namespace(cluster, namespace)
    identity = make_identity(cluster, namespaces["operator"])
    audit_path = cluster.audit_log()
    audit = auditlog.AuditLog(audit_path) if identity and auditlog.readable(audit_path) else None
    watch = JobWatch(cluster.api, "dagwright.io/run")
    pods = JobWatch(cluster.api, "dagwright.io/run", pods=True)
    operator = Operator(identity.kubeconfig if identity else Path(cluster.kubeconfig),
                        [namespaces[r] for r in WATCHED_BY_OPERATOR], RESULTS / "operator.log", cluster.env,
                        profile=RESULTS / "operator.prof" if args.profile else None)
    (RESULTS / "operator.log").unlink(missing_ok=True)
    bench = scenarios.Bench(cluster, watch, pods, operator, namespaces,
                            instant_tasks=cluster.local and os.environ.get("BENCH_STATUS_PODS") != "1")
    try:
        for role in WATCHED_BY_BENCH:
            watch.add_namespace(namespaces[role])
        for role in PODS_WATCHED_BY_BENCH:
            pods.add_namespace(namespaces[role])
        step("operator start", operator.start)
        results["scenarios"], dispatch = run_scenarios(bench, only)
        results["operator_log"] = {"warnings": operator.log_count(" WARNING "), "errors": operator.log_count(" ERROR ")}
    finally:
        results["watch_restarts"] = watch.restarts + pods.restarts
        step("stopping the watches", lambda: (watch.stop(), pods.stop()))
        step("stopping the operator", operator.stop)
        step("deleting the namespaces", lambda: [delete_namespace(cluster, ns) for ns in namespaces.values()])
        if identity:
            drop_identity(cluster, identity)
    step("counting API writes", lambda: count_writes(results, bench, audit, identity))
    headline(results, dispatch)
    results["bench_seconds"] = round(time.monotonic() - began, 1)
    results["targets"] = {key: target for key, _, _, target, _ in TARGETS if target}
    ordered = {k: results[k] for k in [t[0] for t in TARGETS] if k in results}
    ordered.update({k: v for k, v in results.items() if k not in ordered})
    Path(args.output).write_text(json.dumps(ordered, indent=2) + "\n")
    print()
    print(table(ordered))
    print(f"\nmake bench took {results['bench_seconds']:.0f}s; figures in {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
