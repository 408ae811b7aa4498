"""Property tests of `plan_run` over random DAGs, outcomes and retry policies."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dagwright.api.models import FINISHED_TASK_PHASES, TaskPhase
from dagwright.planner.triggers import Readiness, assess_trigger

from .sim import World, spec_of

RULES = ["AllSucceeded", "AllDone", "AnyFailed", "AllFailed", "NoneFailed"]


@st.composite
def random_runs(draw):
    size = draw(st.integers(1, 12))
    tasks = []
    for i in range(size):
        deps = draw(st.sets(st.integers(0, i - 1), max_size=3)) if i else set()
        task = {"name": f"t{i}", "dependsOn": [f"t{d}" for d in sorted(deps)],
                "triggerRule": draw(st.sampled_from(RULES))}
        if draw(st.booleans()):
            task["retries"] = {"limit": draw(st.integers(0, 2)), "backoffSeconds": draw(st.sampled_from([0, 1, 3]))}
        tasks.append(task)
    outcomes = {}
    for i in range(size):
        for attempt in (1, 2, 3):
            outcomes[(f"t{i}", attempt)] = draw(st.sampled_from(["ok", "ok", "fail"]))
    parallel = draw(st.one_of(st.none(), st.integers(1, 4)))
    extra = {"maxParallelTasks": parallel} if parallel else {}
    return World(spec_of(tasks, **extra), outcomes=outcomes)


@settings(max_examples=150, deadline=None)
@given(random_runs())
def test_every_run_terminates_with_every_task_finished(world):
    status = world.run_to_end(max_steps=300)
    assert status.phase in ("Succeeded", "Failed")
    assert all(t.phase in FINISHED_TASK_PHASES for t in status.tasks.values())
    assert (status.phase == "Failed") == any(t.phase == "Failed" for t in status.tasks.values())


@settings(max_examples=150, deadline=None)
@given(random_runs())
def test_no_task_starts_before_its_trigger_rule_is_met_and_attempts_never_repeat(world):
    by_name = {t.name: t for t in world.spec.tasks}
    for _ in range(300):
        plan = world.step()
        for job in plan.create:
            if job.attempt == 1:
                task = by_name[job.task]
                upstream = {d: TaskPhase(plan.status.tasks[d].phase) for d in task.depends_on or []}
                assert assess_trigger(task.trigger_rule, upstream)[0] == Readiness.READY
        if plan.status.phase in ("Succeeded", "Failed"):
            break
        world.tick()
    assert len(world.created) == len(set(world.created))
    for jobs in world.jobs.values():
        attempts = sorted(j.attempt for j in jobs)
        assert attempts == list(range(1, len(attempts) + 1))
    limit = world.spec.max_parallel_tasks
    if limit:
        assert world.max_running_seen <= limit


@settings(max_examples=100, deadline=None)
@given(random_runs())
def test_replaying_a_pass_after_its_jobs_exist_creates_nothing_new(world):
    """The crash-safety property: re-planning once the plan's Jobs exist is a no-op for creates."""
    for _ in range(50):
        plan = world.step()
        again = world.step()  # same world, the Jobs from `plan` now observed
        assert again.create == []
        if plan.status.phase in ("Succeeded", "Failed"):
            break
        world.tick()
