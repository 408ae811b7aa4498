"""Cron expressions and IANA time zones -> fire times, DST-correct.

This module turns a 5-field cron expression plus an IANA time zone into the
instants (aware UTC datetimes) at which a schedule fires. It is a purely
computational module: no Kubernetes API, no clock (every "now" is a
parameter), no logging, no environment. Bad input raises ``ScheduleError``
(a ``ValueError``) whose message names the offending field or value;
``validate_cron`` and ``validate_timezone`` return that message instead.

Syntax (as Kubernetes CronJob, i.e. robfig/cron's standard parser)
-----------------------------------------------------------------
``minute hour day-of-month month day-of-week``; each field is a comma list of
``*``, ``N``, ``N-M``, optionally followed by ``/step`` (``N/step`` means
``N-max/step``); months and weekdays also accept three-letter English names
(``jan``..``dec``, ``sun``..``sat``); weekday ``7`` is Sunday; ``?`` means
``*`` in the two day fields. Macros: ``@yearly`` ``@annually`` ``@monthly``
``@weekly`` ``@daily`` ``@midnight`` ``@hourly``. Refused: 6/7-field forms
(seconds, years), ``@reboot``, ``@every``, Quartz/Jenkins extensions (``L``,
``W``, ``#``, ``H``) and schedules that can never fire (``0 0 30 2 *``).

When both day fields are restricted (neither is ``*``/``?``), a day matches
if *either* matches (classic cron); otherwise both must match.

DST semantics
-------------
The expression is evaluated against the wall clock of the time zone. A
schedule is *interval-like* when its hour field covers all 24 hours (``*``,
``*/1``, ``0-23``: e.g. ``0 * * * *``, ``*/15 * * * *``, ``@hourly``);
otherwise it is a *wall-clock* schedule (e.g. ``0 2 * * *``, ``*/10 9-17 * * 1-5``).

* Wall-clock schedule, repeated (autumn) hour: a wall time that occurs twice
  fires ONCE, at its first occurrence (the earlier, summer-time instant).
  ``30 2 * * *`` in Europe/Berlin on 2026-10-25 fires at 02:30 CEST = 00:30Z only.
* Wall-clock schedule, skipped (spring) hour: a wall time that does not exist
  fires once, at the first valid instant after it, i.e. the moment the clock
  jumps. ``30 2 * * *`` in Europe/Berlin on 2026-03-29 fires at 03:00 CEST =
  01:00Z. Several wall times in the gap (``*/15 2 * * *``) and a regular fire
  at that instant (``0 2,3 * * *``) collapse into that single fire.
* Interval-like schedule: follows real elapsed time. In the repeated hour it
  fires at both occurrences, because they are different real instants
  (``0 * * * *`` fires at 02:00 CEST = 00:00Z *and* 02:00 CET = 01:00Z on
  2026-10-25 in Berlin); wall times inside the skipped hour simply do not
  happen (``0 * * * *`` goes 01:00 CET = 00:00Z -> 03:00 CEST = 01:00Z: one
  real hour apart, nothing lost, nothing doubled).

croniter does not behave like this (it can fire a fixed time twice in the
repeated hour), so this module iterates wall-clock candidates itself and
resolves each one against the zone; croniter serves only as a test oracle.
"""

from __future__ import annotations

import calendar
import heapq
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "CronSpec",
    "Schedule",
    "ScheduleError",
    "compile_schedule",
    "fire_times",
    "parse_cron",
    "to_utc",
    "validate_cron",
    "validate_timezone",
]

_MINUTE = timedelta(minutes=1)
_ONE_SECOND = timedelta(seconds=1)
#: Real UTC offsets lie within +-14h; this window bounds the wall-clock scan.
_MAX_OFFSET = timedelta(hours=26)
#: A valid schedule fires at least once in 8 years (29 February, around 2100).
_MAX_FIRE_GAP = timedelta(days=366 * 9)

MACROS: dict[str, str] = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}

_MONTH_NAMES = {name.lower(): i for i, name in enumerate(calendar.month_abbr) if name}
_DAY_NAMES = {"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}
_MONTH_LENGTH_MAX = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


class ScheduleError(ValueError):
    """A cron expression or time zone that cannot be used; the message says why."""


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: dict[str, int] | None = None
    question_mark: bool = False


_FIELDS = (
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day-of-month", 1, 31, question_mark=True),
    _Field("month", 1, 12, names=_MONTH_NAMES),
    _Field("day-of-week", 0, 7, names=_DAY_NAMES, question_mark=True),
)


class DayRule(str, Enum):
    """How the day-of-month and day-of-week fields combine."""

    BOTH = "both"  # at least one field is '*': a day must match both
    EITHER = "either"  # both restricted: a day matching either field fires


@dataclass(frozen=True)
class CronSpec:
    """A parsed cron expression: the expanded value sets of its five fields."""

    expression: str
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days_of_month: frozenset[int]
    months: frozenset[int]
    days_of_week: frozenset[int]  # 0 = Sunday .. 6 = Saturday
    day_rule: DayRule

    @property
    def interval_like(self) -> bool:
        """True when every hour fires: such schedules follow real elapsed time."""
        return len(self.hours) == 24

    def matches_day(self, day: date) -> bool:
        """Whether the calendar day is one on which the schedule fires."""
        if day.month not in self.months:
            return False
        dom = day.day in self.days_of_month
        dow = (day.isoweekday() % 7) in self.days_of_week
        return (dom or dow) if self.day_rule is DayRule.EITHER else (dom and dow)

    def matches(self, wall: datetime) -> bool:
        """Whether a wall-clock (naive) time matches the expression."""
        return wall.minute in self.minutes and wall.hour in self.hours and self.matches_day(wall.date())


# --- parsing ---------------------------------------------------------------------------------


def _parse_value(token: str, field: _Field) -> int:
    if token.isdigit():
        value = int(token)
    elif field.names is not None and token.lower() in field.names:
        value = field.names[token.lower()]
    else:
        hint = f" or a name ({', '.join(field.names)})" if field.names else ""
        raise ScheduleError(f"{field.name} field: {token!r} is not a number{hint}")
    if not field.low <= value <= field.high:
        raise ScheduleError(f"{field.name} field: {value} is out of range {field.low}-{field.high}")
    return value


def _parse_item(item: str, field: _Field) -> tuple[set[int], bool]:
    """One comma-separated item -> (values, is_star)."""
    if not item:
        raise ScheduleError(f"{field.name} field: empty list item")
    base, slash, step_text = item.partition("/")
    step = 1
    if slash:
        if not step_text.isdigit() or int(step_text) == 0:
            raise ScheduleError(f"{field.name} field: step {step_text!r} in {item!r} must be a positive number")
        step = int(step_text)
    if base == "*" or (base == "?" and field.question_mark):
        low, high, star = field.low, field.high, step == 1
    elif "-" in base:
        first, _, last = base.partition("-")
        low, high, star = _parse_value(first, field), _parse_value(last, field), False
        if low > high:
            raise ScheduleError(f"{field.name} field: range {item!r} starts after it ends")
    else:
        low = _parse_value(base, field)
        high, star = (field.high if slash else low), False
    return set(range(low, high + 1, step)), star


def _parse_field(text: str, field: _Field) -> tuple[set[int], bool]:
    values: set[int] = set()
    star = False
    for item in text.split(","):
        item_values, item_star = _parse_item(item, field)
        values |= item_values
        star = star or item_star
    return values, star


def _split(expression: str) -> list[str]:
    text = expression.strip()
    if not text:
        raise ScheduleError("cron expression is empty")
    if text.startswith("@"):
        macro = text.lower()
        if macro in MACROS:
            return MACROS[macro].split()
        if macro == "@reboot" or macro.startswith("@every"):
            raise ScheduleError(f"{text.split()[0]} is not supported: use a 5-field cron expression or a macro")
        raise ScheduleError(f"unknown macro {text!r}: use one of {', '.join(MACROS)}")
    fields = text.split()
    if len(fields) != 5:
        raise ScheduleError(
            f"cron expression must have 5 fields (minute hour day-of-month month day-of-week), "
            f"got {len(fields)}: {text!r}"
        )
    return fields


def _check_can_fire(spec: CronSpec) -> None:
    if spec.day_rule is DayRule.EITHER or len(spec.days_of_month) == 31:
        return
    first_day = min(spec.days_of_month)
    if all(first_day > _MONTH_LENGTH_MAX[month] for month in spec.months):
        months = ", ".join(calendar.month_name[m] for m in sorted(spec.months))
        raise ScheduleError(f"schedule {spec.expression!r} never fires: no day {first_day} or later in {months}")


@lru_cache(maxsize=512)
def parse_cron(expression: str) -> CronSpec:
    """Parse a cron expression; raise ``ScheduleError`` naming the problem."""
    texts = _split(expression)
    parsed = [_parse_field(text, field) for text, field in zip(texts, _FIELDS, strict=True)]
    (minutes, _), (hours, _), (doms, dom_star), (months, _), (dows, dow_star) = parsed
    dows = {d % 7 for d in dows}
    spec = CronSpec(
        expression=" ".join(texts),
        minutes=tuple(sorted(minutes)),
        hours=tuple(sorted(hours)),
        days_of_month=frozenset(doms),
        months=frozenset(months),
        days_of_week=frozenset(dows),
        day_rule=DayRule.BOTH if dom_star or dow_star else DayRule.EITHER,
    )
    _check_can_fire(spec)
    return spec


def validate_cron(expression: str) -> str | None:
    """None when the expression is a usable 5-field cron schedule, else what is wrong."""
    if not isinstance(expression, str):
        return f"cron expression must be a string, got {type(expression).__name__}"
    try:
        parse_cron(expression)
    except ScheduleError as error:
        return str(error)
    return None


@lru_cache(maxsize=256)
def _zone(name: str) -> ZoneInfo:
    if not isinstance(name, str) or not name or name != name.strip():
        raise ScheduleError(f"Unknown timezone {name!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ScheduleError(f"Unknown timezone {name!r}") from None


def validate_timezone(name: str) -> str | None:
    """None when ``name`` is a known IANA time zone, else "Unknown timezone 'Mars/Olympus'"."""
    try:
        _zone(name)
    except ScheduleError as error:
        return str(error)
    return None


def to_utc(moment: datetime, what: str = "time") -> datetime:
    """An aware datetime converted to UTC; naive datetimes are a programming error."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime, got naive {moment.isoformat()}")
    return moment.astimezone(UTC)


# --- iteration -------------------------------------------------------------------------------


def _wall_times(spec: CronSpec, start: datetime) -> Iterator[datetime]:
    """Naive wall-clock times matching ``spec``, ascending, from ``start`` (inclusive)."""
    start = start.replace(second=0, microsecond=0)
    day: date | None = start.date()
    first_day = True
    while day is not None:
        if day.month not in spec.months:
            day, first_day = _first_of_next_month(day), False
            continue
        if spec.matches_day(day):
            for hour in spec.hours:
                if first_day and hour < start.hour:
                    continue
                for minute in spec.minutes:
                    if first_day and hour == start.hour and minute < start.minute:
                        continue
                    yield datetime(day.year, day.month, day.day, hour, minute)
        day, first_day = (None if day == date.max else day + timedelta(days=1)), False


def _first_of_next_month(day: date) -> date | None:
    if day.month == 12:
        return None if day.year == date.max.year else date(day.year + 1, 1, 1)
    return date(day.year, day.month + 1, 1)


def _naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class _Resolved:
    """The real instants (naive UTC) of one wall-clock time."""

    earliest: datetime  # lower bound of this and every later wall time's instants
    instants: tuple[datetime, ...]  # the fires it produces


class Schedule:
    """A compiled (cron expression, time zone) pair that yields UTC fire times."""

    def __init__(self, spec: CronSpec, zone: ZoneInfo) -> None:
        self.spec = spec
        self.zone = zone

    def __repr__(self) -> str:
        return f"Schedule({self.spec.expression!r}, {self.zone.key!r})"

    # Each wall time is resolved to real instants; see the module docstring.
    def _resolve(self, wall: datetime) -> _Resolved:
        first = wall.replace(tzinfo=self.zone)
        second = wall.replace(tzinfo=self.zone, fold=1)
        offset_first, offset_second = first.utcoffset(), second.utcoffset()
        assert offset_first is not None and offset_second is not None
        instant_first = wall - offset_first
        if offset_first == offset_second:
            return _Resolved(instant_first, (instant_first,))
        instant_second = wall - offset_second
        if offset_first > offset_second:  # repeated wall time: first and second occurrence
            both = (instant_first, instant_second) if self.spec.interval_like else (instant_first,)
            return _Resolved(instant_first, both)
        jump = self._transition(instant_second, instant_first)  # wall time in a gap
        return _Resolved(jump, () if self.spec.interval_like else (jump,))

    def _transition(self, before: datetime, after: datetime) -> datetime:
        """The instant in (before, after] at which the zone's offset changes."""
        offset_after = after.replace(tzinfo=UTC).astimezone(self.zone).utcoffset()
        low, high = before, after  # offset(low) differs, offset(high) is the new one
        while high - low > _ONE_SECOND:
            middle = low + (high - low) / 2
            middle = middle.replace(microsecond=0)
            if middle <= low:
                middle = low + _ONE_SECOND
            if middle.replace(tzinfo=UTC).astimezone(self.zone).utcoffset() == offset_after:
                high = middle
            else:
                low = middle
        return high

    def _scan_start(self, after: datetime) -> datetime:
        """A wall-clock time early enough that no fire after ``after`` is missed."""
        naive = _naive_utc(after)
        offsets = []
        for shift in (-2, 0, 2):
            try:
                probe = (naive + timedelta(days=shift)).replace(tzinfo=UTC)
            except OverflowError:
                continue
            offset = probe.astimezone(self.zone).utcoffset()
            assert offset is not None
            offsets.append(offset)
        try:
            return naive + min(offsets) - timedelta(hours=1)
        except OverflowError:
            return datetime.min

    def iter_after(self, after: datetime) -> Iterator[datetime]:
        """Fire times (aware UTC) strictly after ``after``, ascending, without end."""
        floor = _naive_utc(to_utc(after, "after"))
        pending: list[datetime] = []  # instants waiting until no earlier one can come
        last: datetime | None = None
        for wall in _wall_times(self.spec, self._scan_start(after)):
            resolved = self._resolve(wall)
            while pending and pending[0] < resolved.earliest:
                instant = heapq.heappop(pending)
                if instant > floor and (last is None or instant > last):
                    last = instant
                    yield instant.replace(tzinfo=UTC)
            for instant in resolved.instants:
                heapq.heappush(pending, instant)
        while pending:
            instant = heapq.heappop(pending)
            if instant > floor and (last is None or instant > last):
                last = instant
                yield instant.replace(tzinfo=UTC)

    def between(self, after: datetime, until: datetime | None, limit: int | None = None) -> list[datetime]:
        """Fire times in (after, until] (until None: no end), at most ``limit`` of them."""
        end = None if until is None else to_utc(until, "until")
        if end is None and limit is None:
            raise ValueError("either until or limit must bound the fire times")
        fires: list[datetime] = []
        if limit is not None and limit <= 0:
            return fires
        for fire in self.iter_after(after):
            if end is not None and fire > end:
                break
            fires.append(fire)
            if limit is not None and len(fires) >= limit:
                break
        return fires

    def next_after(self, after: datetime) -> datetime | None:
        """The first fire time strictly after ``after``."""
        return next(self.iter_after(after), None)

    def latest(self, after: datetime, until: datetime, count: int) -> list[datetime]:
        """The last ``count`` fire times in (after, until], ascending, without scanning all of them."""
        start, end = to_utc(after, "after"), to_utc(until, "until")
        if count <= 0 or end <= start:
            return []
        span = _MINUTE * count
        while True:
            try:
                low = max(start, end - span)
            except OverflowError:
                low = start
            fires = self.between(low, end)
            if len(fires) >= count or low == start:
                return fires[-count:]
            span *= 4

    def previous_before(self, before: datetime) -> datetime | None:
        """The last fire time strictly before ``before`` (None if none in ~9 years)."""
        end = to_utc(before, "before") - timedelta(microseconds=1)
        fires = self.latest(end - _MAX_FIRE_GAP, end, 1)
        return fires[0] if fires else None


def compile_schedule(expression: str, timezone_name: str = "UTC") -> Schedule:
    """Parse and bind an expression to a zone; raise ``ScheduleError`` naming the problem."""
    return Schedule(parse_cron(expression), _zone(timezone_name))


def fire_times(expr: str, tz: str, after: datetime, until: datetime | None, limit: int) -> list[datetime]:
    """Up to ``limit`` fire times (aware UTC) strictly after ``after`` and at or before ``until``.

    ``after`` and ``until`` must be timezone-aware; ``until=None`` means no end.
    Raises ``ScheduleError`` for a bad expression or zone. DST: see the module docstring.
    """
    return compile_schedule(expr, tz).between(after, until, limit)
