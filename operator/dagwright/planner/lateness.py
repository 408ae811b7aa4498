"""Deadlines from the schedule: when a run is due, and whether it missed that moment.

Pure: the planner calls `assess_lateness` on every pass of an unfinished run with the
snapshot's `now`; the controller posts the Event, counts the metric and sends the
notifications. The `DeadlineMissed` condition records a miss on the run itself, so it is
decided once and survives operator restarts; `DeadlineNotified` records that its
notifications went out. A run created after its logical-date deadline had passed (a
backfill of last month) has no deadline: it cannot be late.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from dagwright.api.models import Condition, Deadline, DeadlineFrom, WorkflowRunStatus
from dagwright.api.timefmt import format_time
from dagwright.api.vocabulary import ConditionType
from dagwright.planner.conditions import with_delivery

_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_STICKY = {ConditionType.DEADLINE_MISSED.value, ConditionType.DEADLINE_NOTIFIED.value}


def parse_after(text: str) -> timedelta:
    """`1d2h30m10s` (any of the parts, in that order) as a timedelta; ValueError otherwise."""
    match = _DURATION.match(text.strip())
    if not text.strip() or match is None:
        raise ValueError(f"not a duration like 5h or 1h30m: {text!r}")
    days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def deadline_of(deadline: Deadline | None, logical_date: datetime | None, created_at: datetime | None,
                started_at: datetime | None) -> datetime | None:
    """The moment the run is due, or None (no deadline, not started yet, or a backfill)."""
    if deadline is None:
        return None
    after = parse_after(deadline.after)
    if deadline.from_ == DeadlineFrom.START:
        return started_at + after if started_at is not None else None
    if logical_date is None:
        return None
    due = logical_date + after
    return None if created_at is not None and created_at > due else due


@dataclass(frozen=True)
class Lateness:
    """What a pass decides about the deadline: missed at this pass, or when to look again."""

    missed_now: bool = False
    recheck_after: float | None = None  # seconds until the deadline, while it is ahead


def assess_lateness(due: datetime | None, now: datetime, status: WorkflowRunStatus) -> Lateness:
    """Whether an unfinished run misses its deadline at `now` (once: the condition remembers)."""
    if due is None or is_deadline_missed(status):
        return Lateness()
    if now >= due:
        return Lateness(missed_now=True)
    return Lateness(recheck_after=(due - now).total_seconds())


def missed_message(due: datetime, deadline: Deadline) -> str:
    """The condition's and Event's message: the deadline and what it counts from."""
    return f"not finished by its deadline {format_time(due)} ({deadline.after} after {deadline.from_})"


def with_deadline_missed(status: WorkflowRunStatus, message: str, now: datetime) -> WorkflowRunStatus:
    """`status` with the `DeadlineMissed=True` condition."""
    condition = Condition(type=ConditionType.DEADLINE_MISSED.value, status="True", reason="DeadlineMissed",
                          message=message, last_transition_time=format_time(now))
    kept = [c for c in status.conditions or [] if c.type != ConditionType.DEADLINE_MISSED]
    return status.model_copy(update={"conditions": [*kept, condition]})


def with_deadline_notified(status: WorkflowRunStatus, errors: list[str], delivered: int,
                           now: str) -> WorkflowRunStatus:
    """`status` with `DeadlineNotified` (the DeadlineMissed notifications)."""
    return with_delivery(status, ConditionType.DEADLINE_NOTIFIED, errors, delivered, now)


def is_deadline_missed(status: WorkflowRunStatus) -> bool:
    return any(c.type == ConditionType.DEADLINE_MISSED and c.status == "True" for c in status.conditions or [])


def is_deadline_notified(status: WorkflowRunStatus) -> bool:
    return any(c.type == ConditionType.DEADLINE_NOTIFIED for c in status.conditions or [])


def keep_deadline_records(new: WorkflowRunStatus, older: WorkflowRunStatus) -> WorkflowRunStatus:
    """`new` with the deadline conditions `older` has and `new` lacks.

    Those records only ever get added; a status planned from a status older than the one that
    recorded them (the writer coalesces, a notifier writes on its own) must not drop them.
    """
    have = {c.type for c in new.conditions or []}
    missing = [c for c in older.conditions or [] if c.type in _STICKY and c.type not in have]
    if not missing:
        return new
    return new.model_copy(update={"conditions": [*(new.conditions or []), *missing]})
