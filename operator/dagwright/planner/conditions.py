"""Standard conditions on a run's status, for people and for GitOps tools (kstatus, Argo CD).

Pure. `Ready` is True only when the run succeeded; `Reconciling` is True while it is pending,
queued or running; `Stalled` is True when it failed or was cancelled (kstatus reads that as
"Failed"). A condition keeps its `lastTransitionTime` while its status does not change.
"""

from __future__ import annotations

from dagwright.api.models import Condition, RunPhase, WorkflowRunStatus
from dagwright.api.vocabulary import ConditionType

_ACTIVE = {RunPhase.PENDING, RunPhase.QUEUED, RunPhase.RUNNING, None}
_STANDARD = {ConditionType.READY.value, ConditionType.RECONCILING.value, ConditionType.STALLED.value}


def _keep_time(previous: list[Condition], new: Condition) -> Condition:
    for old in previous:
        if old.type == new.type and old.status == new.status and old.last_transition_time:
            return new.model_copy(update={"last_transition_time": old.last_transition_time})
    return new


def build_run_conditions(status: WorkflowRunStatus, generation: int | None, now: str) -> list[Condition]:
    """Ready / Reconciling / Stalled for `status`, plus any other condition already present."""
    phase = RunPhase(status.phase) if status.phase else None
    message = status.message or (phase.value if phase else "Pending")
    reason = phase.value if phase else "Pending"

    def make(type_: ConditionType, on: bool) -> Condition:
        return Condition(type=type_.value, status="True" if on else "False", reason=reason, message=message,
                         last_transition_time=now, observed_generation=generation)

    previous = list(status.conditions or [])
    standard = [
        make(ConditionType.READY, phase == RunPhase.SUCCEEDED),
        make(ConditionType.RECONCILING, phase in _ACTIVE),
        make(ConditionType.STALLED, phase in (RunPhase.FAILED, RunPhase.CANCELLED)),
    ]
    others = [c for c in previous if c.type not in _STANDARD]
    return others + [_keep_time(previous, c) for c in standard]


def with_delivery(status: WorkflowRunStatus, kind: ConditionType, errors: list[str], delivered: int,
                  now: str) -> WorkflowRunStatus:
    """`status` with the condition `kind` recording a delivery: True when all `delivered` went out,
    else False naming the errors (replacing an earlier record of that kind)."""
    message = "; ".join(errors) if errors else f"{delivered} notification(s) delivered"
    condition = Condition(type=kind.value, status="False" if errors else "True",
                          reason="DeliveryFailed" if errors else "Delivered", message=message,
                          last_transition_time=now)
    kept = [c for c in status.conditions or [] if c.type != kind]
    return status.model_copy(update={"conditions": [*kept, condition]})


def with_notified(status: WorkflowRunStatus, errors: list[str], delivered: int, now: str) -> WorkflowRunStatus:
    """`status` with its `Notified` condition (the run-end notifications)."""
    return with_delivery(status, ConditionType.NOTIFIED, errors, delivered, now)


def is_notified(status: WorkflowRunStatus) -> bool:
    """Whether the run's notifications were already sent (or tried): the condition records it."""
    return any(c.type == ConditionType.NOTIFIED for c in status.conditions or [])
