"""Trigger rules: may a task start, given the phases of its dependencies?

Pure. `assess_trigger` answers READY (start it), WAIT (a dependency is still open and could
change the answer) or SKIP (the rule can no longer be met, whatever happens next).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum

from dagwright.api.models import FINISHED_TASK_PHASES, TaskPhase, TriggerRule


class Readiness(str, Enum):
    """The verdict of a trigger rule."""

    READY = "Ready"
    WAIT = "Wait"
    SKIP = "Skip"


def assess_trigger(rule: TriggerRule | str, upstream: Mapping[str, TaskPhase]) -> tuple[Readiness, str]:
    """The verdict of `rule` over `upstream` (dependency name -> phase), with a reason."""
    rule = TriggerRule(rule)
    if not upstream:
        return Readiness.READY, "no dependencies"
    phases = list(upstream.values())
    finished = all(p in FINISHED_TASK_PHASES for p in phases)
    failed = [n for n, p in upstream.items() if p == TaskPhase.FAILED]
    not_succeeded = [
        n for n, p in upstream.items() if p in FINISHED_TASK_PHASES and p != TaskPhase.SUCCEEDED
    ]
    if rule == TriggerRule.ALL_SUCCEEDED:
        if not_succeeded:
            return Readiness.SKIP, _named("upstream did not succeed", not_succeeded, upstream)
        return (Readiness.READY, "all dependencies succeeded") if finished else (Readiness.WAIT, "")
    if rule == TriggerRule.ALL_DONE:
        return (Readiness.READY, "all dependencies finished") if finished else (Readiness.WAIT, "")
    if rule == TriggerRule.ANY_FAILED:
        if failed:
            return Readiness.READY, _named("upstream failed", failed, upstream)
        if finished:
            return Readiness.SKIP, "no dependency failed"
        return Readiness.WAIT, ""
    if rule == TriggerRule.ALL_FAILED:
        others = [n for n, p in upstream.items() if p in FINISHED_TASK_PHASES and p != TaskPhase.FAILED]
        if others:
            return Readiness.SKIP, _named("upstream did not fail", others, upstream)
        return (Readiness.READY, "all dependencies failed") if finished else (Readiness.WAIT, "")
    # NoneFailed: every dependency finished and none failed (skipped is fine).
    if failed:
        return Readiness.SKIP, _named("upstream failed", failed, upstream)
    return (Readiness.READY, "no dependency failed") if finished else (Readiness.WAIT, "")


def _named(what: str, names: list[str], upstream: Mapping[str, TaskPhase]) -> str:
    shown = ", ".join(f"{n} ({TaskPhase(upstream[n]).value})" for n in names[:3])
    more = f" and {len(names) - 3} more" if len(names) > 3 else ""
    return f"{what}: {shown}{more}"
