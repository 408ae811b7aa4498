"""API models of data quality checks: a task that judges data, and the results it reports.

`api.models` imports these into `Task` (`check`) and `WorkflowRunStatus` (`checks`); the CRDs
and docs/api.md are generated from them like every other field.
"""

from __future__ import annotations

from enum import Enum

from pydantic import Field

from dagwright.api.base import ApiModel

MAX_CHECK_MESSAGE = 256


class CheckSeverity(str, Enum):
    """What a failing check does: Blocking stops its consumers, Warning lets them run."""

    BLOCKING = "Blocking"
    WARNING = "Warning"


class CheckSpec(ApiModel):
    """Makes a task a data quality check.

    The task runs as usual; exit code 0 means the check *ran*. Its verdict is the JSON object it
    writes as its outputs (termination message): `passed` (true/false, default true), `rows`
    (how many rows it looked at or failed) and `message`. A non-zero exit is an ordinary task
    failure (retried as usual), not a verdict.
    """

    severity: CheckSeverity = Field(
        CheckSeverity.BLOCKING,
        description="Blocking: a failed check fails this task and Skips every task that depends on "
        "it (directly or not), naming the check and its message. Warning: the task succeeds, its "
        "dependents run, and the run gets a `Warning` condition and a CheckWarning Event.",
    )
    asset: str | None = Field(
        None, min_length=1, max_length=253,
        description="The data asset (e.g. lake.silver.orders) the check is about, for the results.",
    )


class CheckResult(ApiModel):
    """The verdict of one check task in a run."""

    passed: bool = Field(description="Whether the check passed.")
    severity: CheckSeverity = Field(description="Blocking or Warning.")
    asset: str | None = Field(None, description="The asset checked.")
    rows: int | None = Field(None, description="Rows the check reported (checked or failing).")
    message: str | None = Field(None, max_length=MAX_CHECK_MESSAGE, description="What the check said.")
