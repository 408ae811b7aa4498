"""Disruptions (eviction, preemption) do not use `retries.limit`; final exit codes fail at once."""

from __future__ import annotations

import pytest

from dagwright.api.models import RetryPolicy
from dagwright.planner.retry import RetryVerdict, judge_failure
from dagwright.planner.run import plan_run
from dagwright.planner.snapshot import FailureKind

from .sim import World, spec_of

EXIT, DISRUPTED, JOB = FailureKind.EXIT, FailureKind.DISRUPTED, FailureKind.JOB
NOW, LATER, FAIL = RetryVerdict.RETRY_NOW, RetryVerdict.RETRY_AFTER_BACKOFF, RetryVerdict.FAIL


@pytest.mark.parametrize(
    ("policy", "attempt", "disruptions_before", "kind", "exit_code", "expected"),
    [
        pytest.param({}, 1, 0, DISRUPTED, None, (NOW, True, 0), id="a-disruption-without-retries-is-retried-now"),
        pytest.param({}, 3, 2, DISRUPTED, None, (NOW, True, 0), id="the-third-disruption-is-still-free"),
        pytest.param({}, 4, 3, DISRUPTED, None, (FAIL, False, 1),
                     id="a-fourth-disruption-counts-as-a-failure-and-no-retries-remain"),
        pytest.param({"limit": 1}, 4, 3, DISRUPTED, None, (LATER, False, 1),
                     id="beyond-the-allowance-a-disruption-uses-a-retry"),
        pytest.param({"onDisruption": 0}, 1, 0, DISRUPTED, None, (FAIL, False, 1),
                     id="on-disruption-zero-makes-it-an-ordinary-failure"),
        pytest.param({"limit": 1}, 2, 1, EXIT, 1, (LATER, False, 1),
                     id="an-earlier-disruption-does-not-use-up-the-retry"),
        pytest.param({"limit": 1}, 2, 0, EXIT, 1, (FAIL, False, 2), id="two-ordinary-failures-use-up-limit-one"),
        pytest.param({"limit": 5, "noRetryOnExitCodes": [3]}, 1, 0, EXIT, 3, (FAIL, False, 1),
                     id="a-final-exit-code-fails-at-once-with-retries-left"),
        pytest.param({"limit": 5, "noRetryOnExitCodes": [3]}, 1, 0, EXIT, 4, (LATER, False, 1),
                     id="another-exit-code-is-retried"),
        pytest.param({"limit": 5, "noRetryOnExitCodes": [3]}, 1, 0, JOB, None, (LATER, False, 1),
                     id="a-failure-without-exit-code-is-never-final"),
    ],
)
def test_judge_failure(policy, attempt, disruptions_before, kind, exit_code, expected):
    judged = judge_failure(RetryPolicy.model_validate(policy), attempt, disruptions_before, kind, exit_code)
    assert (judged.verdict, judged.disruption, judged.charged) == expected


def test_an_evicted_task_without_retries_runs_again_at_once_and_succeeds():
    world = World(spec_of([{"name": "a"}]), outcomes={("a", 1): "disrupt"})
    world.step()
    world.tick(1)
    plan = world.step()
    assert [(j.task, j.attempt) for j in plan.create] == [("a", 2)]
    assert {(t.reason, t.type) for t in plan.transitions} == {("TaskDisrupted", "Warning"), ("TaskStarted", "Normal")}
    assert plan.status.tasks["a"].message == ("attempt 1 failed: disrupted: EvictionByEvictionAPI "
                                              "(disruption 1 of 3, not counted against retries)")
    assert world.run_to_end().phase == "Succeeded"
    assert (world.status.tasks["a"].attempts, world.status.tasks["a"].disruptions) == (2, 1)


def test_disruptions_beyond_the_allowance_use_the_retry_limit():
    retries = {"limit": 1, "backoffSeconds": 0, "onDisruption": 2}
    world = World(spec_of([{"name": "a", "retries": retries}]), outcomes={("a", 0): "disrupt"})
    assert world.run_to_end().phase == "Failed"
    a = world.status.tasks["a"]
    assert (a.attempts, a.disruptions) == (4, 2)  # two free, then the first attempt and its one retry
    assert a.message == "attempt 4 failed: disrupted: EvictionByEvictionAPI"


def test_a_disruption_does_not_shorten_the_backoff_of_later_failures():
    retries = {"limit": 2, "backoffSeconds": 10, "backoffFactor": 3}
    world = World(spec_of([{"name": "a", "retries": retries}]),
                  outcomes={("a", 1): "disrupt", ("a", 2): "fail"})
    world.step()
    world.tick(1)
    world.step()  # attempt 2 at once
    world.tick(1)
    plan = world.step()
    assert plan.requeue_after == pytest.approx(10)  # the first charged failure waits backoffSeconds


def test_a_final_exit_code_fails_the_task_with_retries_left():
    retries = {"limit": 3, "backoffSeconds": 0, "noRetryOnExitCodes": [2, 3]}
    world = World(spec_of([{"name": "a", "retries": retries}]), outcomes={("a", 0): "exit:3"})
    assert world.run_to_end().phase == "Failed"
    assert world.created == [("a", 1)]
    assert world.status.tasks["a"].message == "attempt 1 failed: exit code 3 (final: exit code listed in noRetryOnExitCodes)"


def test_replanning_after_a_disruption_counts_it_once():
    world = World(spec_of([{"name": "a"}]), outcomes={("a", 1): "disrupt"})
    world.step()
    world.tick(1)
    snapshot = world.snapshot()
    first, again = plan_run(snapshot), plan_run(snapshot)
    assert first == again
    assert first.status.tasks["a"].disruptions == 1
    world.step()
    world.tick(0.1)
    assert world.step().status.tasks["a"].disruptions == 1  # attempt 2 running: still one


def test_a_task_never_disrupted_keeps_its_status_entry_short():
    world = World(spec_of([{"name": "a", "retries": {"limit": 1, "backoffSeconds": 0}}]), outcomes={("a", 1): "fail"})
    assert world.run_to_end().phase == "Succeeded"
    assert "disruptions" not in world.status.tasks["a"].to_wire()


@pytest.mark.parametrize("codes", [[0], [256], [-1]], ids=["success-is-no-failure", "above-255", "negative"])
def test_final_exit_codes_are_failure_exit_codes(codes):
    with pytest.raises(ValueError, match="noRetryOnExitCodes"):
        RetryPolicy.model_validate({"noRetryOnExitCodes": codes})
