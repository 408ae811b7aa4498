"""Run-history garbage collection (dagwright.schedule.history)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dagwright.schedule.history import FinishedRun, plan_history_cleanup

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def run(name: str, phase: str, hour: int | None) -> FinishedRun:
    return FinishedRun(name, phase, None if hour is None else T0 + timedelta(hours=hour))


MIXED = [
    run("s1", "Succeeded", 1),
    run("f1", "Failed", 2),
    run("s2", "Succeeded", 3),
    run("c1", "Cancelled", 4),
    run("s3", "Succeeded", 5),
    run("f2", "Failed", 6),
    run("r1", "Running", None),
    run("p1", "Pending", None),
]


@pytest.mark.parametrize(
    ("runs", "successful", "failed", "expected"),
    [
        pytest.param([], 5, 5, [], id="no runs means nothing to delete"),
        pytest.param(MIXED, 5, 5, [], id="runs within both limits are kept"),
        pytest.param(MIXED, 1, 5, ["s1", "s2"], id="the oldest successful runs beyond the limit are deleted"),
        pytest.param(MIXED, 5, 1, ["f1", "c1"], id="cancelled runs count toward the failed limit"),
        pytest.param(
            MIXED,
            0,
            0,
            ["s1", "f1", "s2", "c1", "s3", "f2"],
            id="limits of zero delete every finished run, oldest first",
        ),
        pytest.param(MIXED, None, 0, ["f1", "c1", "f2"], id="a limit of None keeps every run of that kind"),
        pytest.param(
            [run("r1", "Running", None), run("p1", "Pending", None)], 0, 0, [], id="unfinished runs are never deleted"
        ),
        pytest.param(
            [run("b", "Succeeded", 1), run("a", "Succeeded", 1), run("c", "Succeeded", 2)],
            1,
            1,
            ["a", "b"],
            id="ties in finish time are broken by name",
        ),
        pytest.param(
            [run("new", "Succeeded", 9), run("unknown", "Succeeded", None)],
            1,
            1,
            ["unknown"],
            id="a finished run without a finish time counts as the oldest",
        ),
        pytest.param(
            [("t1", "Succeeded", T0), ("t2", "Succeeded", T0 + timedelta(hours=1))],
            1,
            1,
            ["t1"],
            id="plain tuples are accepted",
        ),
    ],
)
def test_history_cleanup(
    runs: list[FinishedRun], successful: int | None, failed: int | None, expected: list[str]
) -> None:
    assert plan_history_cleanup(runs, successful, failed) == expected


def test_negative_limits_are_refused() -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        plan_history_cleanup([], -1, 5)
