"""Retry decisions: how many attempts a task gets and how long to wait before the next.

Pure. Attempts are 1-based; attempt N+1 starts `retry_delay(policy, N)` seconds after
attempt N failed: backoffSeconds * backoffFactor^(N-1), capped at maxBackoffSeconds, where N
counts only the failures charged to `limit`.

`judge_failure` decides what one failed attempt means. An attempt Kubernetes took away
(DisruptionTarget) is tried again at once and not charged to `limit`, up to `onDisruption`
times; beyond that it is an ordinary failure. An exit code listed in `noRetryOnExitCodes`
fails the task at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from dagwright.api.models import RetryPolicy, Task, TaskPhase, TaskStatus, WorkflowRunStatus, WorkflowSpec
from dagwright.planner.snapshot import FailureKind

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


class RetryVerdict(str, Enum):
    """What follows a failed attempt."""

    RETRY_NOW = "RetryNow"  # a disruption within `onDisruption`: no backoff
    RETRY_AFTER_BACKOFF = "RetryAfterBackoff"  # an ordinary failure with retries left
    FAIL = "Fail"  # no retries left, or a final exit code


@dataclass(frozen=True)
class FailureJudgement:
    """The verdict on one failed attempt, whether it was a disruption not charged to `limit`,
    how many charged failures there are now, and a note for the task's message."""

    verdict: RetryVerdict
    disruption: bool
    charged: int
    note: str = ""


def judge_failure(policy: RetryPolicy, attempt: int, disruptions_before: int, kind: FailureKind | None,
                  exit_code: int | None) -> FailureJudgement:
    """Judge failed attempt `attempt`, after `disruptions_before` earlier attempts were disruptions."""
    if kind is FailureKind.DISRUPTED and disruptions_before < policy.on_disruption:
        note = f"(disruption {disruptions_before + 1} of {policy.on_disruption}, not counted against retries)"
        return FailureJudgement(RetryVerdict.RETRY_NOW, True, attempt - disruptions_before - 1, note)
    charged = attempt - disruptions_before
    if kind is FailureKind.EXIT and exit_code is not None and exit_code in (policy.no_retry_on_exit_codes or []):
        return FailureJudgement(RetryVerdict.FAIL, False, charged, "(final: exit code listed in noRetryOnExitCodes)")
    if charged >= max_attempts(policy):
        return FailureJudgement(RetryVerdict.FAIL, False, charged)
    return FailureJudgement(RetryVerdict.RETRY_AFTER_BACKOFF, False, charged)


def reused_tasks(previous: WorkflowRunStatus, name: str) -> dict[str, TaskStatus]:
    """The succeeded tasks of run `name`, carried into its retry (retry-from-failure)."""
    return {
        task: status.model_copy(update={"attempts": 0, "message": f"reused from {name}"})
        for task, status in (previous.tasks or {}).items() if status.phase == TaskPhase.SUCCEEDED
    }
