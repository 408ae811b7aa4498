"""Prometheus metrics of the operator, served on `/metrics` when `--metrics-port` is given.

Counters and histograms only; the reconciler records into them, nothing here decides anything.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, start_http_server

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
RECONCILE_SECONDS = Histogram(
    "dagwright_reconcile_seconds", "Duration of one reconcile pass of a run.",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))


def serve(port: int, address: str = "0.0.0.0") -> None:
    """Start the /metrics HTTP server in a background thread."""
    start_http_server(port, addr=address)
