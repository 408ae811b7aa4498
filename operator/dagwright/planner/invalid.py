"""`plan_invalid_run`: what becomes of a run that cannot start (invalid spec, missing workflow).

Pure. The run fails at once with a `Valid=False` condition and one Warning `InvalidSpec`
Event naming the problem; nothing is created and it is never retried.
"""

from __future__ import annotations

from datetime import datetime

from dagwright.api.models import Condition, EventType, RunPhase, WorkflowRunStatus
from dagwright.api.timefmt import format_time
from dagwright.api.vocabulary import ConditionType, EventReason
from dagwright.planner.conditions import build_run_conditions
from dagwright.planner.snapshot import RunPlan, Transition


def plan_invalid_run(status: WorkflowRunStatus, message: str, now: datetime, generation: int | None) -> RunPlan:
    """The failed status and the Event for a run whose spec cannot be used (`message` says why)."""
    stamp = format_time(now)
    failed = status.model_copy(update={
        "phase": RunPhase.FAILED, "message": f"invalid workflow: {message}",
        "started_at": status.started_at or stamp, "finished_at": stamp,
        "conditions": [Condition(type=ConditionType.VALID.value, status="False", reason=EventReason.INVALID_SPEC.value,
                                 message=message, last_transition_time=stamp, observed_generation=generation)],
        "observed_generation": generation,
    })
    failed.conditions = build_run_conditions(failed, generation, stamp)
    return RunPlan(status=failed, transitions=[Transition(EventReason.INVALID_SPEC.value, message, EventType.WARNING)])
