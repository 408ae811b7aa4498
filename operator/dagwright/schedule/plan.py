"""The scheduler's decider: which runs a scheduled Workflow needs now.

``plan_schedule(snapshot) -> SchedulePlan`` is a pure function of a frozen
``ScheduleSnapshot`` (schedule, policies, the last fire time already dealt
with, the workflow's active runs and ``now``). It returns the runs to create
(with deterministic names, logical dates and data intervals), the runs to
cancel (``Replace``), the new ``lastScheduleTime`` and ``nextScheduleTime``,
the fire times skipped and why, and messages for Kubernetes Events. It must
not talk to the API, read a clock, log, or know about pydantic models:
the controller builds the snapshot, applies the plan, and posts the events.

Semantics
---------
* *Due* fires are the fire times in ``(lastScheduleTime, now]``; without a
  ``lastScheduleTime`` the workflow's creation time is the start.
* ``startingDeadlineSeconds``: a fire more than that many seconds before
  ``now`` is skipped (``PastStartingDeadline``).
* ``catchup: false``: only the latest due fire can get a run; earlier ones are
  skipped (``CatchupDisabled``). ``catchup: true``: every due fire gets a run,
  oldest first, but at most ``catchup_limit`` (the most recent ones); older
  ones are skipped (``CatchupLimit``) and can be run with ``dagwright backfill``.
* ``Allow`` creates every selected fire. ``Replace`` creates only the newest
  selected fire (older selected ones are ``Superseded``) and cancels every
  other active run. ``Forbid`` never starts a run while another is active:
  with ``catchup: false`` the fire is skipped (``ConcurrencyForbid``); with
  ``catchup: true`` the selected fires are *deferred* instead, and run one
  after another as each run finishes (catch-up promises every interval runs;
  the deadline and the catch-up limit still apply while they wait).
* ``suspend``: nothing is created or skipped, ``lastScheduleTime`` stays; the
  fires that pass meanwhile are treated like any missed fires on resume
  (as CronJob). ``nextScheduleTime`` is still computed.
* ``lastScheduleTime`` advances over every fire dealt with (created or
  skipped, never a deferred one), so no fire is ever handled twice; run names
  are a function of (workflow, fire time), so a crash between creating a run
  and recording ``lastScheduleTime`` is answered by 409 AlreadyExists.
* ``maxActiveRuns`` is not handled here: runs beyond it are created and wait
  (Queued) in the run engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum

from dagwright.api.models import ConcurrencyPolicy, EventType
from dagwright.schedule.cron import Schedule, ScheduleError, compile_schedule, to_utc
from dagwright.schedule.names import scheduled_run_name

__all__ = [
    "DEFAULT_CATCHUP_LIMIT",
    "MAX_CATCHUP_LIMIT",
    "ActiveRun",
    "ConcurrencyPolicy",
    "EventReason",
    "EventType",
    "RunToCreate",
    "ScheduleEvent",
    "SchedulePlan",
    "ScheduleSnapshot",
    "SkipReason",
    "SkippedFires",
    "backfill_fire_times",
    "backfill_runs",
    "format_time",
    "plan_schedule",
    "requeue_after",
]

#: Most missed fires one pass creates with ``catchup: true`` unless the snapshot says otherwise.
DEFAULT_CATCHUP_LIMIT = 10
#: Upper bound of ``catchup_limit``.
MAX_CATCHUP_LIMIT = 100
#: Due fires examined one by one; older ones are counted as one group (count is a lower bound).
MAX_MISSED_SCAN = 10_000
#: While fires are deferred (Forbid + catchup), look again at least this often.
DEFERRED_RECHECK_SECONDS = 60.0
#: When no fire time lies ahead (invalid schedule), look again after this long.
IDLE_REQUEUE_SECONDS = 3600.0


class SkipReason(str, Enum):
    """Why a due fire time got no run."""

    PAST_STARTING_DEADLINE = "PastStartingDeadline"
    CATCHUP_DISABLED = "CatchupDisabled"
    CATCHUP_LIMIT = "CatchupLimit"
    CONCURRENCY_FORBID = "ConcurrencyForbid"
    SUPERSEDED = "Superseded"


class EventReason(str, Enum):
    """The ``reason`` of a Kubernetes Event about the schedule."""

    FIRED = "ScheduleFired"
    SKIPPED = "ScheduleSkipped"
    REPLACED = "ScheduleReplaced"


@dataclass(frozen=True)
class ActiveRun:
    """A run of the workflow that has not finished (the caller decides which runs count)."""

    name: str
    logical_date: datetime | None = None


@dataclass(frozen=True)
class ScheduleSnapshot:
    """Everything ``plan_schedule`` may look at; datetimes must be timezone-aware."""

    workflow_name: str
    schedule: str
    now: datetime
    created_at: datetime
    timezone: str = "UTC"
    suspend: bool = False
    catchup: bool = False
    catchup_limit: int = DEFAULT_CATCHUP_LIMIT
    starting_deadline_seconds: int | None = None
    concurrency_policy: ConcurrencyPolicy = ConcurrencyPolicy.ALLOW
    last_schedule_time: datetime | None = None
    active_runs: tuple[ActiveRun, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "now", to_utc(self.now, "now"))
        object.__setattr__(self, "created_at", to_utc(self.created_at, "created_at"))
        if self.last_schedule_time is not None:
            object.__setattr__(self, "last_schedule_time", to_utc(self.last_schedule_time, "last_schedule_time"))
        object.__setattr__(self, "concurrency_policy", ConcurrencyPolicy(self.concurrency_policy))
        object.__setattr__(self, "active_runs", tuple(self.active_runs))
        if not 1 <= self.catchup_limit <= MAX_CATCHUP_LIMIT:
            raise ValueError(f"catchup_limit must be within 1-{MAX_CATCHUP_LIMIT}, got {self.catchup_limit}")
        if self.starting_deadline_seconds is not None and self.starting_deadline_seconds < 0:
            raise ValueError(f"starting_deadline_seconds must not be negative, got {self.starting_deadline_seconds}")


@dataclass(frozen=True)
class RunToCreate:
    """A scheduled run: its data interval is (previous fire time, this fire time]."""

    name: str
    logical_date: datetime
    data_interval_start: datetime
    data_interval_end: datetime


@dataclass(frozen=True)
class SkippedFires:
    """Due fire times skipped for one reason; ``count`` is a lower bound when ``at_least``."""

    reason: SkipReason
    count: int
    first: datetime
    last: datetime
    at_least: bool = False


@dataclass(frozen=True)
class ScheduleEvent:
    type: EventType
    reason: EventReason
    message: str


@dataclass(frozen=True)
class SchedulePlan:
    """What to do now. Apply ``create`` and ``cancel``, then record ``last_schedule_time``."""

    create: tuple[RunToCreate, ...] = ()
    cancel: tuple[str, ...] = ()
    last_schedule_time: datetime | None = None
    next_schedule_time: datetime | None = None
    skipped: tuple[SkippedFires, ...] = ()
    deferred: tuple[datetime, ...] = ()
    events: tuple[ScheduleEvent, ...] = ()
    error: str | None = None

    @property
    def skipped_count(self) -> int:
        return sum(group.count for group in self.skipped)

    @property
    def messages(self) -> tuple[str, ...]:
        return tuple(event.message for event in self.events)


def format_time(moment: datetime) -> str:
    """``2026-11-24T02:00:00Z``."""
    return to_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- due fires -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Older:
    """Due fire times older than the ones examined: at least one, from ``first`` to ``last``."""

    first: datetime
    last: datetime


@dataclass(frozen=True)
class _Due:
    """Due fire times: ``known`` (the newest, ascending, exact) and maybe an older group."""

    known: tuple[datetime, ...]
    older: _Older | None = None


def _due_fires(schedule: Schedule, start: datetime, now: datetime) -> _Due:
    known = tuple(schedule.latest(start, now, MAX_MISSED_SCAN))
    if len(known) < MAX_MISSED_SCAN:
        return _Due(known)
    first = schedule.next_after(start)
    if first is None or first >= known[0]:
        return _Due(known)
    return _Due(known, _Older(first, schedule.previous_before(known[0]) or first))


def _previous_fire(schedule: Schedule, known: Sequence[datetime], index: int) -> datetime:
    if index > 0:
        return known[index - 1]
    return schedule.previous_before(known[index]) or known[index]


# --- the decision ----------------------------------------------------------------------------


@dataclass
class _Decision:
    create: list[datetime] = field(default_factory=list)  # includes runs that already exist
    cancel: list[str] = field(default_factory=list)
    deferred: list[datetime] = field(default_factory=list)
    skipped: dict[SkipReason, list[datetime]] = field(default_factory=dict)

    def skip(self, reason: SkipReason, fires: Sequence[datetime]) -> None:
        if fires:
            self.skipped.setdefault(reason, []).extend(fires)


def _select(snapshot: ScheduleSnapshot, known: Sequence[datetime], decision: _Decision) -> list[datetime]:
    """Apply the deadline and catch-up rules; return the fires that may get a run."""
    deadline = snapshot.starting_deadline_seconds
    cutoff = None if deadline is None else snapshot.now - timedelta(seconds=deadline)
    late = [fire for fire in known if cutoff is not None and fire < cutoff]
    eligible = list(known[len(late) :])
    decision.skip(SkipReason.PAST_STARTING_DEADLINE, late)
    keep = snapshot.catchup_limit if snapshot.catchup else 1
    reason = SkipReason.CATCHUP_LIMIT if snapshot.catchup else SkipReason.CATCHUP_DISABLED
    decision.skip(reason, eligible[:-keep])
    return eligible[-keep:]


def _apply_concurrency(
    snapshot: ScheduleSnapshot, selected: list[datetime], names: dict[datetime, str], decision: _Decision
) -> None:
    """Allow, Replace or Forbid the selected fires, given the active runs.

    A selected fire whose run already exists (a pass that crashed before recording
    ``lastScheduleTime``, or a backfill) counts as created and is never cancelled.
    """
    if not selected:
        return
    active = [run.name for run in snapshot.active_runs]
    policy = snapshot.concurrency_policy
    if policy is ConcurrencyPolicy.ALLOW:
        decision.create.extend(selected)
        return
    if policy is ConcurrencyPolicy.REPLACE:
        decision.skip(SkipReason.SUPERSEDED, selected[:-1])
        decision.create.append(selected[-1])
        decision.cancel.extend(name for name in active if name != names[selected[-1]])
        return
    done = 0  # Forbid: the oldest selected fires whose runs exist are done; they block the rest
    while done < len(selected) and names[selected[done]] in active:
        done += 1
    decision.create.extend(selected[:done])
    waiting = selected[done:]
    if not waiting:
        return
    if not active:
        decision.create.append(waiting[0])
        decision.deferred.extend(waiting[1:])  # empty without catchup
    elif snapshot.catchup:
        decision.deferred.extend(waiting)
    else:
        decision.skip(SkipReason.CONCURRENCY_FORBID, waiting)


def plan_schedule(snapshot: ScheduleSnapshot) -> SchedulePlan:
    """Decide the runs to create and cancel for one scheduled workflow at ``snapshot.now``."""
    try:
        schedule = compile_schedule(snapshot.schedule, snapshot.timezone)
    except ScheduleError as error:
        return SchedulePlan(last_schedule_time=snapshot.last_schedule_time, error=str(error))
    next_time = schedule.next_after(snapshot.now)
    if snapshot.suspend:
        return SchedulePlan(last_schedule_time=snapshot.last_schedule_time, next_schedule_time=next_time)

    start = snapshot.last_schedule_time or snapshot.created_at
    due = _due_fires(schedule, start, snapshot.now)
    names = {fire: scheduled_run_name(snapshot.workflow_name, fire) for fire in due.known[-MAX_CATCHUP_LIMIT:]}
    decision = _Decision()
    selected = _select(snapshot, due.known, decision)
    _apply_concurrency(snapshot, selected, names, decision)

    existing = {run.name for run in snapshot.active_runs}
    index = {fire: i for i, fire in enumerate(due.known)}
    create = tuple(
        RunToCreate(names[fire], fire, _previous_fire(schedule, due.known, index[fire]), fire)
        for fire in decision.create
        if names[fire] not in existing
    )
    skipped = _skipped_groups(snapshot, due, decision)
    return SchedulePlan(
        create=create,
        cancel=tuple(decision.cancel),
        last_schedule_time=_watermark(snapshot.last_schedule_time, due, decision),
        next_schedule_time=next_time,
        skipped=skipped,
        deferred=tuple(decision.deferred),
        events=_events(snapshot, due, create, decision, skipped),
    )


def _watermark(previous: datetime | None, due: _Due, decision: _Decision) -> datetime | None:
    """The newest due fire dealt with: every due fire except the deferred ones (a suffix)."""
    handled = due.known[: len(due.known) - len(decision.deferred)]
    if handled:
        newest: datetime | None = handled[-1]
    else:
        newest = None if due.older is None else due.older.last
    if newest is None:
        return previous
    return newest if previous is None else max(previous, newest)


def _skipped_groups(snapshot: ScheduleSnapshot, due: _Due, decision: _Decision) -> tuple[SkippedFires, ...]:
    groups = {
        reason: SkippedFires(reason, len(fires), min(fires), max(fires)) for reason, fires in decision.skipped.items()
    }
    if due.older is not None:
        reason = _older_reason(snapshot, due.older)
        group = groups.get(reason)
        if group is None:
            groups[reason] = SkippedFires(reason, 1, due.older.first, due.older.last, at_least=True)
        else:
            groups[reason] = SkippedFires(reason, group.count + 1, due.older.first, group.last, at_least=True)
    return tuple(sorted(groups.values(), key=lambda group: (group.first, group.reason.value)))


def _older_reason(snapshot: ScheduleSnapshot, older: _Older) -> SkipReason:
    """Fires older than the examined ones are never selected; say why by the newest of them."""
    deadline = snapshot.starting_deadline_seconds
    if deadline is not None and older.last < snapshot.now - timedelta(seconds=deadline):
        return SkipReason.PAST_STARTING_DEADLINE
    return SkipReason.CATCHUP_LIMIT if snapshot.catchup else SkipReason.CATCHUP_DISABLED


# --- events ----------------------------------------------------------------------------------


def _span(group: SkippedFires) -> str:
    if group.count == 1 and not group.at_least:
        return f"fire time {format_time(group.first)}"
    count = f"at least {group.count}" if group.at_least else str(group.count)
    return f"{count} fire times ({format_time(group.first)} … {format_time(group.last)})"


def _skip_message(snapshot: ScheduleSnapshot, group: SkippedFires, latest: datetime, blockers: Sequence[str]) -> str:
    span = _span(group)
    if group.reason is SkipReason.PAST_STARTING_DEADLINE:
        return f"skipped {span}: more than startingDeadlineSeconds ({snapshot.starting_deadline_seconds}s) late"
    if group.reason is SkipReason.CATCHUP_DISABLED:
        return (
            f"skipped {span}: catchup is off, so of the missed fire times only the latest "
            f"({format_time(latest)}) is considered"
        )
    if group.reason is SkipReason.CATCHUP_LIMIT:
        return (
            f"skipped {span}: more missed fire times than the catch-up limit of {snapshot.catchup_limit}; "
            f"run them with `dagwright backfill --from {format_time(group.first)} --to {format_time(group.last)}`"
        )
    if group.reason is SkipReason.CONCURRENCY_FORBID:
        return f"skipped {span}: concurrencyPolicy is Forbid and {', '.join(blockers)} is still active"
    return f"skipped {span}: superseded by a newer fire time (concurrencyPolicy Replace)"


def _created_message(create: Sequence[RunToCreate]) -> str:
    if len(create) == 1:
        return f"created run {create[0].name} for fire time {format_time(create[0].logical_date)}"
    first, last = create[0], create[-1]
    return (
        f"caught up {len(create)} missed fire times ({format_time(first.logical_date)} … "
        f"{format_time(last.logical_date)}): created runs {first.name} … {last.name}"
    )


def _events(
    snapshot: ScheduleSnapshot,
    due: _Due,
    create: Sequence[RunToCreate],
    decision: _Decision,
    skipped: Sequence[SkippedFires],
) -> tuple[ScheduleEvent, ...]:
    blockers = [run.name for run in snapshot.active_runs]
    events = [
        ScheduleEvent(EventType.WARNING, EventReason.SKIPPED, _skip_message(snapshot, group, due.known[-1], blockers))
        for group in skipped
    ]
    if decision.cancel and create:
        events.append(
            ScheduleEvent(
                EventType.NORMAL,
                EventReason.REPLACED,
                f"cancelling {', '.join(decision.cancel)}: replaced by {create[-1].name} (concurrencyPolicy Replace)",
            )
        )
    if create:
        events.append(ScheduleEvent(EventType.NORMAL, EventReason.FIRED, _created_message(create)))
    return tuple(events)


# --- helpers for the controller and the CLI --------------------------------------------------


def requeue_after(plan: SchedulePlan, now: datetime) -> float:
    """Seconds until the scheduler should look at this workflow again."""
    if plan.next_schedule_time is None:
        wait = IDLE_REQUEUE_SECONDS
    else:
        wait = max(0.0, (plan.next_schedule_time - to_utc(now, "now")).total_seconds())
    if plan.deferred:
        wait = min(wait, DEFERRED_RECHECK_SECONDS)
    return wait


def backfill_fire_times(expr: str, tz: str, start: datetime, end: datetime, limit: int) -> list[datetime]:
    """Fire times in the inclusive range [start, end], at most ``limit`` (ask limit+1 to detect more)."""
    schedule = compile_schedule(expr, tz)
    return schedule.between(to_utc(start, "start") - timedelta(microseconds=1), end, limit)


def backfill_runs(
    workflow_name: str, expr: str, tz: str, start: datetime, end: datetime, limit: int
) -> list[RunToCreate]:
    """The runs ``dagwright backfill --from start --to end`` creates: same names as scheduled runs."""
    schedule = compile_schedule(expr, tz)
    fires = schedule.between(to_utc(start, "start") - timedelta(microseconds=1), end, limit)
    return [
        RunToCreate(scheduled_run_name(workflow_name, fire), fire, _previous_fire(schedule, fires, i), fire)
        for i, fire in enumerate(fires)
    ]


def manual_run(workflow_name: str, expr: str, tz: str, logical_date: datetime) -> RunToCreate:
    """The run ``dagwright trigger --logical-date`` creates for a scheduled workflow.

    Named like a scheduled run of that time, so at a fire time it *is* that fire's run (the
    scheduler then gets 409 and creates nothing): it must process the same data, so its data
    interval is what the scheduler gives that fire, (previous fire, logical date]. Between fires
    it covers the data since the last fire.
    """
    logical = to_utc(logical_date, "logical date")
    previous = compile_schedule(expr, tz).previous_before(logical) or logical
    return RunToCreate(scheduled_run_name(workflow_name, logical), logical, previous, logical)
