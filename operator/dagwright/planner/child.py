"""Workflow tasks: a task that runs another Workflow as a child WorkflowRun follows its phase (pure).

The child is named by `api.names.child_run_name(run, task)`, owned by the parent run and labelled
with it, so a restarted operator that asks for it again gets 409 and adopts it. The task is
Running while the child runs, and ends as the child ends: Succeeded with the child's
`status.outputs` as its outputs, Failed or Cancelled with the child's message. A cancel or
timeout of the parent asks the child to cancel. Retries belong to the child's own tasks: a
workflow task runs its child once (a retry-from-failure of the parent reuses a Succeeded task,
and with it its child's outputs, and starts a new child for one that failed).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from dagwright.api.models import RunPhase, TaskPhase, TaskStatus, WorkflowSpec
from dagwright.api.timefmt import format_time


@dataclass(frozen=True)
class ChildView:
    """What the parent's planner needs of a child run: its phase, message and outputs."""

    name: str
    phase: str | None = None
    progress: str | None = None
    message: str | None = None
    outputs: tuple[tuple[str, str], ...] | None = None


@dataclass(frozen=True)
class ChildRunToCreate:
    """A child WorkflowRun to create (409: it exists already and is adopted)."""

    task: str
    name: str
    workflow: str


def judge_child(current: TaskStatus, child: ChildView | None, now: datetime, stopping: bool) -> tuple[TaskStatus, bool]:
    """(the task's status, whether to ask the child to cancel) for a started workflow task."""
    name = current.run or ""
    finished = format_time(now)
    if child is None or child.phase is None:
        if stopping:
            return current.model_copy(update={"phase": TaskPhase.CANCELLED, "finished_at": finished,
                                              "message": f"stopped; child run {name} asked to cancel"}), True
        return current, False
    if child.phase == RunPhase.SUCCEEDED:
        return current.model_copy(update={"phase": TaskPhase.SUCCEEDED, "finished_at": finished,
                                          "outputs": dict(child.outputs) if child.outputs else None,
                                          "message": f"child run {name} succeeded"}), False
    if child.phase == RunPhase.FAILED:
        return current.model_copy(update={"phase": TaskPhase.FAILED, "finished_at": finished,
                                          "message": f"child run {name} failed: {child.message or 'failed'}"}), False
    if child.phase == RunPhase.CANCELLED:
        return current.model_copy(update={"phase": TaskPhase.CANCELLED, "finished_at": finished,
                                          "message": f"child run {name} was cancelled"}), False
    if stopping:
        return current.model_copy(update={"phase": TaskPhase.CANCELLED, "finished_at": finished,
                                          "message": f"stopped; child run {name} asked to cancel"}), True
    message = f"child run {name}: {child.progress}" if child.progress else f"child run {name}"
    return current.model_copy(update={"phase": TaskPhase.RUNNING, "message": message}), False


_OUTPUT_REF = re.compile(r"^\{\{\s*tasks\.([a-z0-9-]+)\.outputs\.([A-Za-z0-9_.-]+)\s*\}\}$")


def run_outputs(spec: WorkflowSpec, tasks: Mapping[str, TaskStatus]) -> dict[str, str] | None:
    """The workflow's declared outputs from its tasks' outputs (an output a task did not write is left out)."""
    if not spec.outputs:
        return None
    values: dict[str, str] = {}
    for output in spec.outputs:
        match = _OUTPUT_REF.match(output.value)
        status = tasks.get(match.group(1)) if match else None
        if match and status is not None and status.outputs and match.group(2) in status.outputs:
            values[output.name] = status.outputs[match.group(2)]
    return values
