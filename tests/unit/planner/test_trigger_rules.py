"""Trigger rules: a truth table a reviewer can check against Airflow, and an exhaustive oracle.

`assess_trigger(rule, upstream phases)` answers start (READY), wait or skip. Every rule decides
from the *set* of phases its dependencies are in (how many dependencies share a phase, and in
which order they are listed, never matters), so the table below lists every set of at most two
phases; `test_every_combination_of_up_to_three_upstreams_matches_the_oracle` then checks every
ordered combination of one to three dependencies against an oracle written from the rules'
meaning, not from the code. docs/trigger-rules.md says the same for users.

Where Dagwright differs from Airflow on purpose (see docs/trigger-rules.md):

- No upstream_failed phase. A task that cannot run because something upstream failed is
  Skipped, like a task whose branch was not taken, so a rule further down cannot tell the two
  apart: NoneFailed and AllDone run after such a skip, and AnyFailed/AllFailed do not count it
  as a failure (Airflow counts upstream_failed as failed for none_failed, one_failed,
  all_failed). The failure itself still fails the run.
- Cancelled (the run was cancelled or timed out) counts as finished, neither succeeded nor
  failed - like Skipped. It only happens while the run stops, when nothing starts anyway.
- Retrying (waiting for the next attempt) is still open, like Running and Pending: the task may
  yet succeed (Airflow's up_for_retry is not done either).
- Not offered: one_success, one_done, none_failed_min_one_success, none_skipped, all_skipped,
  always. A task without dependencies starts whatever its rule (as in Airflow).
"""

from __future__ import annotations

import itertools

import pytest

from dagwright.api.models import FINISHED_TASK_PHASES, TaskPhase, TriggerRule
from dagwright.planner.triggers import Readiness, assess_trigger

from .sim import World, spec_of

START, WAIT, SKIP = Readiness.READY, Readiness.WAIT, Readiness.SKIP
VERDICTS = {"start": START, "wait": WAIT, "skip": SKIP}

# What each rule means as Airflow documents it (Airflow's name in brackets), in our words:
#
# AllSucceeded [all_success, the default]: run when every dependency succeeded. As soon as one
#   ends any other way the task can never run, so it is skipped at once (Airflow marks it
#   upstream_failed after a failure, skipped after a skip; Dagwright has one phase, Skipped).
# AllDone [all_done]: run once every dependency finished, whatever the outcome; never skipped.
# AnyFailed [one_failed]: run as soon as one dependency failed, without waiting for the others;
#   skipped once every dependency finished and none failed.
# AllFailed [all_failed]: run when every dependency failed; skipped as soon as one ends any
#   other way (succeeded, skipped, cancelled).
# NoneFailed [none_failed]: run once every dependency finished and none failed (skipped is fine:
#   the rule for joining after a branch); skipped as soon as one failed.
#
# One row per set of upstream phases (one dependency per phase listed); one column per rule.
# Read a row as: "a task whose dependencies are <phases> ... <verdict>".
TRUTH_TABLE = """
upstream phases        | AllSucceeded | AllDone | AnyFailed | AllFailed | NoneFailed
(no dependencies)      | start        | start   | start     | start     | start
Succeeded              | start        | start   | skip      | skip      | start
Failed                 | skip         | start   | start     | start     | skip
Skipped                | skip         | start   | skip      | skip      | start
Cancelled              | skip         | start   | skip      | skip      | start
Running                | wait         | wait    | wait      | wait      | wait
Pending                | wait         | wait    | wait      | wait      | wait
Retrying               | wait         | wait    | wait      | wait      | wait
Succeeded, Failed      | skip         | start   | start     | skip      | skip
Succeeded, Skipped     | skip         | start   | skip      | skip      | start
Succeeded, Cancelled   | skip         | start   | skip      | skip      | start
Succeeded, Running     | wait         | wait    | wait      | skip      | wait
Succeeded, Pending     | wait         | wait    | wait      | skip      | wait
Succeeded, Retrying    | wait         | wait    | wait      | skip      | wait
Failed, Skipped        | skip         | start   | start     | skip      | skip
Failed, Cancelled      | skip         | start   | start     | skip      | skip
Failed, Running        | skip         | wait    | start     | wait      | skip
Failed, Pending        | skip         | wait    | start     | wait      | skip
Failed, Retrying       | skip         | wait    | start     | wait      | skip
Skipped, Cancelled     | skip         | start   | skip      | skip      | start
Skipped, Running       | skip         | wait    | wait      | skip      | wait
Skipped, Pending       | skip         | wait    | wait      | skip      | wait
Skipped, Retrying      | skip         | wait    | wait      | skip      | wait
Cancelled, Running     | skip         | wait    | wait      | skip      | wait
Cancelled, Pending     | skip         | wait    | wait      | skip      | wait
Cancelled, Retrying    | skip         | wait    | wait      | skip      | wait
Running, Pending       | wait         | wait    | wait      | wait      | wait
Running, Retrying      | wait         | wait    | wait      | wait      | wait
Pending, Retrying      | wait         | wait    | wait      | wait      | wait
"""


def parse_table(text: str) -> tuple[list[TriggerRule], list[tuple[tuple[TaskPhase, ...], dict[TriggerRule, Readiness]]]]:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    header = [cell.strip() for cell in lines[0].split("|")]
    rules = [TriggerRule(name) for name in header[1:]]
    rows = []
    for line in lines[1:]:
        cells = [cell.strip() for cell in line.split("|")]
        phases = () if cells[0].startswith("(") else tuple(TaskPhase(p.strip()) for p in cells[0].split(","))
        rows.append((phases, {rule: VERDICTS[cell] for rule, cell in zip(rules, cells[1:], strict=True)}))
    return rules, rows


RULES, ROWS = parse_table(TRUTH_TABLE)


def upstream_of(phases: tuple[TaskPhase, ...]) -> dict[str, TaskPhase]:
    return {f"up{i}": phase for i, phase in enumerate(phases)}


def sentence(rule: TriggerRule, phases: tuple[TaskPhase, ...], verdict: Readiness) -> str:
    upstream = " and ".join(p.value for p in phases) if phases else "no dependencies"
    action = {START: "starts", WAIT: "waits", SKIP: "is skipped"}[verdict]
    return f"{rule.value} with {upstream} {action}"


CASES = [(rule, phases, verdicts[rule]) for phases, verdicts in ROWS for rule in RULES]


@pytest.mark.parametrize(
    "rule, phases, verdict", CASES, ids=[sentence(*case) for case in CASES]
)
def test_truth_table(rule, phases, verdict):
    got, reason = assess_trigger(rule, upstream_of(phases))
    assert got == verdict
    if got != WAIT:
        assert reason, "a start or skip says why (it becomes the task's message)"


def test_the_table_has_a_column_per_rule_and_every_set_of_at_most_two_phases():
    assert sorted(RULES) == sorted(TriggerRule)
    sets = [frozenset(phases) for phases, _ in ROWS]
    assert len(sets) == len(set(sets)), "a row is listed twice"
    every = {frozenset()} | {frozenset(c) for n in (1, 2) for c in itertools.combinations(TaskPhase, n)}
    assert set(sets) == every


# --------------------------------------------------------------------------- the oracle

OUTCOMES = (TaskPhase.SUCCEEDED, TaskPhase.FAILED, TaskPhase.SKIPPED, TaskPhase.CANCELLED)


def met_when_all_finished(rule: TriggerRule, final: tuple[TaskPhase, ...]) -> bool:
    """Whether `rule` holds over dependencies that have all finished in `final`."""
    if rule == TriggerRule.ALL_SUCCEEDED:
        return all(p == TaskPhase.SUCCEEDED for p in final)
    if rule == TriggerRule.ALL_DONE:
        return True
    if rule == TriggerRule.ANY_FAILED:
        return any(p == TaskPhase.FAILED for p in final)
    if rule == TriggerRule.ALL_FAILED:
        return all(p == TaskPhase.FAILED for p in final)
    assert rule == TriggerRule.NONE_FAILED
    return not any(p == TaskPhase.FAILED for p in final)


FIRES_EARLY = {TriggerRule.ANY_FAILED}  # Airflow's one_failed does not wait for the others


def oracle(rule: TriggerRule, phases: tuple[TaskPhase, ...]) -> Readiness:
    """The verdict from the rule's meaning, by trying every way the open dependencies may end.

    Skip when no ending meets the rule any more; start when every dependency finished and the
    rule is met, or (for a rule that fires early) when every ending meets it; wait otherwise.
    """
    if not phases:
        return START
    open_ = [i for i, p in enumerate(phases) if p not in FINISHED_TASK_PHASES]
    endings = []
    for outcome in itertools.product(OUTCOMES, repeat=len(open_)):
        final = list(phases)
        for i, phase in zip(open_, outcome, strict=True):
            final[i] = phase
        endings.append(met_when_all_finished(rule, tuple(final)))
    if not any(endings):
        return SKIP
    if all(endings) and (not open_ or rule in FIRES_EARLY):
        return START
    return WAIT


@pytest.mark.parametrize("count", [1, 2, 3], ids=lambda n: f"{n} upstream(s)")
@pytest.mark.parametrize("rule", list(TriggerRule), ids=lambda r: r.value)
def test_every_combination_of_up_to_three_upstreams_matches_the_oracle(rule, count):
    wrong = []
    for phases in itertools.product(TaskPhase, repeat=count):
        expected = oracle(rule, phases)
        got, _ = assess_trigger(rule, upstream_of(phases))
        if got != expected:
            wrong.append(f"{sentence(rule, phases, got)}, expected: {sentence(rule, phases, expected)}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("rule", list(TriggerRule), ids=lambda r: r.value)
def test_the_oracle_agrees_with_the_table(rule):
    """The table and the oracle were written separately; both describe the same rules."""
    for phases, verdicts in ROWS:
        assert oracle(rule, phases) == verdicts[rule], sentence(rule, phases, verdicts[rule])


@pytest.mark.parametrize("rule", list(TriggerRule), ids=lambda r: r.value)
def test_the_verdict_depends_only_on_the_set_of_upstream_phases(rule):
    seen: dict[frozenset[TaskPhase], Readiness] = {}
    for count in (1, 2, 3, 4):
        for phases in itertools.product(TaskPhase, repeat=count):
            got, _ = assess_trigger(rule, upstream_of(phases))
            assert seen.setdefault(frozenset(phases), got) == got, sentence(rule, phases, got)


def test_a_skip_names_the_dependencies_that_decided_it():
    verdict, reason = assess_trigger(
        TriggerRule.ALL_SUCCEEDED,
        {"load": TaskPhase.SUCCEEDED, "extract": TaskPhase.FAILED, "check": TaskPhase.SKIPPED},
    )
    assert verdict == SKIP
    assert reason == "upstream did not succeed: extract (Failed), check (Skipped)"


def test_a_skip_caused_by_a_failure_further_up_does_not_count_as_a_failure_downstream():
    """The deliberate difference from Airflow's upstream_failed, end to end: extract fails,
    load is Skipped, and the NoneFailed report after load runs (in Airflow it would not); the
    run still fails because extract did."""
    tasks = [
        {"name": "extract"},
        {"name": "load", "dependsOn": ["extract"]},
        {"name": "report", "dependsOn": ["load"], "triggerRule": "NoneFailed"},
        {"name": "alert", "dependsOn": ["load"], "triggerRule": "AnyFailed"},
    ]
    world = World(spec_of(tasks), outcomes={("extract", 0): "fail"})
    assert world.run_to_end().phase == "Failed"
    assert world.phases() == {"extract": "Failed", "load": "Skipped", "report": "Succeeded", "alert": "Skipped"}
