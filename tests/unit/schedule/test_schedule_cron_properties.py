"""Property tests of fire times: ordering, bounds, cron matching, and two independent oracles.

* In UTC (no DST), fire times equal croniter's.
* In DST zones, fire times equal a brute-force reference that walks every real minute and
  applies the documented DST rules directly.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from croniter import croniter
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from dagwright.schedule.cron import DayRule, compile_schedule, parse_cron, validate_cron

from .strategies import TRANSITIONS, ZONES, cron_expressions, instants_2026, zones

MINUTE = timedelta(minutes=1)


def _offset(moment: datetime, zone: ZoneInfo) -> timedelta:
    offset = moment.astimezone(zone).utcoffset()
    assert offset is not None
    return offset


def _croniter_agrees(expr: str) -> bool:
    """croniter reads a day field listing every value ("0-6") as "*" and then ANDs the day
    fields where classic cron and Kubernetes (robfig/cron) OR them: that corner is no oracle."""
    spec = parse_cron(expr)
    return spec.day_rule is DayRule.BOTH or (len(spec.days_of_month) < 31 and len(spec.days_of_week) < 7)


def _croniter_matches(expr: str, wall: datetime) -> bool:
    return croniter.match(expr, wall) if _croniter_agrees(expr) else parse_cron(expr).matches(wall)


@settings(max_examples=100, deadline=None)
@given(expr=cron_expressions, tz=zones, after=instants_2026, limit=st.integers(1, 40))
def test_fire_times_are_increasing_after_after_and_match_the_cron_in_local_time(
    expr: str, tz: str, after: datetime, limit: int
) -> None:
    assume(validate_cron(expr) is None)
    schedule, zone = compile_schedule(expr, tz), ZoneInfo(tz)
    fires = schedule.between(after, None, limit)
    assert len(fires) == limit
    assert all(fire > after for fire in fires)
    assert all(a < b for a, b in pairwise(fires))
    for fire in fires:
        wall = fire.astimezone(zone).replace(tzinfo=None)
        if not _croniter_matches(expr, wall):  # only a wall-clock schedule shifted out of a gap
            assert not schedule.spec.interval_like
            assert _offset(fire - timedelta(seconds=1), zone) < _offset(fire, zone)


@settings(max_examples=100, deadline=None)
@given(expr=cron_expressions, after=instants_2026)
def test_in_utc_fire_times_equal_croniters(expr: str, after: datetime) -> None:
    assume(validate_cron(expr) is None and _croniter_agrees(expr))
    ours = compile_schedule(expr, "UTC").between(after, None, 20)
    iterator = croniter(expr, after.replace(tzinfo=None))
    theirs = [iterator.get_next(datetime).replace(tzinfo=UTC) for _ in range(20)]
    assert ours == theirs


def _reference(expr: str, tz: str, start: datetime, end: datetime) -> list[datetime]:
    """Walk every real minute in (start, end] and apply the DST rules of the docs literally."""
    spec, zone = parse_cron(expr), ZoneInfo(tz)
    fires: list[datetime] = []
    moment = start.replace(second=0, microsecond=0) + MINUTE
    while moment <= end:
        local = moment.astimezone(zone)
        wall = local.replace(tzinfo=None)
        regular = spec.matches(wall) and (spec.interval_like or local.fold == 0)
        shifted = False
        before = moment - MINUTE
        if not spec.interval_like and _offset(before, zone) < _offset(moment, zone):
            gap_wall = before.astimezone(zone).replace(tzinfo=None) + MINUTE
            while gap_wall < wall and not shifted:
                shifted = spec.matches(gap_wall)
                gap_wall += MINUTE
        if regular or shifted:
            fires.append(moment)
        moment += MINUTE
    return fires


@settings(max_examples=50, deadline=None)
@given(
    expr=cron_expressions,
    tz=st.sampled_from([z for z in ZONES if z != "UTC"]),
    transition=st.sampled_from(TRANSITIONS),
    shift=st.integers(-30 * 60, 0),
)
def test_around_dst_transitions_fire_times_equal_a_brute_force_reference(
    expr: str, tz: str, transition: datetime, shift: int
) -> None:
    assume(validate_cron(expr) is None)
    start = transition + timedelta(minutes=shift)
    end = start + timedelta(hours=36)
    assert compile_schedule(expr, tz).between(start, end) == _reference(expr, tz, start, end)


@settings(max_examples=60, deadline=None)
@given(expr=cron_expressions, tz=zones, before=instants_2026)
def test_previous_fire_is_the_last_fire_before(expr: str, tz: str, before: datetime) -> None:
    assume(validate_cron(expr) is None)
    schedule = compile_schedule(expr, tz)
    previous = schedule.previous_before(before)
    assert previous is not None and previous < before
    assert schedule.next_after(previous) is not None
    following = schedule.next_after(previous)
    assert following is not None and following >= before
