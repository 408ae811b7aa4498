"""Job names: deterministic, injective over (run, task, attempt), valid DNS labels of ≤ 63 characters."""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dagwright.api.names import MAX_NAME, job_name

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")

# Pairs whose `<run>-<task>` joins are equal: the old names collided.
TRICKY_PAIRS = [
    ("etl", "daily-load"), ("etl-daily", "load"), ("etl-daily-load", "x"),
    ("a-b", "c"), ("a", "b-c"), ("a-b-c", "d"), ("a", "b-c-d"),
    ("r" * 70, "t"), ("r" * 70, "u"), ("r" * 69, "rt"),  # long runs: identical truncated prefixes
    ("r" * 40, "b" * 40), ("r" * 41, "b" * 39),
    ("etl.v2", "load"), ("etl-v2", "load"),  # a dot becomes '-' in the readable part only
    ("run", "t" * 63), ("run-" + "t" * 59, "t" * 4),
]


def _valid(name: str) -> bool:
    return len(name) <= MAX_NAME and bool(DNS_LABEL.match(name))


def test_runs_whose_names_joined_with_dashes_collide_get_distinct_job_names():
    assert job_name("etl", "daily-load", 1) != job_name("etl-daily", "load", 1)


def test_tricky_pairs_and_attempts_never_share_a_job_name():
    names = [job_name(run, task, attempt) for (run, task), attempt in itertools.product(TRICKY_PAIRS, (1, 2, 10, 11))]
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("run, task", TRICKY_PAIRS, ids=[f"{r[:12]}+{t[:12]}" for r, t in TRICKY_PAIRS])
@pytest.mark.parametrize("attempt", [1, 9, 10, 100, 12345])
def test_job_names_are_dns_labels_of_at_most_63_characters(run, task, attempt):
    assert _valid(job_name(run, task, attempt)), job_name(run, task, attempt)


def test_a_job_name_is_readable_and_ends_with_the_attempt():
    name = job_name("daily-20261124t020000z", "load", 2)
    assert name.startswith("daily-20261124t020000z-load-")
    assert name.endswith("-2")


def test_a_job_name_is_the_same_on_every_call():
    assert job_name("etl", "load", 3) == job_name("etl", "load", 3)


RUN_NAMES = st.from_regex(r"[a-z0-9]([-a-z0-9.]{0,80}[a-z0-9])?", fullmatch=True)
TASK_NAMES = st.from_regex(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", fullmatch=True)


@given(st.tuples(RUN_NAMES, TASK_NAMES, st.integers(1, 1000)), st.tuples(RUN_NAMES, TASK_NAMES, st.integers(1, 1000)))
def test_different_triples_give_different_valid_names(one, other):
    assert _valid(job_name(*one))
    if one != other:
        assert job_name(*one) != job_name(*other)
