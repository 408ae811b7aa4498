"""A Workflow's own status: its runs summed up, and whether it is valid.

Pure. The workflow reconciler gathers the runs and the validation problems; these functions
decide what `kubectl get workflows` and GitOps tools read: the latest run and its phase, the
runs still active, and the `Valid`/`Stalled` conditions (with one Warning Event when a
workflow becomes invalid or its problem changes).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dagwright.api.models import FINISHED_RUN_PHASES, Condition, EventType, WorkflowStatus
from dagwright.api.timefmt import format_time
from dagwright.api.vocabulary import ConditionType, EventReason
from dagwright.planner.snapshot import Transition

VALID_MESSAGE = "the workflow is valid"
# `status.activeRuns` names at most this many runs (`activeRunCount` counts them all): the
# status stays small and its writes cheap whatever the concurrency.
ACTIVE_RUNS_LISTED = 10


@dataclass(frozen=True)
class RunSummary:
    """What the workflow's status says of one of its runs."""

    name: str
    order: str  # its logical date (or creation time), RFC 3339
    phase: str | None


def summarize_runs(previous: WorkflowStatus, runs: list[RunSummary], generation: int | None) -> WorkflowStatus:
    """`previous` with the latest run (by logical date, then name), its phase and the active runs
    (the first `ACTIVE_RUNS_LISTED` names, and how many)."""
    latest = max(runs, key=lambda r: (r.order, r.name), default=None)
    active = sorted(r.name for r in runs if r.phase not in FINISHED_RUN_PHASES)
    update: dict[str, object] = {"active_runs": active[:ACTIVE_RUNS_LISTED] or None,
                                 "active_run_count": len(active) or None, "observed_generation": generation}
    if latest is not None:
        update["last_run"] = latest.name
        update["last_run_phase"] = latest.phase
    return previous.model_copy(update=update)


def assess_validity(previous: list[Condition], problems: list[str], now: datetime,
                    generation: int | None) -> tuple[list[Condition], list[Transition]]:
    """`Valid` (and `Stalled` when invalid) conditions; an Event when the workflow turns invalid or its problem changes.

    A condition keeps its `lastTransitionTime` while its status does not change.
    """
    if not problems:
        return [_condition(previous, ConditionType.VALID, "True", "Valid", VALID_MESSAGE, now, generation)], []
    message = "; ".join(problems[:10])
    reason = EventReason.INVALID_SPEC.value
    conditions = [_condition(previous, ConditionType.VALID, "False", reason, message, now, generation),
                  _condition(previous, ConditionType.STALLED, "True", reason, message, now, generation)]
    old = next((c for c in previous if c.type == ConditionType.VALID), None)
    changed = old is None or old.status != "False" or old.message != message
    return conditions, [Transition(reason, message, EventType.WARNING)] if changed else []


def _condition(previous: list[Condition], type_: ConditionType, status: str, reason: str, message: str,
               now: datetime, generation: int | None) -> Condition:
    since = format_time(now)
    for old in previous:
        if old.type == type_ and old.status == status and old.last_transition_time:
            since = old.last_transition_time
    return Condition(type=type_.value, status=status, reason=reason, message=message,
                     last_transition_time=since, observed_generation=generation)
