"""Property tests of plan_schedule: names, ordering, idempotence, and whole simulated histories."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from dagwright.schedule.cron import compile_schedule
from dagwright.schedule.names import scheduled_run_name
from dagwright.schedule.plan import (
    ActiveRun,
    ConcurrencyPolicy,
    SchedulePlan,
    ScheduleSnapshot,
    plan_schedule,
)

from .strategies import instants_2026, zones

WORKFLOW = "lakehouse-daily"
SCHEDULES = ["0 2 * * *", "30 2 * * *", "0 * * * *", "*/15 * * * *", "0 */6 * * *", "*/20 1-3 * * *", "0 9 * * 1-5"]

schedules = st.sampled_from(SCHEDULES)
policies = st.sampled_from(list(ConcurrencyPolicy))
deadlines = st.one_of(st.none(), st.integers(0, 3 * 86400))


@st.composite
def snapshots(draw: st.DrawFn) -> ScheduleSnapshot:
    schedule, tz = draw(schedules), draw(zones)
    created_at = draw(instants_2026)
    last = draw(st.one_of(st.none(), st.integers(0, 5 * 24 * 60).map(lambda m: created_at + timedelta(minutes=m))))
    now = (last or created_at) + timedelta(minutes=draw(st.integers(0, 5 * 24 * 60)))
    due = compile_schedule(schedule, tz).between(last or created_at, now, 200)
    own = [ActiveRun(scheduled_run_name(WORKFLOW, fire), fire) for fire in due]
    others = [ActiveRun(f"adhoc-{i}") for i in range(draw(st.integers(0, 2)))]
    active = draw(st.lists(st.sampled_from(own + others), unique=True, max_size=3)) if own + others else []
    return ScheduleSnapshot(
        workflow_name=WORKFLOW,
        schedule=schedule,
        timezone=tz,
        created_at=created_at,
        last_schedule_time=last,
        now=now,
        suspend=draw(st.booleans().map(lambda b: b and draw(st.booleans()))),
        catchup=draw(st.booleans()),
        catchup_limit=draw(st.integers(1, 5)),
        starting_deadline_seconds=draw(deadlines),
        concurrency_policy=draw(policies),
        active_runs=tuple(active),
    )


def apply(snapshot: ScheduleSnapshot, plan: SchedulePlan) -> ScheduleSnapshot:
    """What the controller does: create, cancel, record lastScheduleTime."""
    kept = [run for run in snapshot.active_runs if run.name not in plan.cancel]
    created = [ActiveRun(run.name, run.logical_date) for run in plan.create]
    return replace(snapshot, last_schedule_time=plan.last_schedule_time, active_runs=tuple(kept + created))


@settings(max_examples=100, deadline=None)
@given(snapshot=snapshots())
def test_created_runs_are_unique_due_and_named_after_their_fire(snapshot: ScheduleSnapshot) -> None:
    plan = plan_schedule(snapshot)
    start = snapshot.last_schedule_time or snapshot.created_at
    names = [run.name for run in plan.create]
    dates = [run.logical_date for run in plan.create]
    assert len(set(names)) == len(names)
    assert dates == sorted(dates)
    existing = {run.name for run in snapshot.active_runs}
    for run in plan.create:
        assert start < run.logical_date <= snapshot.now
        assert run.name == scheduled_run_name(WORKFLOW, run.logical_date) and run.name not in existing
        assert run.data_interval_start < run.data_interval_end == run.logical_date
    assert not set(plan.cancel) & set(names)
    assert plan.next_schedule_time is not None and plan.next_schedule_time > snapshot.now


@settings(max_examples=100, deadline=None)
@given(snapshot=snapshots())
def test_last_schedule_time_never_goes_back_and_never_passes_now(snapshot: ScheduleSnapshot) -> None:
    plan = plan_schedule(snapshot)
    if snapshot.last_schedule_time is not None:
        assert plan.last_schedule_time is not None and plan.last_schedule_time >= snapshot.last_schedule_time
    if plan.last_schedule_time != snapshot.last_schedule_time:
        assert plan.last_schedule_time is not None and plan.last_schedule_time <= snapshot.now
    for run in plan.create:
        assert plan.last_schedule_time is not None and run.logical_date <= plan.last_schedule_time
    for fire in plan.deferred:
        assert plan.last_schedule_time is None or fire > plan.last_schedule_time


@settings(max_examples=100, deadline=None)
@given(snapshot=snapshots())
def test_policies_hold(snapshot: ScheduleSnapshot) -> None:
    plan = plan_schedule(snapshot)
    if snapshot.suspend:
        assert (plan.create, plan.cancel, plan.skipped, plan.deferred) == ((), (), (), ())
    if snapshot.concurrency_policy is not ConcurrencyPolicy.ALLOW or not snapshot.catchup:
        assert len(plan.create) <= 1
    if snapshot.concurrency_policy is ConcurrencyPolicy.FORBID and plan.create:
        assert snapshot.active_runs == ()  # Forbid starts a run only when nothing is active
    if snapshot.concurrency_policy is ConcurrencyPolicy.REPLACE and plan.create:
        assert set(plan.cancel) == {run.name for run in snapshot.active_runs}
    if snapshot.concurrency_policy is not ConcurrencyPolicy.REPLACE:
        assert plan.cancel == ()


@settings(max_examples=100, deadline=None)
@given(snapshot=snapshots())
def test_applying_a_plan_and_planning_again_at_the_same_now_does_nothing(snapshot: ScheduleSnapshot) -> None:
    first = plan_schedule(snapshot)
    second = plan_schedule(apply(snapshot, first))
    assert (second.create, second.cancel, second.skipped, second.events) == ((), (), (), ())
    assert second.last_schedule_time == first.last_schedule_time
    assert second.next_schedule_time == first.next_schedule_time


# --- whole histories ---------------------------------------------------------------------------


@dataclass
class World:
    """A scheduler that wakes at arbitrary times, and runs that take a while."""

    snapshot: ScheduleSnapshot
    finishes: dict[str, datetime] = field(default_factory=dict)
    created: list[datetime] = field(default_factory=list)
    max_active: int = 0

    def pass_at(self, now: datetime, duration: timedelta) -> SchedulePlan:
        still = tuple(run for run in self.snapshot.active_runs if self.finishes[run.name] > now)
        self.snapshot = replace(self.snapshot, now=now, active_runs=still)
        plan = plan_schedule(self.snapshot)
        self.snapshot = apply(self.snapshot, plan)
        for run in plan.create:
            self.finishes[run.name] = now + duration
            self.created.append(run.logical_date)
        self.max_active = max(self.max_active, len(self.snapshot.active_runs))
        return plan


#: Minutes between scheduler passes: often short, sometimes a day (an outage); never more than
#: a day, so that no pass has more than 100 due fires (the catch-up limit used below).
_gaps = st.one_of(st.integers(1, 90), st.integers(90, 24 * 60))
_durations = st.one_of(st.integers(1, 60), st.integers(60, 36 * 60))
histories = st.tuples(schedules, zones, instants_2026, st.lists(st.tuples(_gaps, _durations), min_size=1, max_size=25))


def _run(history: tuple[str, str, datetime, list[tuple[int, int]]], **policy: object) -> tuple[World, datetime]:
    schedule, tz, created_at, steps = history
    world = World(ScheduleSnapshot(WORKFLOW, schedule, created_at, created_at, timezone=tz, **policy))  # type: ignore[arg-type]
    now = created_at
    for gap, duration in steps:
        now += timedelta(minutes=gap)
        world.pass_at(now, timedelta(minutes=duration))
    return world, now


@settings(max_examples=60, deadline=None)
@given(history=histories)
def test_allow_with_catchup_runs_every_fire_exactly_once(
    history: tuple[str, str, datetime, list[tuple[int, int]]],
) -> None:
    world, end = _run(history, catchup=True, catchup_limit=100)
    schedule, tz, created_at, _ = history
    assert world.created == compile_schedule(schedule, tz).between(created_at, end)


@settings(max_examples=60, deadline=None)
@given(history=histories, catchup=st.booleans(), deadline=deadlines)
def test_forbid_never_has_two_runs_at_once_and_never_repeats_a_fire(
    history: tuple[str, str, datetime, list[tuple[int, int]]], catchup: bool, deadline: int | None
) -> None:
    world, _ = _run(
        history, catchup=catchup, starting_deadline_seconds=deadline, concurrency_policy=ConcurrencyPolicy.FORBID
    )
    assert world.max_active <= 1
    assert world.created == sorted(set(world.created))


@settings(max_examples=60, deadline=None)
@given(history=histories, policy=policies, deadline=deadlines)
def test_without_catchup_each_pass_runs_at_most_the_latest_fire(
    history: tuple[str, str, datetime, list[tuple[int, int]]], policy: ConcurrencyPolicy, deadline: int | None
) -> None:
    world, _ = _run(history, catchup=False, starting_deadline_seconds=deadline, concurrency_policy=policy)
    assert world.created == sorted(set(world.created))
    assert len(world.created) <= len(history[3])
