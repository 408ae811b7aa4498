"""Deterministic scheduled run names (dagwright.schedule.names)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dagwright.schedule.names import scheduled_run_name

SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
FIRE = datetime(2026, 11, 24, 2, tzinfo=UTC)


@pytest.mark.parametrize(
    ("workflow", "fire", "expected"),
    [
        pytest.param(
            "lakehouse-daily",
            FIRE,
            "lakehouse-daily-20261124t020000z",
            id="a short name gets the UTC fire time appended",
        ),
        pytest.param(
            "lakehouse-daily",
            datetime(2026, 11, 24, 3, tzinfo=timezone(timedelta(hours=1))),
            "lakehouse-daily-20261124t020000z",
            id="a fire time in another zone is named in UTC",
        ),
        pytest.param("a" * 46, FIRE, "a" * 46 + "-20261124t020000z", id="a 46-character name fits exactly in 63"),
        pytest.param("etl.v2", FIRE, "etl.v2-20261124t020000z", id="dots of a subdomain name are kept"),
    ],
)
def test_run_names(workflow: str, fire: datetime, expected: str) -> None:
    assert scheduled_run_name(workflow, fire) == expected


def test_a_long_name_is_truncated_and_hashed_to_63_characters() -> None:
    name = scheduled_run_name("a" * 47, FIRE)
    assert len(name) == 63 and name.endswith("-20261124t020000z") and name.startswith("a" * 37 + "-")


def test_long_names_sharing_a_prefix_get_different_run_names() -> None:
    prefix = "nightly-warehouse-refresh-for-the-finance-department"
    assert scheduled_run_name(prefix + "-emea", FIRE) != scheduled_run_name(prefix + "-apac", FIRE)


def test_truncation_never_leaves_a_dash_or_dot_before_the_hash() -> None:
    name = scheduled_run_name("x" * 36 + "." + "y" * 30, FIRE)
    assert name.startswith("x" * 36 + "-")
    assert SUBDOMAIN.fullmatch(name) and len(name) <= 63


@pytest.mark.parametrize(
    ("workflow", "fire", "problem"),
    [
        pytest.param("Lakehouse", FIRE, "not a valid DNS-1123", id="an upper-case workflow name is refused"),
        pytest.param("-x", FIRE, "not a valid DNS-1123", id="a name starting with a dash is refused"),
        pytest.param("lakehouse", datetime(2026, 11, 24, 2), "timezone-aware", id="a naive fire time is refused"),
    ],
)
def test_bad_input_is_refused(workflow: str, fire: datetime, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        scheduled_run_name(workflow, fire)


_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"
_label = st.tuples(st.sampled_from(_ALNUM), st.text(alphabet=_ALNUM + "-", max_size=24), st.sampled_from(_ALNUM)).map(
    lambda parts: (parts[0] + parts[1] + parts[2]) if parts[1] else parts[0]
)
workflow_names = st.lists(_label, min_size=1, max_size=6).map(".".join)
fire_times = st.datetimes(datetime(2000, 1, 1), datetime(2200, 1, 1)).map(
    lambda d: d.replace(microsecond=0, tzinfo=UTC)
)


@settings(max_examples=100, deadline=None)
@given(workflow=workflow_names, fire=fire_times)
def test_names_are_valid_short_and_deterministic(workflow: str, fire: datetime) -> None:
    name = scheduled_run_name(workflow, fire)
    assert len(name) <= 63 and SUBDOMAIN.fullmatch(name)
    assert name == scheduled_run_name(workflow, fire)


@settings(max_examples=100, deadline=None)
@given(workflow=workflow_names, fire=fire_times, seconds=st.integers(1, 10**9), tail=_label)
def test_another_fire_or_another_workflow_gives_another_name(
    workflow: str, fire: datetime, seconds: int, tail: str
) -> None:
    name = scheduled_run_name(workflow, fire)
    assert scheduled_run_name(workflow, fire + timedelta(seconds=seconds)) != name
    assert scheduled_run_name(f"{workflow}-{tail}", fire) != name
