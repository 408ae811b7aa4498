"""Table tests of `plan_run` driven through the pure simulator: the DAG behaviours users rely on."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest

from dagwright.api.models import TaskStatus, WorkflowRunStatus
from dagwright.planner.run import is_routine, plan_run, routine_transitions
from dagwright.planner.snapshot import JobState, ObservedJob, RunSnapshot

from .sim import T0, World, spec_of

CHAIN = [{"name": "a"}, {"name": "b", "dependsOn": ["a"]}, {"name": "c", "dependsOn": ["b"]}]
DIAMOND = [
    {"name": "a"},
    {"name": "b", "dependsOn": ["a"]},
    {"name": "c", "dependsOn": ["a"]},
    {"name": "d", "dependsOn": ["b", "c"]},
]


def test_a_chain_runs_each_task_after_its_dependency():
    world = World(spec_of(CHAIN))
    assert world.run_to_end().phase == "Succeeded"
    assert world.created == [("a", 1), ("b", 1), ("c", 1)]
    assert world.status.progress == "3/3"


def test_the_first_pass_starts_every_task_without_dependencies_and_marks_the_run_running():
    world = World(spec_of(DIAMOND))
    plan = world.step()
    assert [j.task for j in plan.create] == ["a"]
    assert plan.status.phase == "Running"
    assert plan.status.tasks["b"].phase == "Pending"
    assert [t.reason for t in plan.transitions] == ["TaskStarted", "RunStarted"] or [
        t.reason for t in plan.transitions
    ] == ["RunStarted", "TaskStarted"]


def test_a_diamond_starts_both_branches_together_and_joins_after_both():
    world = World(spec_of(DIAMOND))
    world.step()
    world.tick()
    plan = world.step()
    assert sorted(j.task for j in plan.create) == ["b", "c"]
    assert world.run_to_end().phase == "Succeeded"
    assert world.created[-1] == ("d", 1)


def test_a_failed_task_skips_its_dependents_and_fails_the_run():
    world = World(spec_of(CHAIN), outcomes={("a", 0): "fail"})
    status = world.run_to_end()
    assert status.phase == "Failed"
    assert world.phases() == {"a": "Failed", "b": "Skipped", "c": "Skipped"}
    assert "a" in status.message
    assert status.tasks["a"].message == "attempt 1 failed: exit code 1"
    assert world.created == [("a", 1)]


def test_an_all_done_join_runs_after_a_failure_but_the_run_still_fails():
    tasks = CHAIN[:2] + [{"name": "cleanup", "dependsOn": ["b"], "triggerRule": "AllDone"}]
    world = World(spec_of(tasks), outcomes={("b", 0): "fail"})
    assert world.run_to_end().phase == "Failed"
    assert world.phases() == {"a": "Succeeded", "b": "Failed", "cleanup": "Succeeded"}


@pytest.mark.parametrize(
    "rule, b_outcome, expected",
    [
        ("AllSucceeded", "ok", "Succeeded"),
        ("AllSucceeded", "fail", "Skipped"),
        ("AllDone", "fail", "Succeeded"),
        ("AnyFailed", "fail", "Succeeded"),
        ("AnyFailed", "ok", "Skipped"),
        ("AllFailed", "fail", "Succeeded"),
        ("AllFailed", "ok", "Skipped"),
        ("NoneFailed", "ok", "Succeeded"),
        ("NoneFailed", "fail", "Skipped"),
    ],
    ids=lambda v: str(v),
)
def test_trigger_rules_decide_whether_the_join_runs(rule, b_outcome, expected):
    tasks = [{"name": "a"}, {"name": "b"}, {"name": "j", "dependsOn": ["a", "b"], "triggerRule": rule}]
    if rule == "AllFailed":
        outcomes = {("a", 0): b_outcome, ("b", 0): b_outcome}
    else:
        outcomes = {("b", 0): b_outcome}
    world = World(spec_of(tasks), outcomes=outcomes)
    world.run_to_end()
    assert world.phases()["j"] == expected


def test_none_failed_runs_when_an_upstream_was_skipped():
    tasks = [
        {"name": "a"},
        {"name": "only-on-failure", "dependsOn": ["a"], "triggerRule": "AnyFailed"},
        {"name": "after", "dependsOn": ["only-on-failure"], "triggerRule": "NoneFailed"},
    ]
    world = World(spec_of(tasks))
    assert world.run_to_end().phase == "Succeeded"
    assert world.phases() == {"a": "Succeeded", "only-on-failure": "Skipped", "after": "Succeeded"}


def test_a_retry_waits_for_the_backoff_then_starts_attempt_two():
    retries = {"limit": 2, "backoffSeconds": 10, "backoffFactor": 2}
    world = World(spec_of([{"name": "a", "retries": retries}]), outcomes={("a", 1): "fail"})
    world.step()
    world.tick(1)
    plan = world.step()
    assert plan.status.tasks["a"].phase == "Retrying"
    assert plan.create == []
    assert plan.requeue_after == pytest.approx(10)
    assert [t.reason for t in plan.transitions] == ["TaskRetrying"]
    world.tick(9.5)
    assert world.step().create == []
    world.tick(0.5)
    plan = world.step()
    assert [(j.task, j.attempt) for j in plan.create] == [("a", 2)]
    assert plan.status.tasks["a"].message == "attempt 1 failed: exit code 1"
    assert world.run_to_end().phase == "Succeeded"
    assert world.status.tasks["a"].attempts == 2


def test_backoff_grows_by_the_factor_and_is_capped():
    retries = {"limit": 4, "backoffSeconds": 10, "backoffFactor": 3, "maxBackoffSeconds": 50}
    world = World(spec_of([{"name": "a", "retries": retries}]), outcomes={("a", 0): "fail"})
    starts = []
    for _ in range(400):
        plan = world.step()
        starts += [world.now for _ in plan.create]
        if plan.status.phase == "Failed":
            break
        world.tick(0.5)
    gaps = [round((b - a).total_seconds()) for a, b in itertools.pairwise(starts)]
    assert gaps == [10, 30, 50, 50]  # each gap = 0.5 s run + backoff, rounded
    assert world.status.tasks["a"].attempts == 5


def test_retries_default_from_the_workflow_defaults():
    world = World(
        spec_of([{"name": "a"}], defaults={"retries": {"limit": 1, "backoffSeconds": 0}}),
        outcomes={("a", 1): "fail"},
    )
    assert world.run_to_end().phase == "Succeeded"
    assert world.created == [("a", 1), ("a", 2)]


def test_max_parallel_tasks_is_never_exceeded():
    tasks = [{"name": f"t{i}"} for i in range(10)]
    world = World(spec_of(tasks, maxParallelTasks=2))
    assert world.run_to_end().phase == "Succeeded"
    assert world.max_running_seen == 2
    assert len(world.created) == 10


def test_cancel_stops_running_tasks_and_starts_no_more():
    world = World(spec_of(CHAIN), outcomes={("a", 0): "hang"})
    world.step()
    world.tick()
    world.cancel = True
    plan = world.step()
    assert plan.stop == [plan.status.tasks["a"].job]
    assert plan.create == []
    assert plan.status.phase == "Cancelled"
    assert {n: t.phase for n, t in plan.status.tasks.items()} == {
        "a": "Cancelled", "b": "Cancelled", "c": "Cancelled"
    }
    assert plan_run(world.snapshot()).create == []


def test_a_task_that_failed_stays_failed_when_the_run_is_cancelled_later():
    """A final phase never changes: cancelling the run stops what runs, not what already ended."""
    tasks = [{"name": "a"}, {"name": "long"}, {"name": "after", "dependsOn": ["a"], "triggerRule": "AnyFailed"}]
    world = World(spec_of(tasks), outcomes={("a", 0): "fail", ("long", 0): "hang", ("after", 0): "hang"})
    world.step()
    world.tick()
    assert world.step().status.tasks["a"].phase == "Failed"
    world.cancel = True
    plan = world.step()
    assert plan.status.phase == "Cancelled"
    assert {n: t.phase for n, t in plan.status.tasks.items()} == {
        "a": "Failed", "long": "Cancelled", "after": "Cancelled"
    }
    assert plan.status.tasks["a"].message == "attempt 1 failed: exit code 1"


@pytest.mark.parametrize("status_written", [True, False], ids=["after the failure was stored",
                                                               "before the failure was stored"])
def test_a_failure_with_no_retries_left_is_failed_even_if_the_cancel_comes_first(status_written):
    """Whether the pass that saw the failure wrote its status before the cancel (or crashed
    first) must not change the outcome: Failed, not Cancelled."""
    world = World(spec_of([{"name": "a"}, {"name": "long"}]), outcomes={("a", 0): "fail", ("long", 0): "hang"})
    world.step()
    world.tick()
    if status_written:
        world.step()
    world.cancel = True
    plan = world.step()
    assert plan.status.tasks["a"].phase == "Failed"
    assert plan.status.tasks["long"].phase == "Cancelled"


def test_a_failure_with_retries_left_is_cancelled_when_the_run_is_cancelled():
    world = World(spec_of([{"name": "a", "retries": {"limit": 2, "backoffSeconds": 60}}]),
                  outcomes={("a", 0): "fail"})
    world.step()
    world.tick()
    world.cancel = True
    plan = world.step()
    assert plan.status.tasks["a"].phase == "Cancelled"
    assert plan.status.tasks["a"].message == "attempt 1 failed: exit code 1"
    assert plan.create == []


def test_a_run_timeout_fails_the_run_and_stops_its_tasks():
    world = World(spec_of(CHAIN, timeoutSeconds=30), outcomes={("a", 0): "hang"})
    plan = world.step()
    assert plan.requeue_after == pytest.approx(30)
    world.tick(30)
    plan = world.step()
    assert plan.status.phase == "Failed"
    assert "timed out after 30s" in plan.status.message
    assert plan.stop


def test_a_finished_run_plans_nothing():
    world = World(spec_of(CHAIN))
    world.run_to_end()
    plan = plan_run(world.snapshot())
    assert (plan.create, plan.stop, plan.transitions) == ([], [], [])


def test_replanning_the_same_snapshot_gives_the_same_plan():
    world = World(spec_of(DIAMOND))
    world.step()
    world.tick()
    snap = world.snapshot()
    assert plan_run(snap) == plan_run(snap)


def test_a_job_missing_from_the_cache_is_looked_up_before_anything_is_decided():
    world = World(spec_of([{"name": "a", "retries": {"limit": 1, "backoffSeconds": 0}}]),
                  outcomes={("a", 0): "hang"})
    world.step()
    job = world.status.tasks["a"].job
    world.jobs = {}
    plan = world.step()
    assert plan.confirm == [job]
    assert plan.create == []
    assert plan.status.tasks["a"].phase == "Running"
    assert plan.status.tasks["a"].message is None


def test_a_job_the_api_server_says_is_gone_counts_as_a_failed_attempt():
    world = World(spec_of([{"name": "a", "retries": {"limit": 1, "backoffSeconds": 0}}]),
                  outcomes={("a", 0): "hang"})
    world.step()
    world.confirmed_missing = frozenset({world.status.tasks["a"].job})
    world.jobs = {}
    plan = world.step()
    assert plan.confirm == []
    assert [(j.task, j.attempt) for j in plan.create] == [("a", 2)]
    assert "was deleted" in plan.status.tasks["a"].message


def test_a_finished_task_never_changes_phase_when_its_job_shows_up_later():
    """The outage bug: a task failed as 'deleted' must not turn Succeeded when its Job reappears."""
    world = World(spec_of(CHAIN), outcomes={("a", 0): "hang"})
    world.step()
    job = world.status.tasks["a"].job
    hidden = world.jobs.pop("a")
    world.confirmed_missing = frozenset({job})
    world.step()
    assert world.phases() == {"a": "Failed", "b": "Skipped", "c": "Skipped"}
    world.jobs["a"] = [j.__class__(**{**j.__dict__, "state": JobState.SUCCEEDED, "finished_at": world.now})
                       for j in hidden]
    status = world.run_to_end()
    assert world.phases() == {"a": "Failed", "b": "Skipped", "c": "Skipped"}
    assert status.phase == "Failed"


def test_a_finished_task_whose_job_was_garbage_collected_stays_finished():
    world = World(spec_of(CHAIN))
    world.step()
    world.tick()
    world.step()
    world.jobs.pop("a")
    plan = world.step()
    assert plan.status.tasks["a"].phase == "Succeeded"
    assert plan.create == []


def test_a_queued_run_creates_nothing_until_admitted():
    snap = RunSnapshot(run_name="r", spec=spec_of(CHAIN), status=WorkflowRunStatus(), jobs={},
                       now=T0, admitted=False)
    plan = plan_run(snap)
    assert plan.status.phase == "Queued"
    assert plan.create == []


def test_a_restart_with_a_job_newer_than_the_status_adopts_it():
    """The operator created attempt 1 then crashed before writing status."""
    spec = spec_of(CHAIN)
    job = ObservedJob("run-a-1", "a", 1, JobState.SUCCEEDED, T0, T0 + timedelta(seconds=2))
    snap = RunSnapshot(run_name="run", spec=spec, status=WorkflowRunStatus(), jobs={"a": [job]},
                       now=T0 + timedelta(seconds=3))
    plan = plan_run(snap)
    assert [(j.task, j.attempt) for j in plan.create] == [("b", 1)]
    assert plan.status.tasks["a"] == TaskStatus(
        phase="Succeeded", attempts=1, job="run-a-1", started_at="2026-11-24T02:00:00Z",
        finished_at="2026-11-24T02:00:02Z",
    )


def test_many_tasks_starting_in_one_pass_share_one_event():
    world = World(spec_of([{"name": f"t{i}"} for i in range(25)]))
    plan = world.step()
    started = [t for t in plan.transitions if t.reason == "TaskStarted"]
    assert len(started) == 1
    assert "and 15 more" in started[0].message


def test_a_pass_where_one_task_succeeds_and_the_next_starts_posts_one_event():
    world = World(spec_of(CHAIN))
    world.step()
    world.tick()
    plan = world.step()
    assert [(t.reason, t.message) for t in plan.transitions] == [("TaskSucceeded", "succeeded: a; started: b")]


def test_routine_progress_of_several_passes_sums_up_in_one_event_and_failures_are_not_routine():
    stored = WorkflowRunStatus(phase="Running", tasks={"a": TaskStatus(phase="Running", attempts=1),
                                                       "b": TaskStatus(phase="Running", attempts=1)})
    later = WorkflowRunStatus(phase="Running", tasks={
        "a": TaskStatus(phase="Succeeded", attempts=1), "b": TaskStatus(phase="Failed", attempts=1, message="exit code 2"),
        "c": TaskStatus(phase="Running", attempts=1)})
    assert [(t.reason, t.message) for t in routine_transitions(stored, later)] == [
        ("TaskSucceeded", "succeeded: a; started: c")]
    assert routine_transitions(later, later) == []
    world = World(spec_of(CHAIN), outcomes={("a", 0): "fail"})
    world.step()
    world.tick()
    reasons = {t.reason: is_routine(t) for t in world.step().transitions}
    assert reasons == {"TaskFailed": False, "TaskSkipped": True, "RunFailed": False}
