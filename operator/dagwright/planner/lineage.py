"""OpenLineage run events: what a pass of a run tells a lineage backend.

Pure. `lineage_events` compares a run's status before and after a pass and returns one event per
task of the run that declares assets (`consumes`/`produces`) and changed phase: START when it
starts running, COMPLETE when it Succeeded, FAIL when it Failed, ABORT when it was Cancelled or
Skipped after starting. Each carries the task's input and output datasets; a task's OpenLineage
run id is a UUID derived from (run uid, task), so START and COMPLETE of one task match and a
replay sends the same ids. The controller hands them to the OpenLineage client; nothing here
does I/O.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import Enum

from dagwright.api.models import TaskPhase, WorkflowRunStatus, WorkflowSpec

__all__ = ["LineageDataset", "LineageEvent", "LineageState", "lineage_events", "task_run_id"]

_NAMESPACE = uuid.UUID("7f6f3a52-6c1b-4d0e-9a51-5b8f3c1d2e90")


class LineageState(str, Enum):
    """OpenLineage's RunState values Dagwright sends."""

    START = "START"
    COMPLETE = "COMPLETE"
    FAIL = "FAIL"
    ABORT = "ABORT"


@dataclass(frozen=True)
class LineageDataset:
    namespace: str
    name: str


@dataclass(frozen=True)
class LineageEvent:
    """One OpenLineage RunEvent, in plain values."""

    state: LineageState
    time: str
    run_id: str
    job_namespace: str
    job_name: str
    inputs: tuple[LineageDataset, ...]
    outputs: tuple[LineageDataset, ...]
    parent_run: str  # the WorkflowRun's name (a facet-free hint for readers)


def task_run_id(run_uid: str, task: str) -> str:
    """The OpenLineage run id of one task of one WorkflowRun (stable across passes and restarts)."""
    return str(uuid.uuid5(_NAMESPACE, f"{run_uid}\0{task}"))


_STATE = {TaskPhase.RUNNING: LineageState.START, TaskPhase.SUCCEEDED: LineageState.COMPLETE,
          TaskPhase.FAILED: LineageState.FAIL, TaskPhase.CANCELLED: LineageState.ABORT}


def lineage_events(spec: WorkflowSpec, old: WorkflowRunStatus, new: WorkflowRunStatus, run_name: str, run_uid: str,
                   workflow: str, namespace: str, dataset_namespace: str, now: str) -> list[LineageEvent]:
    """Events for the asset-declaring tasks whose phase changed between `old` and `new`."""
    before, after = old.tasks or {}, new.tasks or {}
    events = []
    for task in spec.tasks:
        if not task.produces and not task.consumes:
            continue
        status = after.get(task.name)
        previous = before.get(task.name)
        if status is None or (previous is not None and previous.phase == status.phase):
            continue
        state = _STATE.get(TaskPhase(status.phase))
        if state is None:
            continue
        if state is LineageState.START and previous is not None and previous.phase == TaskPhase.RETRYING:
            continue  # a retry of a started task: the same OpenLineage run goes on
        time = (status.finished_at if state is not LineageState.START else status.started_at) or now
        events.append(LineageEvent(
            state=state, time=time, run_id=task_run_id(run_uid, task.name),
            job_namespace=f"dagwright/{namespace}", job_name=f"{workflow}.{task.name}",
            inputs=tuple(LineageDataset(dataset_namespace, ref.name) for ref in task.consumes or []),
            outputs=tuple(LineageDataset(dataset_namespace, ref.name) for ref in task.produces or []),
            parent_run=run_name))
    return events
