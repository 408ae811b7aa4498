"""`assess_admission`: maxActiveRuns lets runs of one workflow start in line, never more at once."""

from __future__ import annotations

import pytest

from dagwright.planner.admission import RunInLine, assess_admission


def run(name: str, day: int, started: bool = False, finished: bool = False) -> RunInLine:
    return RunInLine(name=name, order=f"2026-12-{day:02d}T00:00:00Z", started=started, finished=finished)


ME = run("nightly-05", 5)


@pytest.mark.parametrize("limit, siblings, admitted", [
    (None, [run("a", 1, started=True), run("b", 2, started=True)], True),
    (1, [], True),
    (1, [run("old", 1, started=True)], False),
    (1, [run("old", 1, started=True, finished=True)], True),
    (1, [run("earlier", 4)], False),
    (1, [run("later", 6)], True),
    (1, [run("later-but-started", 9, started=True)], False),
    (2, [run("earlier", 4), run("later", 6)], True),
    (2, [run("earlier", 3), run("also-earlier", 4)], False),
    (2, [run("done", 1, finished=True), run("running", 2, started=True)], True),
], ids=[
    "no limit admits whatever runs",
    "the only run is admitted",
    "one started run fills a limit of one",
    "a finished run frees its slot",
    "an earlier waiting run goes first",
    "a later waiting run waits behind",
    "a started run holds its slot even if its date is later",
    "two slots: one earlier run leaves room",
    "two slots: two earlier runs fill them",
    "two slots: finished runs do not count",
])
def test_admission(limit, siblings, admitted):
    assert assess_admission(ME, [ME, *siblings], limit) is admitted


def test_a_started_run_stays_admitted_whatever_the_limit_says_now():
    me = run("nightly-05", 5, started=True)
    assert assess_admission(me, [run("a", 1, started=True), run("b", 2, started=True)], 1)


def test_runs_of_the_same_date_go_in_name_order():
    first, second = run("nightly-a", 5), run("nightly-b", 5)
    assert assess_admission(first, [first, second], 1)
    assert not assess_admission(second, [first, second], 1)
