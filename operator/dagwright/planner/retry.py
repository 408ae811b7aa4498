"""Retry decisions: how many attempts a task gets and how long to wait before the next.

Pure. Attempts are 1-based; attempt N+1 starts `retry_delay(policy, N)` seconds after
attempt N failed: backoffSeconds * backoffFactor^(N-1), capped at maxBackoffSeconds.
"""

from __future__ import annotations

from dagwright.api.models import RetryPolicy, Task, TaskPhase, TaskStatus, WorkflowRunStatus, WorkflowSpec

NO_RETRIES = RetryPolicy()


def effective_retry_policy(spec: WorkflowSpec, task: Task) -> RetryPolicy:
    """The task's own retry policy, else the workflow default, else no retries."""
    if task.retries is not None:
        return task.retries
    if spec.defaults is not None and spec.defaults.retries is not None:
        return spec.defaults.retries
    return NO_RETRIES


def max_attempts(policy: RetryPolicy) -> int:
    """The first attempt plus `limit` retries."""
    return 1 + policy.limit


def retry_delay(policy: RetryPolicy, failed_attempt: int) -> float:
    """Seconds to wait after attempt `failed_attempt` failed before starting the next one."""
    exponent = max(failed_attempt - 1, 0)
    delay = policy.backoff_seconds * (policy.backoff_factor**min(exponent, 64))
    return float(min(delay, policy.max_backoff_seconds))


def reused_tasks(previous: WorkflowRunStatus, name: str) -> dict[str, TaskStatus]:
    """The succeeded tasks of run `name`, carried into its retry (retry-from-failure)."""
    return {
        task: status.model_copy(update={"attempts": 0, "message": f"reused from {name}"})
        for task, status in (previous.tasks or {}).items() if status.phase == TaskPhase.SUCCEEDED
    }
