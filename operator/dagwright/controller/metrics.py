"""Prometheus metrics of the operator, served on `/metrics` when `--metrics-port` is given.

Counters and histograms only; the reconciler records into them (`record_plan` counts what a
carried-out plan changed), nothing here decides anything.
"""

from __future__ import annotations

from datetime import datetime

from prometheus_client import Counter, Gauge, Histogram, start_http_server

from dagwright.api.models import FINISHED_RUN_PHASES, FINISHED_TASK_PHASES, RunPhase, TaskPhase
from dagwright.api.timefmt import parse_time
from dagwright.planner.lateness import is_deadline_missed
from dagwright.planner.snapshot import RunPlan, RunSnapshot

RUNS_STARTED = Counter("dagwright_runs_started_total", "WorkflowRuns that started running.")
RUNS_FINISHED = Counter("dagwright_runs_finished_total", "WorkflowRuns that finished, by phase.", ["phase"])
TASKS_FINISHED = Counter("dagwright_tasks_finished_total", "Tasks that reached a final phase, by phase.", ["phase"])
JOBS_CREATED = Counter("dagwright_jobs_created_total", "Task attempt Jobs created.")
TASK_DURATION = Histogram(
    "dagwright_task_duration_seconds", "From a task's first start to its final phase.",
    buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400))
DISPATCH_LATENCY = Histogram(
    "dagwright_dispatch_latency_seconds",
    "From the moment a task's last dependency was seen finished to the creation of its Job.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
QUEUE_DEPTH = Gauge("dagwright_queue_depth", "Runs waiting for a reconcile pass.")
API_ERRORS = Counter("dagwright_api_errors_total", "Failed calls to the Kubernetes API, by operation.", ["operation"])
DEADLINES_MISSED = Counter("dagwright_deadlines_missed_total", "WorkflowRuns that missed spec.deadline.")
CHECK_RESULTS = Counter("dagwright_check_results_total",
                        "Verdicts of check tasks (spec.tasks[].check), by severity and result (passed/failed).",
                        ["severity", "result"])
RECONCILE_SECONDS = Histogram(
    "dagwright_reconcile_seconds", "Duration of one reconcile pass of a run.",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))


def serve(port: int, address: str = "0.0.0.0") -> None:
    """Start the /metrics HTTP server in a background thread."""
    start_http_server(port, addr=address)


def record_plan(snapshot: RunSnapshot, plan: RunPlan, now: datetime) -> None:
    """Count what a carried-out plan changed: runs, tasks, Jobs, dispatch latency."""
    old = snapshot.status
    new = plan.status
    if new.phase != old.phase:
        if new.phase == RunPhase.RUNNING:
            RUNS_STARTED.inc()
        elif new.phase in FINISHED_RUN_PHASES:
            RUNS_FINISHED.labels(RunPhase(new.phase).value).inc()
    if is_deadline_missed(new) and not is_deadline_missed(old):
        DEADLINES_MISSED.inc()
    old_checks = old.checks or {}
    for name, result in (new.checks or {}).items():
        if name not in old_checks:
            CHECK_RESULTS.labels(result.severity, "passed" if result.passed else "failed").inc()
    old_tasks = old.tasks or {}
    for name, task in (new.tasks or {}).items():
        before = old_tasks.get(name)
        if task.phase in FINISHED_TASK_PHASES and (before is None or before.phase != task.phase):
            TASKS_FINISHED.labels(TaskPhase(task.phase).value).inc()
            if task.started_at and task.finished_at:
                TASK_DURATION.observe(
                    (parse_time(task.finished_at) - parse_time(task.started_at)).total_seconds())
    depends = {t.name: t.depends_on or [] for t in snapshot.spec.tasks}
    for job in plan.create:
        JOBS_CREATED.inc()
        finished = [j.finished_at for dep in depends.get(job.task, []) for j in snapshot.jobs.get(dep, [])
                    if j.finished_at is not None]
        if job.attempt == 1 and finished:
            DISPATCH_LATENCY.observe(max((now - max(finished)).total_seconds(), 0.0))
