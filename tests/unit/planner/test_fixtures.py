"""Half-run runs as YAML fixtures: a snapshot in, the expected plan out (fixtures/README.md).

Each file in fixtures/ holds what the API server held for one run at one moment - the workflow
spec, the run's stored status, the observed Jobs, `now` - and the plan a reviewer expects:
Jobs to create and stop (by task and attempt), every task's phase, the run's phase. The loader
builds the `RunSnapshot` the controller would; one parametrized test runs `plan_run` on each.
A stuck run seen in the wild becomes a regression test by dropping its objects into a new file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from dagwright.api.frozen import thaw_spec
from dagwright.api.models import TASK_KINDS, WorkflowRunStatus, WorkflowSpec
from dagwright.api.names import job_name
from dagwright.api.timefmt import parse_time
from dagwright.kube.observe import observe_job
from dagwright.planner.run import plan_run
from dagwright.planner.snapshot import JobState, ObservedJob, RunPlan, RunSnapshot

FIXTURES = Path(__file__).parent / "fixtures"
DEFAULT_RUN = "run"
EXPECT_KEYS = {"create", "stop", "confirm", "phase", "tasks", "messages", "runMessage", "requeueAfter"}
TOP_KEYS = {"description", "now", "admitted", "confirmedMissing", "workflow", "run", "jobs", "expect"}


class _Loader(yaml.SafeLoader):
    """YAML without timestamp resolving: status times stay the strings Kubernetes stores."""


_Loader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass(frozen=True)
class Fixture:
    description: str
    snapshot: RunSnapshot
    expect: dict[str, Any]


def load_fixture(path: Path) -> Fixture:
    doc = yaml.load(path.read_text(), Loader=_Loader)  # a SafeLoader without timestamps
    unknown = set(doc) - TOP_KEYS
    assert not unknown, f"{path.name}: unknown keys {sorted(unknown)}"
    unknown = set(doc["expect"]) - EXPECT_KEYS
    assert not unknown, f"{path.name}: unknown expect keys {sorted(unknown)}"
    now = parse_time(doc["now"])
    run = doc.get("run") or {}
    run_name = (run.get("metadata") or {}).get("name", DEFAULT_RUN)
    status = WorkflowRunStatus.model_validate(run.get("status") or {})
    snapshot = RunSnapshot(
        run_name=run_name,
        spec=_workflow_spec(doc.get("workflow"), status, path),
        status=status,
        jobs=_jobs(doc.get("jobs") or [], run_name, now),
        now=now,
        cancel=bool((run.get("spec") or {}).get("cancel", False)),
        admitted=bool(doc.get("admitted", True)),
        confirmed_missing=frozenset(doc.get("confirmedMissing") or ()),
    )
    return Fixture(description=doc["description"], snapshot=snapshot, expect=doc["expect"])


def _workflow_spec(workflow: dict[str, Any] | None, status: WorkflowRunStatus, path: Path) -> WorkflowSpec:
    """`workflow:` as written (a task without a kind runs busybox), else the run's frozenSpec."""
    if workflow is None:
        assert status.frozen_spec, f"{path.name}: give `workflow:` or a run status with frozenSpec"
        return thaw_spec(status.frozen_spec)
    tasks = [
        task if any(kind in task for kind in TASK_KINDS) else {**task, "container": {"image": "busybox"}}
        for task in workflow["tasks"]
    ]
    return WorkflowSpec.model_validate({**workflow, "tasks": tasks})


def _jobs(items: list[dict[str, Any]] | dict[str, Any], run_name: str, now: datetime) -> dict[str, list[ObservedJob]]:
    """Jobs in the short form, or as kubectl prints them (a `kind: List` or single Jobs)."""
    if isinstance(items, dict):  # `kubectl get jobs -l dagwright.io/run=NAME -o yaml`
        items = items["items"]
    by_task: dict[str, list[ObservedJob]] = {}
    for item in items:
        job = _observed(item, run_name, now)
        by_task.setdefault(job.task, []).append(job)
    return by_task


def _observed(item: dict[str, Any], run_name: str, now: datetime) -> ObservedJob:
    if item.get("kind") == "Job":
        job = observe_job(item, now)
        assert job is not None, f"Job {item['metadata']['name']} has no dagwright.io/task and attempt labels"
        return job
    task, attempt = item["task"], int(item["attempt"])
    times = {key: parse_time(item[key]) if item.get(key) else None for key in ("startedAt", "finishedAt")}
    return ObservedJob(
        name=item.get("name", job_name(run_name, task, attempt)),
        task=task,
        attempt=attempt,
        state=JobState(item["state"]),
        started_at=times["startedAt"],
        finished_at=times["finishedAt"],
        failure=item.get("failure"),
        stopped=bool(item.get("stopped", False)),
    )


def attempts(entries: list[dict[str, Any]] | None) -> list[tuple[str, int]]:
    return sorted((entry["task"], int(entry["attempt"])) for entry in entries or [])


def job_attempts(snapshot: RunSnapshot, names: list[str]) -> list[tuple[str, int]]:
    by_name = {job.name: (job.task, job.attempt) for jobs in snapshot.jobs.values() for job in jobs}
    return sorted(by_name[name] for name in names)


def applied(snapshot: RunSnapshot, plan: RunPlan) -> RunSnapshot:
    """The snapshot after the plan was carried out: its Jobs exist, its status is stored."""
    jobs = {task: list(observed) for task, observed in snapshot.jobs.items()}
    for job in plan.create:
        jobs.setdefault(job.task, []).append(
            ObservedJob(job.name, job.task, job.attempt, JobState.ACTIVE, snapshot.now)
        )
    return RunSnapshot(run_name=snapshot.run_name, spec=snapshot.spec, status=plan.status, jobs=jobs,
                       now=snapshot.now, cancel=snapshot.cancel, admitted=snapshot.admitted,
                       confirmed_missing=snapshot.confirmed_missing)


PATHS = sorted(FIXTURES.glob("*.yaml"))


def test_there_are_fixtures_to_run():
    assert len(PATHS) >= 8


@pytest.mark.parametrize("path", PATHS, ids=[p.stem.replace("-", " ") for p in PATHS])
def test_the_planner_does_what_the_fixture_expects(path):
    fixture = load_fixture(path)
    expect = fixture.expect
    plan = plan_run(fixture.snapshot)
    tasks = plan.status.tasks or {}
    assert attempts(expect.get("create")) == sorted((j.task, j.attempt) for j in plan.create), "Jobs to create"
    assert attempts(expect.get("stop")) == job_attempts(fixture.snapshot, plan.stop), "Jobs to stop"
    assert (expect.get("confirm") or []) == plan.confirm, "Jobs to look up before deciding"
    assert {name: task.phase for name, task in tasks.items()} == expect["tasks"], "task phases"
    assert plan.status.phase == expect["phase"], plan.status.message
    for name, text in (expect.get("messages") or {}).items():
        assert text in (tasks[name].message or ""), f"{name}: {tasks[name].message!r}"
    if "runMessage" in expect:
        assert expect["runMessage"] in (plan.status.message or "")
    if "requeueAfter" in expect:
        assert plan.requeue_after == pytest.approx(expect["requeueAfter"], abs=0.01)
    again = plan_run(applied(fixture.snapshot, plan))
    assert again.create == [], "carrying the plan out and planning again must create nothing new"
    assert {n: t.phase for n, t in (again.status.tasks or {}).items()} == expect["tasks"]
