"""The scheduler's decider (dagwright.schedule.plan): table tests, one behaviour per row."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dagwright.schedule.plan import (
    DEFERRED_RECHECK_SECONDS,
    IDLE_REQUEUE_SECONDS,
    ActiveRun,
    ConcurrencyPolicy,
    EventReason,
    ScheduleSnapshot,
    SkipReason,
    backfill_fire_times,
    backfill_runs,
    manual_run,
    plan_schedule,
    requeue_after,
)

FORBID, REPLACE = ConcurrencyPolicy.FORBID, ConcurrencyPolicy.REPLACE


def nov(day: int, hour: int = 2, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, second, tzinfo=UTC)


BASE = ScheduleSnapshot(
    workflow_name="lakehouse-daily",
    schedule="0 2 * * *",
    created_at=nov(1, 0),
    last_schedule_time=nov(23),
    now=nov(24, 2, 0, 30),
)


def snap(**changes: Any) -> ScheduleSnapshot:
    return replace(BASE, **changes)


def active(*names: str) -> tuple[ActiveRun, ...]:
    return tuple(ActiveRun(name) for name in names)


CASES = [
    pytest.param(snap(now=nov(24, 1, 59)), [], {}, nov(23), [], id="nothing is due before the next fire time"),
    pytest.param(snap(), [nov(24)], {}, nov(24), [], id="a fire on time creates one run"),
    pytest.param(snap(now=nov(24)), [nov(24)], {}, nov(24), [], id="a fire exactly at now is due"),
    pytest.param(
        snap(last_schedule_time=nov(21)),
        [nov(24)],
        {SkipReason.CATCHUP_DISABLED: 2},
        nov(24),
        [],
        id="catchup off: three missed fires create one run, for the latest",
    ),
    pytest.param(
        snap(last_schedule_time=nov(21), catchup=True),
        [nov(22), nov(23), nov(24)],
        {},
        nov(24),
        [],
        id="catchup on: every missed fire gets a run, oldest first",
    ),
    pytest.param(
        snap(last_schedule_time=nov(1), catchup=True, catchup_limit=3),
        [nov(22), nov(23), nov(24)],
        {SkipReason.CATCHUP_LIMIT: 20},
        nov(24),
        [],
        id="catchup on: beyond the limit the most recent fires run and older ones are skipped",
    ),
    pytest.param(
        snap(now=nov(24, 2, 20), starting_deadline_seconds=600),
        [],
        {SkipReason.PAST_STARTING_DEADLINE: 1},
        nov(24),
        [],
        id="a fire later than the starting deadline is skipped and not retried",
    ),
    pytest.param(
        snap(now=nov(24, 2, 10), starting_deadline_seconds=600),
        [nov(24)],
        {},
        nov(24),
        [],
        id="a fire exactly at the starting deadline still runs",
    ),
    pytest.param(
        snap(last_schedule_time=nov(21), catchup=True, starting_deadline_seconds=36 * 3600),
        [nov(23), nov(24)],
        {SkipReason.PAST_STARTING_DEADLINE: 1},
        nov(24),
        [],
        id="catchup on with a deadline runs only the fires within the deadline",
    ),
    pytest.param(
        snap(last_schedule_time=nov(21), now=nov(24, 3), starting_deadline_seconds=600),
        [],
        {SkipReason.PAST_STARTING_DEADLINE: 3},
        nov(24),
        [],
        id="catchup off and every fire too late: the deadline is the reason given for all of them",
    ),
    pytest.param(
        snap(concurrency_policy=FORBID, active_runs=active("adhoc")),
        [],
        {SkipReason.CONCURRENCY_FORBID: 1},
        nov(24),
        [],
        id="Forbid with an active run skips the fire and still advances lastScheduleTime",
    ),
    pytest.param(
        snap(concurrency_policy=FORBID), [nov(24)], {}, nov(24), [], id="Forbid without an active run creates the run"
    ),
    pytest.param(
        snap(concurrency_policy=FORBID, last_schedule_time=nov(21), catchup=True, active_runs=active("adhoc")),
        [],
        {},
        nov(21),
        [nov(22), nov(23), nov(24)],
        id="Forbid with catchup defers missed fires while a run is active",
    ),
    pytest.param(
        snap(concurrency_policy=FORBID, last_schedule_time=nov(21), catchup=True),
        [nov(22)],
        {},
        nov(22),
        [nov(23), nov(24)],
        id="Forbid with catchup starts only the oldest missed fire when nothing is active",
    ),
    pytest.param(
        snap(
            concurrency_policy=FORBID,
            last_schedule_time=nov(1),
            catchup=True,
            catchup_limit=2,
            active_runs=active("adhoc"),
        ),
        [],
        {SkipReason.CATCHUP_LIMIT: 21},
        nov(22),
        [nov(23), nov(24)],
        id="Forbid with catchup still skips fires beyond the catch-up limit while deferring",
    ),
    pytest.param(
        snap(concurrency_policy=REPLACE, active_runs=active("old")),
        [nov(24)],
        {},
        nov(24),
        [],
        id="Replace creates the new run",
    ),
    pytest.param(
        snap(concurrency_policy=REPLACE, last_schedule_time=nov(21), catchup=True),
        [nov(24)],
        {SkipReason.SUPERSEDED: 2},
        nov(24),
        [],
        id="Replace with catchup creates only the newest fire and supersedes the older ones",
    ),
    pytest.param(
        snap(active_runs=active("a", "b")), [nov(24)], {}, nov(24), [], id="Allow creates a run while others are active"
    ),
    pytest.param(
        snap(suspend=True, last_schedule_time=nov(21)),
        [],
        {},
        nov(21),
        [],
        id="suspend creates and skips nothing and keeps lastScheduleTime",
    ),
    pytest.param(
        snap(last_schedule_time=None, created_at=nov(23, 12)),
        [nov(24)],
        {},
        nov(24),
        [],
        id="without lastScheduleTime the creation time is the start",
    ),
    pytest.param(
        snap(last_schedule_time=None, created_at=nov(24, 2, 0, 10)),
        [],
        {},
        None,
        [],
        id="a workflow created just after a fire time waits for the next one",
    ),
    pytest.param(
        snap(last_schedule_time=nov(24, 2)),
        [],
        {},
        nov(24),
        [],
        id="a fire already recorded in lastScheduleTime never runs again",
    ),
    pytest.param(
        snap(concurrency_policy=FORBID, active_runs=active("lakehouse-daily-20261124t020000z")),
        [],
        {},
        nov(24),
        [],
        id="a run that already exists for the fire is not created again nor counted as blocking",
    ),
]


@pytest.mark.parametrize(("snapshot", "created", "skipped", "last", "deferred"), CASES)
def test_plan_schedule(
    snapshot: ScheduleSnapshot,
    created: list[datetime],
    skipped: dict[SkipReason, int],
    last: datetime | None,
    deferred: list[datetime],
) -> None:
    plan = plan_schedule(snapshot)
    assert plan.error is None
    assert [run.logical_date for run in plan.create] == created
    assert {group.reason: group.count for group in plan.skipped} == skipped
    assert plan.last_schedule_time == last
    assert list(plan.deferred) == deferred
    assert plan.next_schedule_time is not None and plan.next_schedule_time > snapshot.now


def test_created_runs_carry_name_logical_date_and_data_interval() -> None:
    (run,) = plan_schedule(snap()).create
    assert run.name == "lakehouse-daily-20261124t020000z"
    assert (run.logical_date, run.data_interval_start, run.data_interval_end) == (nov(24), nov(23), nov(24))


def test_the_data_interval_follows_the_schedule_not_a_stale_last_schedule_time() -> None:
    # The schedule moved from 02:00 to 03:00: the interval is the new schedule's previous fire.
    (run,) = plan_schedule(snap(schedule="0 3 * * *", now=nov(24, 3, 0, 30), last_schedule_time=nov(23, 3, 30))).create
    assert (run.data_interval_start, run.data_interval_end) == (nov(23, 3), nov(24, 3))


def test_catch_up_data_intervals_chain_one_after_another() -> None:
    runs = plan_schedule(snap(last_schedule_time=nov(21), catchup=True)).create
    assert [(r.data_interval_start, r.data_interval_end) for r in runs] == [
        (nov(21), nov(22)),
        (nov(22), nov(23)),
        (nov(23), nov(24)),
    ]


def test_replace_cancels_every_other_active_run_but_never_the_new_one() -> None:
    plan = plan_schedule(
        snap(concurrency_policy=REPLACE, active_runs=active("old-1", "lakehouse-daily-20261124t020000z", "old-2"))
    )
    assert plan.cancel == ("old-1", "old-2")
    assert plan.create == ()  # it already exists: a previous pass created it and crashed


def test_replace_cancels_nothing_when_nothing_is_due() -> None:
    assert plan_schedule(snap(concurrency_policy=REPLACE, now=nov(24, 1), active_runs=active("old"))).cancel == ()


def test_suspend_still_computes_the_next_fire_time() -> None:
    assert plan_schedule(snap(suspend=True)).next_schedule_time == nov(25)


def test_a_dst_gap_fire_runs_at_the_jump_with_the_previous_fire_as_interval_start() -> None:
    snapshot = snap(
        schedule="30 2 * * *",
        timezone="Europe/Berlin",
        last_schedule_time=datetime(2026, 3, 28, 1, 30, tzinfo=UTC),
        now=datetime(2026, 3, 29, 1, 0, 30, tzinfo=UTC),
    )
    (run,) = plan_schedule(snapshot).create
    assert run.logical_date == datetime(2026, 3, 29, 1, tzinfo=UTC)  # 03:00 CEST
    assert run.data_interval_start == datetime(2026, 3, 28, 1, 30, tzinfo=UTC)
    assert run.name == "lakehouse-daily-20260329t010000z"


@pytest.mark.parametrize(
    ("snapshot", "problem"),
    [
        pytest.param(
            snap(schedule="0 0 2 * * *"), "5 fields", id="a 6-field schedule yields an error and nothing else"
        ),
        pytest.param(
            snap(timezone="Mars/Olympus"), "Unknown timezone 'Mars/Olympus'", id="an unknown zone yields an error"
        ),
    ],
)
def test_invalid_schedules_give_an_error_and_no_action(snapshot: ScheduleSnapshot, problem: str) -> None:
    plan = plan_schedule(snapshot)
    assert plan.error is not None and problem in plan.error
    assert (plan.create, plan.cancel, plan.events, plan.next_schedule_time) == ((), (), (), None)
    assert plan.last_schedule_time == snapshot.last_schedule_time


# --- events --------------------------------------------------------------------------------------


def test_an_on_time_fire_posts_one_normal_event() -> None:
    (event,) = plan_schedule(snap()).events
    assert (event.type.value, event.reason) == ("Normal", EventReason.FIRED)
    assert event.message == "created run lakehouse-daily-20261124t020000z for fire time 2026-11-24T02:00:00Z"


def test_missed_fires_with_catchup_off_are_explained() -> None:
    messages = plan_schedule(snap(last_schedule_time=nov(21))).messages
    assert messages == (
        "skipped 2 fire times (2026-11-22T02:00:00Z … 2026-11-23T02:00:00Z): catchup is off, "
        "so of the missed fire times only the latest (2026-11-24T02:00:00Z) is considered",
        "created run lakehouse-daily-20261124t020000z for fire time 2026-11-24T02:00:00Z",
    )


@pytest.mark.parametrize(
    ("snapshot", "fragment"),
    [
        pytest.param(
            snap(now=nov(24, 2, 20), starting_deadline_seconds=600),
            "startingDeadlineSeconds (600s) late",
            id="a late fire names the deadline",
        ),
        pytest.param(
            snap(last_schedule_time=nov(1), catchup=True, catchup_limit=3),
            "dagwright backfill --from 2026-11-02T02:00:00Z --to 2026-11-21T02:00:00Z",
            id="fires beyond the catch-up limit suggest the backfill command",
        ),
        pytest.param(
            snap(concurrency_policy=FORBID, active_runs=active("adhoc")),
            "Forbid and adhoc is still active",
            id="a forbidden fire names the blocking run",
        ),
        pytest.param(
            snap(concurrency_policy=REPLACE, active_runs=active("old")),
            "cancelling old: replaced by lakehouse-daily-20261124t020000z",
            id="a replacement names both runs",
        ),
        pytest.param(
            snap(last_schedule_time=nov(21), catchup=True),
            "caught up 3 missed fire times",
            id="a catch-up is one event, not one per run",
        ),
    ],
)
def test_event_messages(snapshot: ScheduleSnapshot, fragment: str) -> None:
    assert any(fragment in message for message in plan_schedule(snapshot).messages)


def test_deferral_and_suspension_post_no_events() -> None:
    deferred = snap(concurrency_policy=FORBID, catchup=True, active_runs=active("adhoc"))
    assert plan_schedule(deferred).events == ()
    assert plan_schedule(snap(suspend=True)).events == ()


# --- long outages ------------------------------------------------------------------------------


def test_a_year_of_missed_minutes_is_bounded_in_time_and_reported() -> None:
    snapshot = snap(
        schedule="* * * * *", last_schedule_time=nov(1, 0), now=datetime(2027, 11, 24, 2, tzinfo=UTC), catchup=True
    )
    started = time.perf_counter()
    plan = plan_schedule(snapshot)
    assert time.perf_counter() - started < 2.0
    assert len(plan.create) == 10 and plan.create[-1].logical_date == snapshot.now
    (group,) = plan.skipped
    assert group.reason is SkipReason.CATCHUP_LIMIT and group.at_least
    assert group.first == nov(1, 0, 1) and group.last == snapshot.now - timedelta(minutes=10)
    assert plan.last_schedule_time == snapshot.now


# --- requeue, backfill, snapshot checks -------------------------------------------------------


def test_requeue_after_is_the_time_to_the_next_fire() -> None:
    assert requeue_after(plan_schedule(snap()), nov(24, 2, 0, 30)) == 24 * 3600 - 30


def test_requeue_after_is_short_while_fires_are_deferred() -> None:
    plan = plan_schedule(snap(concurrency_policy=FORBID, catchup=True, active_runs=active("adhoc")))
    assert requeue_after(plan, BASE.now) == DEFERRED_RECHECK_SECONDS


def test_requeue_after_an_error_is_the_idle_interval() -> None:
    assert requeue_after(plan_schedule(snap(schedule="bad")), BASE.now) == IDLE_REQUEUE_SECONDS


def test_requeue_after_is_never_negative() -> None:
    assert requeue_after(plan_schedule(snap()), nov(26)) == 0.0


def test_backfill_range_is_inclusive_at_both_ends() -> None:
    assert backfill_fire_times("0 2 * * *", "UTC", nov(20), nov(22), 100) == [nov(20), nov(21), nov(22)]
    assert backfill_fire_times("0 2 * * *", "UTC", nov(20), nov(22), 2) == [nov(20), nov(21)]


def test_backfill_runs_have_scheduled_names_and_data_intervals() -> None:
    runs = backfill_runs("lakehouse-daily", "0 2 * * *", "UTC", nov(20), nov(21), 10)
    assert [(r.name, r.data_interval_start, r.data_interval_end) for r in runs] == [
        ("lakehouse-daily-20261120t020000z", nov(19), nov(20)),
        ("lakehouse-daily-20261121t020000z", nov(20), nov(21)),
    ]


def test_a_manual_run_at_a_fire_time_gets_the_scheduled_runs_name_and_data_interval() -> None:
    # the scheduler's own fire would get 409 and leave this run to do its work: same window
    [scheduled] = backfill_runs("lakehouse-daily", "0 2 * * *", "UTC", nov(21), nov(21), 10)
    assert manual_run("lakehouse-daily", "0 2 * * *", "UTC", nov(21)) == scheduled


def test_a_manual_run_between_fires_covers_the_data_since_the_last_fire() -> None:
    run = manual_run("lakehouse-daily", "0 2 * * *", "UTC", nov(21, 14))
    assert (run.name, run.data_interval_start, run.data_interval_end) == (
        "lakehouse-daily-20261121t140000z", nov(21), nov(21, 14))


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        pytest.param(
            {"now": datetime(2026, 11, 24)}, "now must be a timezone-aware datetime", id="a naive now is refused"
        ),
        pytest.param(
            {"last_schedule_time": datetime(2026, 11, 24)}, "timezone-aware", id="a naive lastScheduleTime is refused"
        ),
        pytest.param({"catchup_limit": 0}, "catchup_limit must be within", id="a zero catch-up limit is refused"),
        pytest.param({"catchup_limit": 1000}, "catchup_limit must be within", id="a huge catch-up limit is refused"),
        pytest.param({"starting_deadline_seconds": -1}, "must not be negative", id="a negative deadline is refused"),
        pytest.param({"concurrency_policy": "Sometimes"}, "Sometimes", id="an unknown policy is refused"),
    ],
)
def test_snapshot_refuses_bad_values(changes: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        snap(**changes)


def test_snapshot_accepts_policy_strings_and_lists() -> None:
    snapshot = snap(concurrency_policy="Forbid", active_runs=[ActiveRun("x")])
    assert snapshot.concurrency_policy is FORBID and snapshot.active_runs == (ActiveRun("x"),)
