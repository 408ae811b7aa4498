"""Hypothesis strategies shared by the schedule property tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

#: Zones with and without DST, northern and southern, whole- and half-hour shifts.
ZONES = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "America/Santiago",
]

#: 2026 DST transitions (UTC) of the zones above, where the interesting things happen.
TRANSITIONS = [
    datetime(2026, 3, 29, 1, tzinfo=UTC),  # Berlin spring
    datetime(2026, 10, 25, 1, tzinfo=UTC),  # Berlin autumn
    datetime(2026, 3, 8, 7, tzinfo=UTC),  # New York spring
    datetime(2026, 11, 1, 6, tzinfo=UTC),  # New York autumn
    datetime(2026, 4, 4, 16, tzinfo=UTC),  # Sydney autumn
    datetime(2026, 10, 3, 16, tzinfo=UTC),  # Sydney spring
    datetime(2026, 4, 4, 15, tzinfo=UTC),  # Lord Howe autumn (30 min)
    datetime(2026, 10, 3, 15, 30, tzinfo=UTC),  # Lord Howe spring (30 min)
    datetime(2026, 4, 5, 3, tzinfo=UTC),  # Santiago autumn (at local midnight)
    datetime(2026, 9, 6, 4, tzinfo=UTC),  # Santiago spring (at local midnight)
]


def _numbers(low: int, high: int, favour: list[int] | None = None) -> st.SearchStrategy[int]:
    plain = st.integers(low, high)
    return st.one_of(st.sampled_from(favour), plain) if favour else plain


def _field(low: int, high: int, favour: list[int] | None = None, star_weight: int = 1) -> st.SearchStrategy[str]:
    number = _numbers(low, high, favour)
    step = st.sampled_from([2, 3, 5, 10, 15, 20, 30]).filter(lambda k: k <= high - low)
    pair = st.tuples(number, number).filter(lambda ab: ab[0] != ab[1]).map(sorted)  # croniter reads "a-a" as "*"
    options = [st.just("*")] * star_weight + [
        step.map(lambda k: f"*/{k}"),
        number.map(str),
        st.lists(number, min_size=2, max_size=3, unique=True).map(lambda xs: ",".join(map(str, xs))),
        pair.map(lambda ab: f"{ab[0]}-{ab[1]}"),
        st.tuples(pair, step).map(lambda p: f"{p[0][0]}-{p[0][1]}/{p[1]}"),
    ]
    return st.one_of(*options)


cron_expressions: st.SearchStrategy[str] = st.tuples(
    _field(0, 59, favour=[0, 15, 30, 45]),
    _field(0, 23, favour=[0, 1, 2, 3]),
    _field(1, 31, star_weight=6),
    _field(1, 12, star_weight=6),
    _field(0, 6, star_weight=4),
).map(" ".join)

zones = st.sampled_from(ZONES)

instants_2026: st.SearchStrategy[datetime] = st.one_of(
    st.tuples(st.sampled_from(TRANSITIONS), st.integers(-36 * 60, 12 * 60)).map(
        lambda tm: tm[0] + timedelta(minutes=tm[1])
    ),
    st.datetimes(datetime(2026, 1, 1), datetime(2026, 12, 31)).map(lambda d: d.replace(tzinfo=UTC)),
)
