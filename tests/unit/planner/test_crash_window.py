"""The crash window, as a property: random DAGs through `plan_run` against a simulated cluster
whose operator crashes after creating Jobs and before writing the run's status.

Each pass plans from what the API server holds (the stored status, the Jobs that exist), then
carries the plan out like the controller: create the Jobs (a crash may stop it after any of
them), stop the Jobs it names, write the status (a crash before or after the stops loses the
write, so the next pass plans with the OLD status and the NEW Jobs). Meanwhile Jobs finish
(succeed or fail) at random, the clock moves, some runs time out and some are cancelled. After a
stretch of such chaos the Jobs are driven to completion without crashes. What must hold:

- no duplicate: the planner never asks to create a Job whose name exists, never starts an
  attempt while an earlier attempt of the same task is still running, and numbers attempts
  1, 2, 3... without a gap;
- no lost task: the run finishes, every task in a final phase that agrees with its Jobs (and
  with its trigger rule over its dependencies' final phases), every attempt recorded;
- a task's final phase, once stored, never changes; maxParallelTasks is never exceeded.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from dagwright.api.models import (
    FINISHED_RUN_PHASES,
    FINISHED_TASK_PHASES,
    RunPhase,
    TaskPhase,
    WorkflowRunStatus,
    WorkflowSpec,
)
from dagwright.api.timefmt import parse_time
from dagwright.planner.retry import effective_retry_policy, max_attempts
from dagwright.planner.run import plan_run
from dagwright.planner.snapshot import JobState, ObservedJob, RunPlan, RunSnapshot
from dagwright.planner.triggers import Readiness, assess_trigger

from .sim import T0, spec_of

RULES = ["AllSucceeded", "AllDone", "AnyFailed", "AllFailed", "NoneFailed"]
CHAOS_PASSES = 40
CALM_PASSES = 400


@st.composite
def random_specs(draw: st.DrawFn) -> WorkflowSpec:
    size = draw(st.integers(1, 10))
    tasks = []
    for i in range(size):
        deps = draw(st.sets(st.integers(0, i - 1), max_size=3)) if i else set()
        task: dict[str, object] = {
            "name": f"t{i}",
            "dependsOn": [f"t{d}" for d in sorted(deps)],
            "triggerRule": draw(st.sampled_from(RULES)),
        }
        if draw(st.booleans()):
            task["retries"] = {"limit": draw(st.integers(0, 2)), "backoffSeconds": draw(st.sampled_from([0, 1, 3]))}
        tasks.append(task)
    extra: dict[str, int] = {}
    if parallel := draw(st.one_of(st.none(), st.integers(1, 3))):
        extra["maxParallelTasks"] = parallel
    if draw(st.integers(0, 3)) == 0:
        extra["timeoutSeconds"] = draw(st.integers(1, 40))
    return spec_of(tasks, **extra)


@dataclass
class Cluster:
    """What the API server holds for one run, and an operator that may crash mid-pass."""

    spec: WorkflowSpec
    rnd: random.Random
    run_name: str = "run"
    now: datetime = T0
    cancel: bool = False
    status: WorkflowRunStatus = field(default_factory=WorkflowRunStatus)  # as stored
    jobs: dict[str, ObservedJob] = field(default_factory=dict)  # by Job name
    stored: list[WorkflowRunStatus] = field(default_factory=list)  # every status written
    crashes: int = 0

    def snapshot(self) -> RunSnapshot:
        by_task: dict[str, list[ObservedJob]] = {}
        for job in self.jobs.values():
            by_task.setdefault(job.task, []).append(job)
        return RunSnapshot(run_name=self.run_name, spec=self.spec, status=self.status, jobs=by_task,
                           now=self.now, cancel=self.cancel)

    def timed_out(self) -> bool:
        """Whether the run's timeoutSeconds had passed when its final status was planned."""
        if self.spec.timeout_seconds is None or self.cancel or not self.status.started_at:
            return False
        return self.now >= parse_time(self.status.started_at) + timedelta(seconds=self.spec.timeout_seconds)

    def active(self) -> list[ObservedJob]:
        return [j for j in self.jobs.values() if j.state == JobState.ACTIVE]

    def reconcile(self, crash_rate: float) -> RunPlan:
        """One operator pass; with probability `crash_rate` it dies before the status write."""
        plan = plan_run(self.snapshot())
        crash = self.rnd.random() < crash_rate
        creates = plan.create[: self.rnd.randint(0, len(plan.create))] if crash else plan.create
        for job in plan.create:
            assert job.name not in self.jobs, f"asked to create {job.name}, which exists"
            same_task = [j for j in self.jobs.values() if j.task == job.task]
            assert not [j for j in same_task if j.state == JobState.ACTIVE], (
                f"asked to start attempt {job.attempt} of {job.task} while an attempt runs"
            )
            assert job.attempt == 1 + max((j.attempt for j in same_task), default=0), (
                f"asked to start attempt {job.attempt} of {job.task} after {len(same_task)} attempt(s)"
            )
        for job in creates:
            self.jobs[job.name] = ObservedJob(job.name, job.task, job.attempt, JobState.ACTIVE, self.now)
        limit = self.spec.max_parallel_tasks
        assert limit is None or len(self.active()) <= limit
        if crash and self.rnd.random() < 0.5:
            self.crashes += 1
            return plan
        for name in plan.stop:
            job = self.jobs[name]
            if job.state == JobState.ACTIVE:
                self.jobs[name] = ObservedJob(name, job.task, job.attempt, JobState.FAILED, job.started_at,
                                              self.now, "stopped", stopped=True)
        if crash:  # after the stops, before the status write
            self.crashes += 1
            return plan
        self.status = plan.status
        self.stored.append(plan.status)
        return plan

    def time_passes(self, finish_rate: float) -> None:
        """The clock moves; each running Job finishes with probability `finish_rate`."""
        self.now += timedelta(seconds=self.rnd.choice([0, 0.5, 1, 2, 5]))
        for job in self.active():
            if self.rnd.random() < finish_rate:
                ok = self.rnd.random() < 0.7
                self.jobs[job.name] = ObservedJob(
                    job.name, job.task, job.attempt, JobState.SUCCEEDED if ok else JobState.FAILED,
                    job.started_at, self.now, None if ok else "exit code 1",
                )


def run_through_crashes(cluster: Cluster, cancel_rate: float = 0.0) -> None:
    for _ in range(CHAOS_PASSES):
        cluster.reconcile(crash_rate=0.5)
        if cluster.status.phase in FINISHED_RUN_PHASES:
            return
        if cluster.rnd.random() < cancel_rate:
            cluster.cancel = True
        cluster.time_passes(finish_rate=0.4)
    for _ in range(CALM_PASSES):
        cluster.reconcile(crash_rate=0.0)
        if cluster.status.phase in FINISHED_RUN_PHASES:
            return
        cluster.time_passes(finish_rate=1.0)
    raise AssertionError(f"the run did not finish: {cluster.status}")


def assert_nothing_lost(cluster: Cluster) -> None:
    status = cluster.status
    tasks = status.tasks or {}
    assert set(tasks) == {t.name for t in cluster.spec.tasks}
    assert all(t.phase in FINISHED_TASK_PHASES for t in tasks.values()), status
    assert status.progress == f"{len(tasks)}/{len(tasks)}"
    for task in cluster.spec.tasks:
        mine = sorted((j for j in cluster.jobs.values() if j.task == task.name), key=lambda j: j.attempt)
        entry = tasks[task.name]
        assert entry.attempts == len(mine), f"{task.name}: {entry.attempts} attempts recorded, {len(mine)} Jobs"
        if entry.phase == TaskPhase.CANCELLED:
            assert cluster.cancel or cluster.timed_out(), f"{task.name} Cancelled in a run nobody stopped"
            continue
        upstream = {d: TaskPhase(tasks[d].phase) for d in task.depends_on or []}
        verdict, _ = assess_trigger(task.trigger_rule, upstream)
        if entry.phase == TaskPhase.SKIPPED:
            assert not mine and verdict == Readiness.SKIP, f"{task.name} Skipped: {verdict}, {len(mine)} Jobs"
            continue
        assert mine and verdict == Readiness.READY, f"{task.name} {entry.phase} without a reason to run"
        assert mine[-1].state != JobState.ACTIVE
        assert (entry.phase == TaskPhase.SUCCEEDED) == (mine[-1].state == JobState.SUCCEEDED)
        if entry.phase == TaskPhase.FAILED:
            assert len(mine) == max_attempts(effective_retry_policy(cluster.spec, task)), (
                f"{task.name} Failed with retries left"
            )
    failed = any(t.phase == TaskPhase.FAILED for t in tasks.values())
    if cluster.cancel:
        assert status.phase == RunPhase.CANCELLED
    elif cluster.timed_out():
        assert status.phase == RunPhase.FAILED and "timed out" in (status.message or "")
    else:
        assert status.phase == (RunPhase.FAILED if failed else RunPhase.SUCCEEDED)
    if cluster.cancel or cluster.timed_out():
        assert not cluster.active(), "a stopped run left a Job running"


def assert_final_phases_never_change(cluster: Cluster) -> None:
    final: dict[str, tuple[TaskPhase, int]] = {}
    for status in cluster.stored:
        for name, entry in (status.tasks or {}).items():
            now = (TaskPhase(entry.phase), entry.attempts)
            if name in final:
                assert final[name] == now, f"{name} was {final[name]}, later {now}"
            elif entry.phase in FINISHED_TASK_PHASES:
                final[name] = now


@settings(max_examples=300, deadline=None)
@given(random_specs(), st.randoms(use_true_random=False))
def test_a_crash_between_job_create_and_status_write_neither_duplicates_nor_loses_a_task(spec, rnd):
    cluster = Cluster(spec, rnd)
    run_through_crashes(cluster)
    assert_nothing_lost(cluster)
    assert_final_phases_never_change(cluster)


@settings(max_examples=150, deadline=None)
@given(random_specs(), st.randoms(use_true_random=False))
def test_a_cancel_amid_crashes_stops_every_job_and_loses_no_final_phase(spec, rnd):
    cluster = Cluster(spec, rnd)
    run_through_crashes(cluster, cancel_rate=0.1)
    assert_nothing_lost(cluster)
    assert_final_phases_never_change(cluster)


def test_the_simulation_does_crash_in_the_window():
    """Guard against a simulation that never crashes (and so proves nothing)."""
    spec = spec_of([{"name": "a"}, {"name": "b", "dependsOn": ["a"]}, {"name": "c", "dependsOn": ["a"]}])
    crashed_with_jobs_unrecorded = 0
    for seed in range(50):
        cluster = Cluster(spec, random.Random(seed))
        for _ in range(CHAOS_PASSES):
            before = set(cluster.jobs)
            stored = len(cluster.stored)
            cluster.reconcile(crash_rate=0.5)
            if set(cluster.jobs) - before and len(cluster.stored) == stored:
                crashed_with_jobs_unrecorded += 1
            if cluster.status.phase in FINISHED_RUN_PHASES:
                break
            cluster.time_passes(finish_rate=0.4)
    assert crashed_with_jobs_unrecorded > 20
