"""Table tests of pool admission: who gets the free slots of a shared pool, and what waiters say."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from dagwright.api.models import WorkflowRunStatus
from dagwright.planner.pools import PoolClaim, PoolView, admit, admit_own, waiting_message
from dagwright.planner.run import plan_run
from dagwright.planner.snapshot import JobState, ObservedJob, RunSnapshot

from .sim import spec_of

NOW = datetime(2026, 1, 1, tzinfo=UTC)
OLD, NEW = "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"


def claim(run_order: str, priority: int, run: str, task: str) -> PoolClaim:
    return PoolClaim(run_order, priority, run, task)


@pytest.mark.parametrize(
    ("claims", "free", "admitted"),
    [
        # oldest run first, whatever the priority
        ([claim(NEW, 10, "b", "x"), claim(OLD, 0, "a", "y")], 1, ["a/y"]),
        # same age: higher priority first
        ([claim(OLD, 0, "a", "x"), claim(OLD, 5, "a", "y")], 1, ["a/y"]),
        # same age and priority: by run name, then task name
        ([claim(OLD, 0, "b", "a"), claim(OLD, 0, "a", "z"), claim(OLD, 0, "a", "b")], 2, ["a/b", "a/z"]),
        # no free slot: nobody
        ([claim(OLD, 0, "a", "x")], 0, []),
        # more slots than claims: everybody
        ([claim(OLD, 0, "a", "x"), claim(NEW, 0, "b", "x")], 5, ["a/x", "b/x"]),
    ],
)
def test_admission_order_is_oldest_run_then_priority_then_name(claims, free, admitted):
    assert [f"{c.run}/{c.task}" for c in admit(claims, free)] == admitted


def test_an_older_runs_waiting_claim_holds_the_slot_back_from_a_younger_run():
    older = claim(OLD, 0, "old", "t")
    mine = [claim(NEW, 100, "new", "a")]
    assert admit_own(mine, PoolView(size=2, in_use=1, others_waiting=(older,))) == []
    assert admit_own(mine, PoolView(size=2, in_use=0, others_waiting=(older,))) == mine


def test_a_younger_runs_claim_does_not_hold_back_an_older_run():
    younger = claim(NEW, 100, "new", "t")
    mine = [claim(OLD, 0, "old", "a")]
    assert admit_own(mine, PoolView(size=1, in_use=0, others_waiting=(younger,))) == mine


def test_a_missing_pool_admits_nobody_and_says_so():
    view = PoolView(size=None, in_use=0)
    assert admit_own([claim(OLD, 0, "a", "x")], view) == []
    assert waiting_message("warehouse", view) == "Waiting: pool warehouse does not exist"
    assert waiting_message("warehouse", PoolView(size=2, in_use=2)) == "Waiting: pool warehouse 2/2 in use"


# --------------------------------------------------------------------------- through plan_run

FOUR = [{"name": f"t{i}", "pool": "warehouse", "container": {"image": "busybox"}} for i in range(4)]


def snapshot(pools: dict[str, PoolView], tasks: list[dict] = FOUR, **extra) -> RunSnapshot:
    return RunSnapshot(run_name="r", spec=spec_of(tasks), status=WorkflowRunStatus(), jobs={}, now=NOW,
                       pools=pools, run_order=OLD, **extra)


def test_a_run_starts_only_as_many_pool_tasks_as_the_pool_has_free_slots():
    plan = plan_run(snapshot({"warehouse": PoolView(size=2, in_use=1)}))
    assert [j.task for j in plan.create] == ["t0"]
    waiting = {n: t.message for n, t in plan.status.tasks.items() if t.phase == "Pending"}
    assert waiting == {f"t{i}": "Waiting: pool warehouse 1/2 in use" for i in (1, 2, 3)}
    assert [c.task for c in plan.pool_waiting["warehouse"]] == ["t1", "t2", "t3"]


def test_higher_priority_tasks_of_a_run_take_the_slots_first():
    tasks = [dict(t, priority=i) for i, t in enumerate(FOUR)]
    plan = plan_run(snapshot({"warehouse": PoolView(size=2, in_use=0)}, tasks))
    assert sorted(j.task for j in plan.create) == ["t2", "t3"]


def test_tasks_without_a_pool_are_not_limited_by_it():
    tasks = [*FOUR, {"name": "free", "container": {"image": "busybox"}}]
    plan = plan_run(snapshot({"warehouse": PoolView(size=0, in_use=0)}, tasks))
    assert [j.task for j in plan.create] == ["free"]


def test_a_missing_pool_makes_the_task_wait_with_one_warning():
    first = plan_run(snapshot({}, FOUR[:1]))
    assert first.create == []
    assert first.status.tasks["t0"].message == "Waiting: pool warehouse does not exist"
    assert [(t.reason, t.type.value) for t in first.transitions if t.reason == "PoolMissing"] == [
        ("PoolMissing", "Warning")]
    again = plan_run(replace(snapshot({}, FOUR[:1]), status=first.status))
    assert [t for t in again.transitions if t.reason == "PoolMissing"] == []
    created = plan_run(replace(snapshot({"warehouse": PoolView(size=1, in_use=0)}, FOUR[:1]), status=first.status))
    assert [j.task for j in created.create] == ["t0"]


def test_pool_claims_count_against_max_parallel_tasks():
    tasks = [*FOUR[:2], {"name": "free", "container": {"image": "busybox"}}]
    plan = plan_run(snapshot({"warehouse": PoolView(size=0, in_use=0)}, tasks))
    assert [j.task for j in plan.create] == ["free"]
    plan = plan_run(RunSnapshot(run_name="r", spec=spec_of(tasks, maxParallelTasks=2), status=WorkflowRunStatus(),
                                jobs={}, now=NOW, pools={"warehouse": PoolView(size=5, in_use=0)}, run_order=OLD))
    assert sorted(j.task for j in plan.create) == ["t0", "t1"]


def test_a_running_pool_task_is_followed_not_restarted():
    first = plan_run(snapshot({"warehouse": PoolView(size=1, in_use=0)}, FOUR[:1]))
    job = ObservedJob(first.create[0].name, "t0", 1, JobState.ACTIVE, NOW, pool="warehouse")
    later = plan_run(replace(snapshot({"warehouse": PoolView(size=1, in_use=1)}, FOUR[:1]),
                             status=first.status, jobs={"t0": [job]}))
    assert later.create == [] and later.status.tasks["t0"].phase == "Running"
