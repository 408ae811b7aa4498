"""plan_triggers: runs started by other workflows' runs, exactly once per event, even replayed."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from dagwright.api.models import ConcurrencyPolicy
from dagwright.api.triggers import UpstreamEvent
from dagwright.schedule.names import triggered_run_name
from dagwright.schedule.triggers import (
    SETTLE_SECONDS,
    OwnRun,
    TriggerEventReason,
    TriggerParamSource,
    TriggerPlan,
    TriggerSnapshot,
    Upstream,
    UpstreamRun,
    plan_triggers,
)

DAY = datetime(2026, 11, 24, tzinfo=UTC)
NOW = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)
START = NOW - timedelta(hours=1)


def run(name: str, workflow: str = "a", phase: str | None = "Succeeded", day: datetime = DAY,
        ended: datetime | None = NOW - timedelta(minutes=1), **kw: object) -> UpstreamRun:
    return UpstreamRun(name, workflow, phase, day, ended, **kw)  # type: ignore[arg-type]


def snap(*runs: UpstreamRun, upstreams: tuple[Upstream, ...] = (Upstream("a"),), **kw: object) -> TriggerSnapshot:
    fields: dict[str, object] = {"watermark": START, **kw}
    return TriggerSnapshot(workflow_name="b", upstreams=upstreams, now=NOW,  # type: ignore[arg-type]
                           upstream_runs=runs, **fields)


def apply(snapshot: TriggerSnapshot, plan: TriggerPlan, later: timedelta = timedelta(0)) -> TriggerSnapshot:
    """The next pass: the created runs exist, the status holds the plan's watermark and handled."""
    own = (*snapshot.own_runs, *(OwnRun(r.name, True) for r in plan.create))
    return replace(snapshot, own_runs=own, watermark=plan.watermark, handled=frozenset(plan.handled),
                   now=snapshot.now + later)


class TestOneUpstream:
    @pytest.mark.parametrize(("on", "phase", "fires"), [
        (UpstreamEvent.SUCCEEDED, "Succeeded", True),
        (UpstreamEvent.SUCCEEDED, "Failed", False),
        (UpstreamEvent.FAILED, "Failed", True),
        (UpstreamEvent.FAILED, "Succeeded", False),
        (UpstreamEvent.FINISHED, "Succeeded", True),
        (UpstreamEvent.FINISHED, "Failed", True),
        (UpstreamEvent.FINISHED, "Cancelled", True),
        (UpstreamEvent.FINISHED, "Running", False),
    ], ids=lambda v: getattr(v, "value", v))
    def test_an_upstream_run_that_ended_as_on_says_starts_one_run(self, on: UpstreamEvent, phase: str,
                                                                   fires: bool) -> None:
        plan = plan_triggers(snap(run("a-1", phase=phase), upstreams=(Upstream("a", on),)))
        assert len(plan.create) == (1 if fires else 0)

    def test_the_run_carries_the_upstream_logical_date_interval_and_params_and_is_named_by_the_event(self) -> None:
        interval = (DAY - timedelta(days=1), DAY)
        upstream = run("a-1", data_interval=interval, outputs={("load", "rows"): "42"})
        params = (TriggerParamSource("rows", "a", "load", "rows"), TriggerParamSource("other", "a", "load", "none"))
        plan = plan_triggers(snap(upstream, params=params))
        (created,) = plan.create
        assert created.name == triggered_run_name("b", DAY, ("a-1",))
        assert created.logical_date == DAY and created.data_interval == interval
        assert created.params == (("rows", "42"),)
        assert created.upstream_runs == ("a-1",)
        assert [e.reason for e in plan.events] == [TriggerEventReason.TRIGGERED]

    def test_two_upstream_runs_for_the_same_day_are_two_events(self) -> None:
        plan = plan_triggers(snap(run("a-1"), run("a-1-retry", ended=NOW)))
        assert len({r.name for r in plan.create}) == 2

    def test_unfinished_and_other_workflows_runs_do_not_count(self) -> None:
        plan = plan_triggers(snap(run("a-1", phase="Running", ended=None), run("c-1", workflow="c")))
        assert plan.create == ()

    def test_an_event_before_the_watermark_is_old_news(self) -> None:
        plan = plan_triggers(snap(run("a-1", ended=START - timedelta(seconds=1))))
        assert plan.create == ()


class TestExactlyOnce:
    def test_a_replayed_pass_creates_nothing_more(self) -> None:
        first = snap(run("a-1"))
        plan = plan_triggers(first)
        assert len(plan.create) == 1
        again = plan_triggers(apply(first, plan))
        assert again.create == () and again.events == ()

    def test_a_crash_before_the_status_was_written_replans_the_same_name(self) -> None:
        """The run was created, the watermark and handled were not recorded: same name, 409 in the controller."""
        first = snap(run("a-1"))
        plan = plan_triggers(first)
        replay = plan_triggers(first)  # the cache does not hold the created run yet either
        assert [r.name for r in replay.create] == [r.name for r in plan.create]

    def test_a_crash_after_create_with_the_run_in_the_cache_creates_nothing(self) -> None:
        first = snap(run("a-1"))
        plan = plan_triggers(first)
        replay = plan_triggers(replace(first, own_runs=(OwnRun(plan.create[0].name, False),)))
        assert replay.create == ()
        assert replay.handled == (plan.create[0].name,)

    def test_a_triggered_run_deleted_by_the_history_limit_is_not_created_again(self) -> None:
        first = snap(run("a-1"))
        plan = plan_triggers(first)
        later = apply(first, plan, timedelta(seconds=5))
        assert plan_triggers(replace(later, own_runs=())).create == ()  # remembered by name
        much_later = apply(later, plan_triggers(later), timedelta(seconds=SETTLE_SECONDS * 2))
        assert plan_triggers(replace(much_later, own_runs=())).create == ()  # under the watermark

    def test_an_event_that_reaches_the_cache_late_still_fires_within_the_settle_time(self) -> None:
        first = snap()
        plan = plan_triggers(first)
        late = replace(apply(first, plan, timedelta(seconds=30)), upstream_runs=(run("a-1", ended=NOW - timedelta(seconds=1)),))
        assert len(plan_triggers(late).create) == 1

    def test_the_watermark_never_goes_back_and_trails_now_by_the_settle_time(self) -> None:
        plan = plan_triggers(snap())
        assert plan.watermark == NOW - timedelta(seconds=SETTLE_SECONDS)
        assert plan_triggers(snap(watermark=NOW)).watermark == NOW

    def test_the_watermark_moves_in_whole_minutes_so_the_status_is_written_at_most_once_a_minute(self) -> None:
        later = replace(snap(), now=NOW + timedelta(seconds=42))
        assert plan_triggers(later).watermark == NOW - timedelta(seconds=SETTLE_SECONDS)


class TestJoin:
    UPS = (Upstream("a"), Upstream("c"))

    def test_a_join_waits_for_every_upstream_and_says_which_is_missing(self) -> None:
        plan = plan_triggers(snap(run("a-1"), upstreams=self.UPS))
        assert plan.create == ()
        assert plan.waiting_for == "c for 2026-11-24T00:00:00Z"

    def test_a_join_fires_once_when_all_upstreams_have_a_run_for_the_same_date(self) -> None:
        plan = plan_triggers(snap(run("a-1"), run("c-1", workflow="c"), upstreams=self.UPS))
        (created,) = plan.create
        assert created.upstream_runs == ("a-1", "c-1")
        assert plan_triggers(apply(snap(run("a-1"), run("c-1", workflow="c"), upstreams=self.UPS), plan)).create == ()

    def test_runs_for_different_dates_do_not_join(self) -> None:
        other_day = DAY + timedelta(days=1)
        plan = plan_triggers(snap(run("a-1"), run("c-2", workflow="c", day=other_day), upstreams=self.UPS))
        assert plan.create == ()

    def test_a_join_takes_the_newest_run_of_each_upstream_for_the_date(self) -> None:
        runs = (run("a-1", ended=NOW - timedelta(minutes=5)), run("a-1r", ended=NOW - timedelta(minutes=2)),
                run("c-1", workflow="c"))
        (created,) = plan_triggers(snap(*runs, upstreams=self.UPS)).create
        assert created.upstream_runs == ("a-1r", "c-1")


class TestPolicies:
    def test_suspended_events_wait_and_fire_on_resume(self) -> None:
        suspended = snap(run("a-1"), suspend=True)
        plan = plan_triggers(suspended)
        assert plan.create == () and plan.watermark == START and plan.waiting_for.startswith("suspended")
        resumed = plan_triggers(replace(apply(suspended, plan, timedelta(hours=2)), suspend=False))
        assert len(resumed.create) == 1

    def test_forbid_skips_an_event_while_a_run_is_active_and_says_which(self) -> None:
        plan = plan_triggers(snap(run("a-1"), own_runs=(OwnRun("b-old", True),),
                                  concurrency_policy=ConcurrencyPolicy.FORBID))
        assert plan.create == ()
        assert "b-old is still active" in plan.skipped[0].message
        assert plan.handled == (plan.skipped[0].name,)

    def test_forbid_starts_only_the_oldest_of_several_new_events(self) -> None:
        plan = plan_triggers(snap(run("a-1", ended=NOW - timedelta(minutes=3)), run("a-2"),
                                  concurrency_policy=ConcurrencyPolicy.FORBID))
        assert [r.upstream_runs for r in plan.create] == [("a-1",)]
        assert len(plan.skipped) == 1

    def test_replace_cancels_the_active_runs_and_starts_the_newest(self) -> None:
        plan = plan_triggers(snap(run("a-1", ended=NOW - timedelta(minutes=3)), run("a-2"),
                                  own_runs=(OwnRun("b-old", True), OwnRun("b-done", False)),
                                  concurrency_policy=ConcurrencyPolicy.REPLACE))
        assert [r.upstream_runs for r in plan.create] == [("a-2",)]
        assert plan.cancel == ("b-old",)
        assert TriggerEventReason.REPLACED in [e.reason for e in plan.events]

    def test_allow_starts_every_event(self) -> None:
        plan = plan_triggers(snap(run("a-1", ended=NOW - timedelta(minutes=3)), run("a-2"),
                                  own_runs=(OwnRun("b-old", True),)))
        assert len(plan.create) == 2


class TestNames:
    def test_a_triggered_run_name_is_a_short_dns_name_that_depends_on_the_event(self) -> None:
        name = triggered_run_name("x" * 80, DAY, ("a-1",))
        assert len(name) <= 63 and name.endswith(name.rsplit("-", 1)[1])
        assert triggered_run_name("b", DAY, ("a-1",)) != triggered_run_name("b", DAY, ("a-2",))
        assert triggered_run_name("b", DAY, ("a-1",)) == triggered_run_name("b", DAY, ("a-1",))
        assert triggered_run_name("b", DAY, ("a-1",)).startswith("b-20261124t000000z-")
