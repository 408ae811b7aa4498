"""The trigger decider: which runs a Workflow with `spec.triggers` needs now.

``plan_triggers(snapshot) -> TriggerPlan`` is a pure function of a frozen ``TriggerSnapshot``
(the upstreams and what counts as their event, the upstream runs that ended, the workflow's
own runs, the watermark and the events already handled, ``now``). It must not talk to the API,
read a clock, log, or know about pydantic models.

Events
------
* With one upstream, every run of it that ended as ``on`` says is one event. With several, an
  event is a logical date for which every upstream has such a run (a join); it is made of the
  newest such run of each upstream for that date. The event's time is when its last run ended.
* An event's run is named ``triggered_run_name(workflow, logical date, its upstream runs)``:
  a pure function of the event. Replaying an event (a restart, a second replica, a pass that
  crashed before recording it) plans the same name, which already exists (in the cache, or
  the create answers 409 AlreadyExists): exactly one run per event, never from memory.
* Events that ended at or before the *watermark* are dealt with for good. After a pass the
  watermark moves to ``now - SETTLE_SECONDS``, rounded down to the minute (never back); the events in between are
  remembered by name in ``handled``. So a triggered run deleted by the history limits is not
  created again, and an upstream run whose status reached the cache a little late (a status
  write in flight, a restart) still counts.
* The watermark starts at the workflow's creation when it had triggers from its first
  generation, else at the first pass that sees them: adding a trigger to an old workflow does
  not replay the upstream's history.

Policies
--------
* ``suspend``: events wait (nothing is created, skipped or recorded); on resume they are
  handled as below.
* ``Allow``: every event gets its run.
* ``Forbid``: an event that comes while a run of this workflow is active is skipped (a Warning
  Event says which run blocked it); of several new events in one pass only the oldest starts.
* ``Replace``: the newest event's run starts and every other active run is cancelled; older new
  events of the same pass are superseded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum

from dagwright.api.models import ConcurrencyPolicy, EventType, RunPhase
from dagwright.api.triggers import MAX_HANDLED_EVENTS, UpstreamEvent
from dagwright.schedule.cron import to_utc
from dagwright.schedule.names import triggered_run_name

__all__ = [
    "SETTLE_SECONDS",
    "OwnRun",
    "TriggerEventReason",
    "TriggerParamSource",
    "TriggerPlan",
    "TriggerSkip",
    "TriggerSnapshot",
    "TriggeredRun",
    "Upstream",
    "UpstreamRun",
    "plan_triggers",
]

#: How long after its end an event is still looked at by name before the watermark passes it.
SETTLE_SECONDS = 600.0

_MATCHES: Mapping[UpstreamEvent, frozenset[str]] = {
    UpstreamEvent.SUCCEEDED: frozenset({RunPhase.SUCCEEDED.value}),
    UpstreamEvent.FAILED: frozenset({RunPhase.FAILED.value}),
    UpstreamEvent.FINISHED: frozenset({RunPhase.SUCCEEDED.value, RunPhase.FAILED.value, RunPhase.CANCELLED.value}),
}


class TriggerEventReason(str, Enum):
    """The ``reason`` of a Kubernetes Event about a trigger."""

    TRIGGERED = "Triggered"
    SKIPPED = "TriggerSkipped"
    REPLACED = "TriggerReplaced"


@dataclass(frozen=True)
class Upstream:
    """One entry of ``spec.triggers.workflows``."""

    workflow: str
    when: UpstreamEvent = UpstreamEvent.SUCCEEDED


@dataclass(frozen=True)
class TriggerParamSource:
    """``spec.triggers.params``: parameter ``name`` from ``workflow``'s task ``task``, key ``key``."""

    name: str
    workflow: str
    task: str
    key: str


@dataclass(frozen=True)
class UpstreamRun:
    """An upstream run as the decider needs it (finished or not; unfinished ones do not count)."""

    name: str
    workflow: str
    phase: str | None
    logical_date: datetime
    finished_at: datetime | None = None
    data_interval: tuple[datetime, datetime] | None = None
    outputs: Mapping[tuple[str, str], str] = field(default_factory=dict)  # (task, key) -> value


@dataclass(frozen=True)
class OwnRun:
    """A run of the triggered workflow itself."""

    name: str
    active: bool


@dataclass(frozen=True)
class TriggerSnapshot:
    """Everything ``plan_triggers`` may look at; datetimes must be timezone-aware."""

    workflow_name: str
    upstreams: tuple[Upstream, ...]
    now: datetime
    watermark: datetime
    upstream_runs: tuple[UpstreamRun, ...] = ()
    own_runs: tuple[OwnRun, ...] = ()
    handled: frozenset[str] = frozenset()
    params: tuple[TriggerParamSource, ...] = ()
    concurrency_policy: ConcurrencyPolicy = ConcurrencyPolicy.ALLOW
    suspend: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "now", to_utc(self.now, "now"))
        object.__setattr__(self, "watermark", to_utc(self.watermark, "watermark"))
        object.__setattr__(self, "concurrency_policy", ConcurrencyPolicy(self.concurrency_policy))
        if not self.upstreams:
            raise ValueError("a trigger needs at least one upstream workflow")


@dataclass(frozen=True)
class TriggeredRun:
    """A run to create for one event."""

    name: str
    logical_date: datetime
    data_interval: tuple[datetime, datetime] | None
    upstream_runs: tuple[str, ...]
    params: tuple[tuple[str, str], ...] = ()
    at: datetime | None = None  # when the event happened (its last upstream run ended)


@dataclass(frozen=True)
class TriggerSkip:
    """An event that gets no run, and why."""

    name: str
    message: str


@dataclass(frozen=True)
class TriggerEvent:
    type: EventType
    reason: TriggerEventReason
    message: str


@dataclass(frozen=True)
class TriggerPlan:
    """What to do now: create, cancel, then record ``watermark`` and ``handled``."""

    watermark: datetime
    handled: tuple[str, ...] = ()
    create: tuple[TriggeredRun, ...] = ()
    cancel: tuple[str, ...] = ()
    skipped: tuple[TriggerSkip, ...] = ()
    events: tuple[TriggerEvent, ...] = ()
    waiting_for: str = ""


@dataclass(frozen=True)
class _Event:
    at: datetime
    logical_date: datetime
    runs: tuple[UpstreamRun, ...]
    name: str


def _format(moment: datetime) -> str:
    return to_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def _matching(snapshot: TriggerSnapshot) -> dict[str, dict[datetime, UpstreamRun]]:
    """Per upstream, per logical date: its newest run that ended as the trigger wants."""
    wanted = {up.workflow: _MATCHES[UpstreamEvent(up.when)] for up in snapshot.upstreams}
    newest: dict[str, dict[datetime, UpstreamRun]] = {up.workflow: {} for up in snapshot.upstreams}
    for run in snapshot.upstream_runs:
        if run.workflow not in wanted or run.phase not in wanted[run.workflow] or run.finished_at is None:
            continue
        date = to_utc(run.logical_date)
        held = newest[run.workflow].get(date)
        if held is None or (to_utc(run.finished_at), run.name) > (to_utc(held.finished_at or run.finished_at), held.name):
            newest[run.workflow][date] = run
    return newest


def _events(snapshot: TriggerSnapshot, matching: dict[str, dict[datetime, UpstreamRun]]) -> list[_Event]:
    names = [up.workflow for up in snapshot.upstreams]
    if len(names) == 1:  # every matching run is an event, not only the newest per date
        runs: Iterable[tuple[UpstreamRun, ...]] = (
            (run,) for run in snapshot.upstream_runs
            if run.workflow == names[0] and run.finished_at is not None
            and run.phase in _MATCHES[UpstreamEvent(snapshot.upstreams[0].when)]
        )
    else:
        dates = set.intersection(*(set(matching[name]) for name in names))
        runs = (tuple(matching[name][date] for name in names) for date in dates)
    events = []
    for combo in runs:
        logical = to_utc(combo[0].logical_date)
        at = max(to_utc(run.finished_at) for run in combo if run.finished_at is not None)
        name = triggered_run_name(snapshot.workflow_name, logical, tuple(run.name for run in combo))
        events.append(_Event(at, logical, combo, name))
    return sorted(events, key=lambda event: (event.at, event.name))


def _run_for(snapshot: TriggerSnapshot, event: _Event) -> TriggeredRun:
    by_workflow = {run.workflow: run for run in event.runs}
    params = []
    for source in snapshot.params:
        run = by_workflow.get(source.workflow)
        value = None if run is None else run.outputs.get((source.task, source.key))
        if value is not None:
            params.append((source.name, value))
    interval = next((run.data_interval for run in event.runs if run.data_interval is not None), None)
    return TriggeredRun(event.name, event.logical_date, interval, tuple(run.name for run in event.runs),
                        tuple(params), event.at)


def _describe(event: _Event) -> str:
    runs = ", ".join(f"{run.name} ({run.phase})" for run in event.runs)
    return f"{runs} for logical date {_format(event.logical_date)}"


def _waiting_for(snapshot: TriggerSnapshot, matching: dict[str, dict[datetime, UpstreamRun]]) -> str:
    """Partial joins newer than the watermark first; else what the next event needs."""
    names = [up.workflow for up in snapshot.upstreams]
    wants = " + ".join(f"{up.workflow} updated" if up.workflow.startswith("asset:")
                       else f"{up.workflow} {UpstreamEvent(up.when).value}" for up in snapshot.upstreams)
    if snapshot.suspend:
        return f"suspended ({wants})"
    partial: list[tuple[datetime, list[str]]] = []
    if len(names) > 1:
        for date in sorted({d for by_date in matching.values() for d in by_date}, reverse=True):
            done = [name for name in names if date in matching[name]]
            fresh = any(to_utc(matching[name][date].finished_at or date) > snapshot.watermark for name in done)
            if len(done) < len(names) and fresh:
                partial.append((date, [name for name in names if name not in done]))
    if partial:
        date, missing = partial[0]
        return f"{', '.join(missing)} for {_format(date)}"
    same = "same day" if any(name.startswith("asset:") for name in names) else "same logical date"
    return wants if len(names) == 1 else f"{wants} ({same})"


def plan_triggers(snapshot: TriggerSnapshot) -> TriggerPlan:
    """Decide the runs to create and cancel for one triggered workflow at ``snapshot.now``."""
    matching = _matching(snapshot)
    waiting = _waiting_for(snapshot, matching)
    if snapshot.suspend:
        return TriggerPlan(watermark=snapshot.watermark, handled=tuple(sorted(snapshot.handled)), waiting_for=waiting)
    existing = {run.name for run in snapshot.own_runs}
    new = [event for event in _events(snapshot, matching)
           if event.at > snapshot.watermark and event.name not in snapshot.handled and event.name not in existing]
    create: list[TriggeredRun] = []
    cancel: list[str] = []
    skipped: list[TriggerSkip] = []
    events: list[TriggerEvent] = []
    active = [run.name for run in snapshot.own_runs if run.active]
    policy = snapshot.concurrency_policy
    if new and policy is ConcurrencyPolicy.REPLACE:
        for event in new[:-1]:
            skipped.append(TriggerSkip(event.name, f"skipped {_describe(event)}: superseded by a newer event "
                                       "(concurrencyPolicy Replace)"))
        create.append(_run_for(snapshot, new[-1]))
        cancel.extend(active)
        if cancel:
            events.append(TriggerEvent(EventType.NORMAL, TriggerEventReason.REPLACED,
                                       f"cancelling {', '.join(cancel)}: replaced by {new[-1].name} "
                                       "(concurrencyPolicy Replace)"))
    elif new and policy is ConcurrencyPolicy.FORBID:
        blockers = list(active)
        for event in new:
            if blockers:
                skipped.append(TriggerSkip(event.name, f"skipped {_describe(event)}: concurrencyPolicy is "
                                           f"Forbid and {', '.join(blockers)} is still active"))
            else:
                create.append(_run_for(snapshot, event))
                blockers.append(event.name)
    else:
        create.extend(_run_for(snapshot, event) for event in new)
    events.extend(TriggerEvent(EventType.WARNING, TriggerEventReason.SKIPPED, skip.message) for skip in skipped)
    by_name = {event.name: event for event in new}
    events.extend(TriggerEvent(EventType.NORMAL, TriggerEventReason.TRIGGERED,
                               f"created run {run.name}: {_describe(by_name[run.name])}") for run in create)
    # whole minutes: the Workflow's status changes (one write) at most once a minute for it
    settled = (snapshot.now - timedelta(seconds=SETTLE_SECONDS)).replace(second=0, microsecond=0)
    watermark = max(snapshot.watermark, settled)
    return TriggerPlan(
        watermark=watermark,
        handled=_remembered(snapshot, watermark, [*create, *skipped], existing),
        create=tuple(create),
        cancel=tuple(cancel),
        skipped=tuple(skipped),
        events=tuple(events),
        waiting_for=waiting,
    )


def _remembered(snapshot: TriggerSnapshot, watermark: datetime, decided: Sequence[TriggeredRun | TriggerSkip],
                existing: set[str]) -> tuple[str, ...]:
    """Names of the events after the new watermark that are handled (bounded, newest kept)."""
    handled = set(snapshot.handled) | {item.name for item in decided}
    recent = [event for event in _events(snapshot, _matching(snapshot)) if event.at > watermark]
    kept = [event.name for event in recent if event.name in handled or event.name in existing]
    return tuple(sorted(kept[-MAX_HANDLED_EVENTS:]))
