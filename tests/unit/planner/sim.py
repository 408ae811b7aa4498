"""A tiny pure simulator that drives `plan_run` like the controller would, for tests.

Jobs finish according to a script: outcome per (task, attempt), default success after one tick.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from dagwright.api.models import WorkflowRunStatus, WorkflowSpec
from dagwright.planner.run import plan_run
from dagwright.planner.snapshot import FailureKind, JobState, ObservedJob, RunPlan, RunSnapshot

T0 = datetime(2026, 11, 24, 2, 0, 0, tzinfo=UTC)


def spec_of(tasks: list[dict], **extra) -> WorkflowSpec:
    """A WorkflowSpec from short task dicts: {'name': 'a', 'dependsOn': [...], ...}."""
    full = [{"container": {"image": "busybox"}, **t} for t in tasks]
    return WorkflowSpec.model_validate({"tasks": full, **extra})


@dataclass
class World:
    spec: WorkflowSpec
    # "ok" | "fail" (exit code 1) | "exit:N" | "disrupt" (evicted) | "hang"
    outcomes: dict[tuple[str, int], str] = field(default_factory=dict)
    run_name: str = "run"
    now: datetime = T0
    status: WorkflowRunStatus = field(default_factory=WorkflowRunStatus)
    jobs: dict[str, list[ObservedJob]] = field(default_factory=dict)
    created: list[tuple[str, int]] = field(default_factory=list)
    cancel: bool = False
    max_running_seen: int = 0
    plans: list[RunPlan] = field(default_factory=list)
    confirmed_missing: frozenset[str] = frozenset()  # Jobs the API server said are gone
    context: dict[str, str] = field(default_factory=dict)  # params and run fields (`when:`)
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)  # task -> outputs of its success
    children: dict[str, Any] = field(default_factory=dict)  # child run name -> ChildView (workflow tasks)

    def snapshot(self) -> RunSnapshot:
        return RunSnapshot(
            run_name=self.run_name, spec=self.spec, status=self.status,
            jobs={k: list(v) for k, v in self.jobs.items()}, now=self.now, cancel=self.cancel,
            confirmed_missing=self.confirmed_missing, context=self.context, children=self.children,
        )

    def step(self) -> RunPlan:
        plan = plan_run(self.snapshot())
        self.plans.append(plan)
        for job in plan.create:
            self.created.append((job.task if job.item is None else f"{job.task}[{job.item}]", job.attempt))
            self.jobs.setdefault(job.task, []).append(
                ObservedJob(name=job.name, task=job.task, attempt=job.attempt,
                            state=JobState.ACTIVE, started_at=self.now, item=job.item)
            )
        for name in plan.stop:
            for task, jobs in self.jobs.items():
                self.jobs[task] = [
                    ObservedJob(j.name, j.task, j.attempt, JobState.FAILED, j.started_at, self.now,
                                "stopped", stopped=True, item=j.item) if j.name == name else j
                    for j in jobs
                ]
        self.status = plan.status
        running = sum(1 for jobs in self.jobs.values() for j in jobs if j.state == JobState.ACTIVE)
        self.max_running_seen = max(self.max_running_seen, running)
        return plan

    def tick(self, seconds: float = 1.0) -> None:
        """Time passes; active jobs finish per their scripted outcome."""
        self.now += timedelta(seconds=seconds)
        for task, jobs in self.jobs.items():
            updated = []
            for j in jobs:
                key = task if j.item is None else f"{task}[{j.item}]"  # a forEach instance: "task[3]"
                outcome = self.outcomes.get((key, j.attempt), self.outcomes.get((key, 0), "ok"))
                if j.state == JobState.ACTIVE and outcome != "hang":
                    state = JobState.SUCCEEDED if outcome == "ok" else JobState.FAILED
                    outputs = tuple(self.outputs[key].items()) if key in self.outputs else None
                    j = ObservedJob(j.name, j.task, j.attempt, state, j.started_at, self.now,
                                    **_failure(outcome), **({"outputs": outputs} if outcome == "ok" else {}),
                                    item=j.item)
                updated.append(j)
            self.jobs[task] = updated

    def run_to_end(self, max_steps: int = 500, seconds: float = 1.0) -> WorkflowRunStatus:
        for _ in range(max_steps):
            plan = self.step()
            if plan.status.phase in ("Succeeded", "Failed", "Cancelled"):
                return plan.status
            self.tick(seconds)
        raise AssertionError(f"run did not finish in {max_steps} steps: {self.status}")

    def phases(self) -> dict[str, str]:
        return {n: t.phase for n, t in (self.status.tasks or {}).items()}


def _failure(outcome: str) -> dict[str, Any]:
    """The ObservedJob failure fields of a scripted outcome."""
    if outcome == "ok":
        return {}
    if outcome == "disrupt":
        return {"failure": "disrupted: EvictionByEvictionAPI", "failure_kind": FailureKind.DISRUPTED}
    code = int(outcome.removeprefix("exit:")) if outcome.startswith("exit:") else 1
    return {"failure": f"exit code {code}", "failure_kind": FailureKind.EXIT, "exit_code": code}
