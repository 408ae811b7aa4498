"""Cron parsing, validation and DST-correct fire times (dagwright.schedule.cron)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from dagwright.schedule.cron import ScheduleError, compile_schedule, fire_times, validate_cron, validate_timezone


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


# --- validation ------------------------------------------------------------------------------

VALID = [
    pytest.param("0 2 * * *", id="a daily time is valid"),
    pytest.param("*/15 * * * *", id="every fifteen minutes is valid"),
    pytest.param("0 9-17/2 * * mon-fri", id="ranges, steps and weekday names are valid"),
    pytest.param("0 0 1 jan,JUL *", id="month names in any case are valid"),
    pytest.param("0 0 * * 7", id="weekday 7 means Sunday"),
    pytest.param("0 0 ? * 1", id="a question mark in day-of-month means any"),
    pytest.param("5/20 * * * *", id="N/step means from N to the end in steps"),
    pytest.param("0 0 29 2 *", id="29 February is valid because leap years exist"),
    pytest.param("@daily", id="the @daily macro is valid"),
    pytest.param("@HOURLY", id="macros are case-insensitive"),
    pytest.param("  0 2 * * *  ", id="surrounding blanks are ignored"),
]


@pytest.mark.parametrize("expr", VALID)
def test_valid_expressions_have_no_error(expr: str) -> None:
    assert validate_cron(expr) is None


INVALID = [
    pytest.param("", "empty", id="an empty expression is refused"),
    pytest.param("0 0 2 * * *", "must have 5 fields", id="a 6-field expression with seconds is refused"),
    pytest.param("0 0 2 * * * 2026", "got 7", id="a 7-field expression with years is refused"),
    pytest.param("0 2 * *", "got 4", id="a 4-field expression is refused"),
    pytest.param("@reboot", "@reboot is not supported", id="@reboot is refused"),
    pytest.param("@every 5m", "@every is not supported", id="@every is refused"),
    pytest.param("@fortnightly", "unknown macro", id="an unknown macro is refused"),
    pytest.param("60 * * * *", "minute field: 60 is out of range 0-59", id="minute 60 is out of range"),
    pytest.param("0 24 * * *", "hour field: 24 is out of range 0-23", id="hour 24 is out of range"),
    pytest.param("0 0 0 * *", "day-of-month field: 0 is out of range", id="day-of-month 0 is out of range"),
    pytest.param("0 0 * 13 *", "month field: 13 is out of range", id="month 13 is out of range"),
    pytest.param("0 0 * * 8", "day-of-week field: 8 is out of range", id="weekday 8 is out of range"),
    pytest.param("0 0 * * funday", "'funday' is not a number", id="an unknown weekday name is refused"),
    pytest.param("*/0 * * * *", "step '0'", id="a zero step is refused"),
    pytest.param("*/x * * * *", "step 'x'", id="a non-numeric step is refused"),
    pytest.param("30-10 * * * *", "starts after it ends", id="a backwards range is refused"),
    pytest.param("0,,5 * * * *", "empty list item", id="an empty list item is refused"),
    pytest.param("0 ? * * *", "'?' is not a number", id="a question mark outside the day fields is refused"),
    pytest.param("0 0 L * *", "'L' is not a number", id="the Quartz L extension is refused"),
    pytest.param("H * * * *", "'H' is not a number", id="the Jenkins H extension is refused"),
    pytest.param("0 0 30 2 *", "never fires", id="30 February never fires and is refused"),
    pytest.param("0 0 31 4,6,9,11 *", "never fires", id="the 31st of 30-day months never fires"),
]


@pytest.mark.parametrize(("expr", "problem"), INVALID)
def test_invalid_expressions_name_the_problem(expr: str, problem: str) -> None:
    error = validate_cron(expr)
    assert error is not None and problem in error


def test_31st_of_30_day_months_is_fine_when_weekdays_also_match() -> None:
    assert validate_cron("0 0 31 4 1") is None  # day fields OR: every Monday in April


@pytest.mark.parametrize(
    ("name", "error"),
    [
        pytest.param("Europe/Berlin", None, id="Europe/Berlin is a known zone"),
        pytest.param("UTC", None, id="UTC is a known zone"),
        pytest.param("America/New_York", None, id="America/New_York is a known zone"),
        pytest.param("Mars/Olympus", "Unknown timezone 'Mars/Olympus'", id="Mars/Olympus is unknown"),
        pytest.param("", "Unknown timezone ''", id="an empty zone is unknown"),
        pytest.param("../../etc/passwd", "Unknown timezone", id="a path is not a zone"),
        pytest.param(" UTC", "Unknown timezone", id="a zone with blanks is unknown"),
    ],
)
def test_timezone_validation(name: str, error: str | None) -> None:
    result = validate_timezone(name)
    assert result == error if error is None else error in (result or "")


def test_fire_times_refuses_bad_input_with_schedule_error() -> None:
    with pytest.raises(ScheduleError, match="Unknown timezone"):
        fire_times("0 2 * * *", "Mars/Olympus", utc(2026, 1, 1), None, 1)
    with pytest.raises(ScheduleError, match="5 fields"):
        fire_times("0 0 2 * * *", "UTC", utc(2026, 1, 1), None, 1)


def test_fire_times_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        fire_times("0 2 * * *", "UTC", datetime(2026, 1, 1), None, 1)


# --- plain fire times ------------------------------------------------------------------------


def test_fire_times_are_strictly_after_after_and_at_or_before_until() -> None:
    fires = fire_times("0 2 * * *", "UTC", utc(2026, 11, 22, 2), utc(2026, 11, 24, 2), 10)
    assert fires == [utc(2026, 11, 23, 2), utc(2026, 11, 24, 2)]


def test_limit_bounds_the_number_of_fire_times() -> None:
    assert len(fire_times("* * * * *", "UTC", utc(2026, 1, 1), None, 7)) == 7
    assert fire_times("* * * * *", "UTC", utc(2026, 1, 1), None, 0) == []


def test_fire_times_are_aware_utc() -> None:
    (fire,) = fire_times("0 2 * * *", "Asia/Tokyo", utc(2026, 1, 1), None, 1)
    assert fire.tzinfo is UTC and fire == utc(2026, 1, 1, 17)


@pytest.mark.parametrize(
    ("expr", "after", "expected"),
    [
        pytest.param(
            "0 0 29 2 *",
            utc(2026, 1, 1),
            [utc(2028, 2, 29), utc(2032, 2, 29)],
            id="29 February fires in leap years only",
        ),
        pytest.param(
            "0 0 13 * 5",
            utc(2026, 3, 1),
            [utc(2026, 3, 6), utc(2026, 3, 13)],
            id="restricted day fields fire on either (Fridays or the 13th)",
        ),
        pytest.param(
            "0 0 */10 * *",
            utc(2026, 3, 1),
            [utc(2026, 3, 11), utc(2026, 3, 21)],
            id="a day-of-month step starts at the 1st",
        ),
        pytest.param(
            "0 0 * * sun", utc(2026, 3, 1), [utc(2026, 3, 8), utc(2026, 3, 15)], id="weekday names work (Sundays)"
        ),
        pytest.param(
            "0 0 */3 * 0-6",
            utc(2026, 3, 1),
            [utc(2026, 3, 2), utc(2026, 3, 3)],
            id="a weekday range covering the week still ORs with the day of month (as Kubernetes)",
        ),
        pytest.param(
            "0 0 */3 * *",
            utc(2026, 3, 1),
            [utc(2026, 3, 4), utc(2026, 3, 7)],
            id="with weekday star only the day of month counts",
        ),
        pytest.param(
            "@monthly", utc(2026, 12, 15), [utc(2027, 1, 1), utc(2027, 2, 1)], id="@monthly crosses the year boundary"
        ),
        pytest.param(
            "59 23 31 12 *",
            utc(2026, 12, 31, 23, 59),
            [utc(2027, 12, 31, 23, 59), utc(2028, 12, 31, 23, 59)],
            id="a fire exactly at after is not repeated",
        ),
    ],
)
def test_calendar_rules(expr: str, after: datetime, expected: list[datetime]) -> None:
    assert fire_times(expr, "UTC", after, None, len(expected)) == expected


# --- DST ---------------------------------------------------------------------------------------

BERLIN, NEW_YORK = "Europe/Berlin", "America/New_York"

DST_CASES = [
    # Europe/Berlin spring forward: 2026-03-29 02:00 CET -> 03:00 CEST (01:00Z).
    pytest.param(
        BERLIN,
        "30 2 * * *",
        utc(2026, 3, 28),
        [utc(2026, 3, 28, 1, 30), utc(2026, 3, 29, 1), utc(2026, 3, 30, 0, 30)],
        id="Berlin spring: a daily 02:30 in the gap fires once at 03:00 CEST",
    ),
    pytest.param(
        BERLIN,
        "0 2 * * *",
        utc(2026, 3, 28, 12),
        [utc(2026, 3, 29, 1), utc(2026, 3, 30, 0)],
        id="Berlin spring: a daily 02:00 fires at the jump to 03:00 CEST",
    ),
    pytest.param(
        BERLIN,
        "0 2,3 * * *",
        utc(2026, 3, 28, 12),
        [utc(2026, 3, 29, 1), utc(2026, 3, 30, 0), utc(2026, 3, 30, 1)],
        id="Berlin spring: a shifted 02:00 and the real 03:00 collapse into one fire",
    ),
    pytest.param(
        BERLIN,
        "*/15 2 * * *",
        utc(2026, 3, 28, 12),
        [utc(2026, 3, 29, 1), utc(2026, 3, 30, 0), utc(2026, 3, 30, 0, 15)],
        id="Berlin spring: four wall times in the gap fire once",
    ),
    pytest.param(
        BERLIN,
        "0 * * * *",
        utc(2026, 3, 28, 23, 30),
        [utc(2026, 3, 29, 0), utc(2026, 3, 29, 1), utc(2026, 3, 29, 2)],
        id="Berlin spring: hourly follows real hours (01:00 CET then 03:00 CEST)",
    ),
    pytest.param(
        BERLIN,
        "30 * * * *",
        utc(2026, 3, 29, 0),
        [utc(2026, 3, 29, 0, 30), utc(2026, 3, 29, 1, 30)],
        id="Berlin spring: hourly at :30 stays one real hour apart across the gap",
    ),
    pytest.param(
        BERLIN,
        "*/30 * * * *",
        utc(2026, 3, 29, 0, 15),
        [utc(2026, 3, 29, 0, 30), utc(2026, 3, 29, 1), utc(2026, 3, 29, 1, 30)],
        id="Berlin spring: every 30 minutes stays 30 real minutes apart across the gap",
    ),
    # Europe/Berlin fall back: 2026-10-25 03:00 CEST -> 02:00 CET (01:00Z); 02:00-02:59 happens twice.
    pytest.param(
        BERLIN,
        "30 2 * * *",
        utc(2026, 10, 24),
        [utc(2026, 10, 24, 0, 30), utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)],
        id="Berlin autumn: a daily 02:30 in the repeated hour fires once, at the first (CEST) occurrence",
    ),
    pytest.param(
        BERLIN,
        "*/20 2 * * *",
        utc(2026, 10, 24, 12),
        [utc(2026, 10, 25, 0), utc(2026, 10, 25, 0, 20), utc(2026, 10, 25, 0, 40), utc(2026, 10, 26, 1)],
        id="Berlin autumn: a fixed-hour schedule runs only the first pass of the repeated hour",
    ),
    pytest.param(
        BERLIN,
        "0 3 * * *",
        utc(2026, 10, 24, 12),
        [utc(2026, 10, 25, 2), utc(2026, 10, 26, 2)],
        id="Berlin autumn: a daily 03:00 after the repeated hour is unaffected",
    ),
    pytest.param(
        BERLIN,
        "0 * * * *",
        utc(2026, 10, 24, 22, 30),
        [utc(2026, 10, 24, 23), utc(2026, 10, 25, 0), utc(2026, 10, 25, 1), utc(2026, 10, 25, 2)],
        id="Berlin autumn: hourly fires at 02:00 CEST and at 02:00 CET (two real hours)",
    ),
    pytest.param(
        BERLIN,
        "@hourly",
        utc(2026, 10, 24, 23, 30),
        [utc(2026, 10, 25, 0), utc(2026, 10, 25, 1)],
        id="Berlin autumn: @hourly is interval-like too",
    ),
    pytest.param(
        BERLIN,
        "*/30 * * * *",
        utc(2026, 10, 24, 23, 45),
        [
            utc(2026, 10, 25, 0),
            utc(2026, 10, 25, 0, 30),
            utc(2026, 10, 25, 1),
            utc(2026, 10, 25, 1, 30),
            utc(2026, 10, 25, 2),
        ],
        id="Berlin autumn: every 30 minutes fires every 30 real minutes through the repeated hour",
    ),
    # America/New_York spring forward: 2026-03-08 02:00 EST -> 03:00 EDT (07:00Z).
    pytest.param(
        NEW_YORK,
        "30 2 * * *",
        utc(2026, 3, 7),
        [utc(2026, 3, 7, 7, 30), utc(2026, 3, 8, 7), utc(2026, 3, 9, 6, 30)],
        id="New York spring: a daily 02:30 in the gap fires once at 03:00 EDT",
    ),
    pytest.param(
        NEW_YORK,
        "0 * * * *",
        utc(2026, 3, 8, 5, 30),
        [utc(2026, 3, 8, 6), utc(2026, 3, 8, 7), utc(2026, 3, 8, 8)],
        id="New York spring: hourly goes 01:00 EST then 03:00 EDT",
    ),
    # America/New_York fall back: 2026-11-01 02:00 EDT -> 01:00 EST (06:00Z); 01:00-01:59 happens twice.
    pytest.param(
        NEW_YORK,
        "30 1 * * *",
        utc(2026, 10, 31),
        [utc(2026, 10, 31, 5, 30), utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30)],
        id="New York autumn: a daily 01:30 in the repeated hour fires once, at 01:30 EDT",
    ),
    pytest.param(
        NEW_YORK,
        "0 2 * * *",
        utc(2026, 10, 31, 12),
        [utc(2026, 11, 1, 7), utc(2026, 11, 2, 7)],
        id="New York autumn: a daily 02:00 right after the repeated hour fires once",
    ),
    pytest.param(
        NEW_YORK,
        "0 * * * *",
        utc(2026, 11, 1, 3, 30),
        [utc(2026, 11, 1, 4), utc(2026, 11, 1, 5), utc(2026, 11, 1, 6), utc(2026, 11, 1, 7)],
        id="New York autumn: hourly fires at 01:00 EDT and at 01:00 EST",
    ),
]


@pytest.mark.parametrize(("tz", "expr", "after", "expected"), DST_CASES)
def test_dst_semantics(tz: str, expr: str, after: datetime, expected: list[datetime]) -> None:
    assert fire_times(expr, tz, after, None, len(expected)) == expected


def test_a_daily_schedule_fires_once_per_local_day_across_a_whole_dst_year() -> None:
    zone = ZoneInfo(BERLIN)
    for expr in ("30 2 * * *", "0 2 * * *", "59 1 * * *", "0 3 * * *"):
        fires = fire_times(expr, BERLIN, utc(2025, 12, 31, 12), utc(2026, 12, 31, 12), 1000)
        days = [fire.astimezone(zone).date() for fire in fires]
        assert len(fires) == 365 and len(set(days)) == 365, expr


def test_an_hourly_schedule_fires_once_per_real_hour_across_a_whole_dst_year() -> None:
    fires = fire_times("0 * * * *", NEW_YORK, utc(2026, 1, 1), utc(2027, 1, 1), 10_000)
    assert fires == [utc(2026, 1, 1) + timedelta(hours=h) for h in range(1, 8761)]


def test_a_zone_that_skips_a_whole_day_shifts_a_daily_fire_to_the_jump() -> None:
    # Pacific/Apia skipped 30 December 2011 (UTC-10 -> UTC+14 at 10:00Z).
    fires = fire_times("0 2 * * *", "Pacific/Apia", utc(2011, 12, 29), None, 3)
    assert fires == [utc(2011, 12, 29, 12), utc(2011, 12, 30, 10), utc(2011, 12, 30, 12)]


def test_half_hour_dst_shift_of_lord_howe() -> None:
    # Australia/Lord_Howe moves 30 minutes: 2026-10-04 02:00 -> 02:30 (+10:30 -> +11:00).
    zone = ZoneInfo("Australia/Lord_Howe")
    fires = fire_times("15 2 * * *", "Australia/Lord_Howe", utc(2026, 10, 2), None, 3)
    local = [fire.astimezone(zone).strftime("%m-%d %H:%M") for fire in fires]
    assert local == ["10-03 02:15", "10-04 02:30", "10-05 02:15"]


def test_schedule_previous_and_latest() -> None:
    schedule = compile_schedule("0 2 * * *", BERLIN)
    assert schedule.previous_before(utc(2026, 3, 29, 1)) == utc(2026, 3, 28, 1)
    assert schedule.previous_before(utc(2026, 3, 29, 1, 0, 1)) == utc(2026, 3, 29, 1)
    assert schedule.latest(utc(2026, 3, 1), utc(2026, 3, 30, 12), 2) == [utc(2026, 3, 29, 1), utc(2026, 3, 30, 0)]
    assert schedule.latest(utc(2026, 3, 29, 12), utc(2026, 3, 30, 12), 5) == [utc(2026, 3, 30, 0)]
