"""Table tests of what a pod that has not started does to its attempt (planner/podwait.py, plan_run)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from dagwright.planner.podwait import FATAL_WAIT_REASONS, judge_wait
from dagwright.planner.snapshot import PodWaiting

from .sim import T0, World, spec_of

NEVER_PULL = 'Container image "localhost/nope:1" is not present with pull policy of Never'


@pytest.mark.parametrize(
    ("reason", "message", "waited", "failure", "recheck"),
    [
        # cannot resolve: fail at once with the kubelet's words
        ("ErrImageNeverPull", NEVER_PULL, 0, f"ErrImageNeverPull: {NEVER_PULL}", None),
        ("InvalidImageName", 'Failed to apply default image tag "Bad:Name"', 1,
         'InvalidImageName: Failed to apply default image tag "Bad:Name"', None),
        ("CreateContainerConfigError", 'secret "db" not found', 2, 'CreateContainerConfigError: secret "db" not found', None),
        # may resolve: wait out the grace period, then fail naming the reason
        ("ContainerCreating", "", 30, None, 150),
        ("ImagePullBackOff", 'Back-off pulling image "x"', 179, None, 1),
        ("ImagePullBackOff", 'Back-off pulling image "x"', 180,
         'not started after 180s: ImagePullBackOff: Back-off pulling image "x"', None),
        ("Unschedulable", "0/4 nodes are available", 400, "not started after 180s: Unschedulable: 0/4 nodes are available", None),
        ("ContainerCreating", "", 181, "not started after 180s: ContainerCreating", None),
    ],
)
def test_a_pod_that_has_not_started(reason, message, waited, failure, recheck):
    verdict = judge_wait(PodWaiting(reason, message, T0), T0 + timedelta(seconds=waited), 180)
    assert verdict.failure == failure
    assert verdict.recheck_after == recheck


def test_the_fatal_reasons_are_the_ones_no_wait_cures():
    assert {"ErrImageNeverPull", "InvalidImageName", "CreateContainerConfigError"} == FATAL_WAIT_REASONS
    assert "ErrImagePull" not in FATAL_WAIT_REASONS and "ContainerCreating" not in FATAL_WAIT_REASONS


def _waiting_world(reason: str, message: str = "", retries: dict | None = None) -> World:
    task = {"name": "a", **({"retries": retries} if retries else {})}
    world = World(spec_of([task, {"name": "b", "dependsOn": ["a"]}]), outcomes={("a", 0): "hang"})
    world.step()
    job = world.jobs["a"][0]
    world.jobs["a"] = [replace(job, waiting=PodWaiting(reason, message, world.now))]
    return world


def test_an_image_that_can_never_be_pulled_fails_the_attempt_at_once_and_stops_its_job():
    world = _waiting_world("ErrImageNeverPull", NEVER_PULL)
    plan = world.step()
    job = world.status.tasks["a"].job
    assert plan.fail == [(job, f"ErrImageNeverPull: {NEVER_PULL}")]
    assert plan.status.tasks["a"].phase == "Failed"
    assert plan.status.tasks["a"].message == f"attempt 1 failed: ErrImageNeverPull: {NEVER_PULL}"
    assert plan.status.tasks["b"].phase == "Skipped"
    assert plan.status.phase == "Failed"


def test_a_fatal_wait_with_retries_left_starts_the_next_attempt():
    world = _waiting_world("CreateContainerConfigError", 'secret "db" not found', retries={"limit": 1, "backoffSeconds": 0})
    plan = world.step()
    assert [(j.task, j.attempt) for j in plan.create] == [("a", 2)]
    assert plan.status.tasks["a"].message == 'attempt 1 failed: CreateContainerConfigError: secret "db" not found'


def test_a_slow_pull_is_given_the_grace_period_then_fails():
    world = _waiting_world("ImagePullBackOff", 'Back-off pulling image "x"')
    plan = world.step()
    assert plan.fail == []
    assert plan.status.tasks["a"].phase == "Running"
    assert plan.requeue_after == pytest.approx(180)
    world.tick(100)
    assert world.step().fail == []
    world.tick(80)
    plan = world.step()
    assert [why for _job, why in plan.fail] == ['not started after 180s: ImagePullBackOff: Back-off pulling image "x"']
    assert plan.status.tasks["a"].phase == "Failed"


def test_the_grace_period_is_the_operators_setting():
    world = _waiting_world("ContainerCreating")
    snapshot = replace(world.snapshot(), start_grace_seconds=20, now=world.now + timedelta(seconds=21))
    from dagwright.planner.run import plan_run

    plan = plan_run(snapshot)
    assert [why for _job, why in plan.fail] == ["not started after 20s: ContainerCreating"]
