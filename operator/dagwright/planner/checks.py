"""Data quality checks: a check task's verdict, and what it does to the run.

Pure. A task with `check` runs as usual; once it Succeeded (exit 0), its outputs are its
verdict: `passed` (default true), `rows`, `message`. `apply_verdict` turns a failed Blocking
check into a Failed task (final: a verdict is not retried) and marks a failed Warning check's
message; `blocked_by_check` gives the Skip message of every task after a failed Blocking check
(directly or through skipped tasks), naming the check; `with_check_results` puts the results
on the run's status with a `Warning` condition while a Warning check failed; `check_transitions`
are the CheckFailed / CheckWarning Events.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from dagwright.api.checks import MAX_CHECK_MESSAGE, CheckResult, CheckSeverity, CheckSpec
from dagwright.api.models import Condition, EventType, TaskPhase, TaskStatus, WorkflowRunStatus, WorkflowSpec
from dagwright.planner.snapshot import Transition

__all__ = ["CHECK_FAILED", "CHECK_WARNING", "WARNING_CONDITION", "apply_verdict", "blocked_by_check",
           "check_transitions", "judge_check", "with_check_results"]

CHECK_FAILED = "CheckFailed"
CHECK_WARNING = "CheckWarning"
WARNING_CONDITION = "Warning"
_BLOCKED_PREFIX = "blocked by check "
_FALSE = {"false", "0", "no", "failed"}


def _as_bool(value: str | None) -> bool:
    if value is None:
        return True
    try:
        parsed = json.loads(value)
    except ValueError:
        parsed = value
    if isinstance(parsed, bool):
        return parsed
    return str(parsed).strip().lower() not in _FALSE


def _as_int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _is_dbt_summary(outputs: Mapping[str, str]) -> bool:
    """The summary the dbt kind writes: `passed` and `failed` are counts, not a verdict."""
    return "exitCode" in outputs and _as_int(outputs.get("failed")) is not None


def judge_check(check: CheckSpec, outputs: Mapping[str, str] | None) -> CheckResult:
    """The verdict a check task's outputs state (the dbt kind's test summary is understood too)."""
    outputs = outputs or {}
    rows: int | None
    if _is_dbt_summary(outputs):
        failed = (_as_int(outputs.get("failed")) or 0) + (_as_int(outputs.get("error")) or 0)
        total = _as_int(outputs.get("total")) or 0
        passed, rows = failed == 0, failed
        message: str | None = f"{failed} of {total} dbt tests failed" + (
            f": {outputs['failures']}" if outputs.get("failures") else "")
    else:
        passed, rows, message = _as_bool(outputs.get("passed")), _as_int(outputs.get("rows")), outputs.get("message")
    if message is not None and len(message) > MAX_CHECK_MESSAGE:
        message = message[: MAX_CHECK_MESSAGE - 1] + "…"
    return CheckResult(passed=passed, severity=CheckSeverity(check.severity), asset=check.asset, rows=rows,
                       message=message)


def _said(result: CheckResult) -> str:
    rows = f" ({result.rows} rows)" if result.rows is not None else ""
    return f"{result.message or 'no message'}{rows}"


def apply_verdict(check: CheckSpec, succeeded: TaskStatus) -> TaskStatus:
    """A check task whose attempt succeeded: Failed for a failed Blocking check, else Succeeded."""
    result = judge_check(check, succeeded.outputs)
    if result.passed:
        return succeeded
    if result.severity == CheckSeverity.BLOCKING:
        return succeeded.model_copy(update={"phase": TaskPhase.FAILED, "message": f"check failed: {_said(result)}"})
    return succeeded.model_copy(update={"message": f"check failed (Warning): {_said(result)}"})


def blocked_by_check(spec: WorkflowSpec, dependencies: list[str], tasks: Mapping[str, TaskStatus]) -> str | None:
    """The Skip message of a task after a failed Blocking check, or None when no check blocks it."""
    checks = {task.name: task.check for task in spec.tasks if task.check is not None}
    for name in dependencies:
        status = tasks.get(name)
        if status is None:
            continue
        check = checks.get(name)
        if check is not None and status.phase == TaskPhase.FAILED and status.attempts:
            result = judge_check(check, status.outputs)
            if not result.passed and result.severity == CheckSeverity.BLOCKING:
                asset = f" on {result.asset}" if result.asset else ""
                return f"{_BLOCKED_PREFIX}{name}{asset}: {_said(result)}"
        if status.phase == TaskPhase.SKIPPED and (status.message or "").startswith(_BLOCKED_PREFIX):
            return status.message
    return None


def _results(spec: WorkflowSpec, tasks: Mapping[str, TaskStatus]) -> dict[str, CheckResult]:
    results = {}
    for task in spec.tasks:
        status = tasks.get(task.name)
        if task.check is None or status is None or status.attempts == 0:
            continue
        judged = status.phase == TaskPhase.SUCCEEDED or (
            status.phase == TaskPhase.FAILED and (status.message or "").startswith("check failed"))
        if judged:
            results[task.name] = judge_check(task.check, status.outputs)
    return results


def with_check_results(spec: WorkflowSpec, status: WorkflowRunStatus, now: str) -> WorkflowRunStatus:
    """`status` with `checks` and, while a Warning check failed, the `Warning` condition."""
    results = _results(spec, status.tasks or {})
    if not results:
        return status
    warned = sorted(name for name, r in results.items() if not r.passed and r.severity == CheckSeverity.WARNING)
    conditions = [c for c in status.conditions or [] if c.type != WARNING_CONDITION]
    if warned:
        old = next((c for c in status.conditions or [] if c.type == WARNING_CONDITION), None)
        message = "; ".join(f"check {name} failed: {_said(results[name])}" for name in warned[:5])
        conditions.append(Condition(type=WARNING_CONDITION, status="True", reason=CHECK_WARNING, message=message,
                                    last_transition_time=old.last_transition_time if old else now))
    return status.model_copy(update={"checks": results, "conditions": conditions or None})


def check_transitions(old: WorkflowRunStatus, new: WorkflowRunStatus) -> list[Transition]:
    """One Warning Event per check that newly failed: CheckFailed (Blocking) or CheckWarning."""
    transitions = []
    before = old.checks or {}
    for name, result in sorted((new.checks or {}).items()):
        if result.passed or name in before:
            continue
        blocking = result.severity == CheckSeverity.BLOCKING
        what = "its dependents are skipped" if blocking else "its dependents run on"
        asset = f" on {result.asset}" if result.asset else ""
        transitions.append(Transition(
            reason=CHECK_FAILED if blocking else CHECK_WARNING, type=EventType.WARNING, task=name,
            message=f"check {name}{asset} failed ({CheckSeverity(result.severity).value}): {_said(result)}; {what}"))
    return transitions
