"""`SpecResolver`: the workflow a run executes — frozen on its first pass — and its identity.

On a run's first pass the workflow it names (or its inline spec, or the run it retries) is
read, validated with its templates and parameters, and frozen into the status, so editing
the Workflow later never changes a run in flight. Anything that makes the run unusable is an
`InvalidRun` whose message names the offending task or field.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from dagwright.api.frozen import freeze_spec, thaw_spec
from dagwright.api.models import (
    DEFAULT_TASK_RESOURCE,
    FINISHED_RUN_PHASES,
    MAX_WORKFLOW_NESTING,
    WorkflowRunSpec,
    WorkflowRunStatus,
    WorkflowSpec,
)
from dagwright.api.runtime import run_data_interval, run_logical_date
from dagwright.api.timefmt import format_time
from dagwright.api.validation import Problem, validate_workflow_spec, workflow_call_problems
from dagwright.controller.children import depth_of
from dagwright.controller.review import validation_messages
from dagwright.controller.store import RunStore, workflow_name_of
from dagwright.kube import resources
from dagwright.kube.http import KubeHttp
from dagwright.planner.retry import reused_tasks
from dagwright.render.checks import param_default_problems, run_param_problems, template_problems
from dagwright.render.job import RunIdentity
from dagwright.render.templating import build_template_context

RUNS = "workflowruns"
WORKFLOWS = "workflows"




class InvalidRun(Exception):
    """The run cannot start: its message names the offending task or field."""


def format_validation_error(error: ValidationError, prefix: str) -> str:
    """Pydantic errors as one line: `field.path: message; ...`."""
    return "; ".join(validation_messages(error, prefix)[:5])


class SpecResolver:
    """Finds, checks and freezes the workflow of a run."""

    def __init__(self, http: KubeHttp, store: RunStore, clock: Callable[[], datetime]) -> None:
        self.http = http
        self.store = store
        self.clock = clock

    async def frozen(self, body: dict[str, Any], status: WorkflowRunStatus
                     ) -> tuple[WorkflowSpec, WorkflowRunSpec, WorkflowRunStatus]:
        """The run's workflow spec, its own spec, and its status with the spec frozen in."""
        try:
            run_spec = WorkflowRunSpec.model_validate(body.get("spec") or {})
        except ValidationError as error:
            raise InvalidRun(format_validation_error(error, "spec")) from error
        if status.frozen_spec:
            return thaw_spec(status.frozen_spec), run_spec, status
        if run_spec.retry_of is not None:
            return await self._retried(body, run_spec)
        if depth_of(body) > MAX_WORKFLOW_NESTING:
            raise InvalidRun(f"metadata.labels: workflows nested deeper than {MAX_WORKFLOW_NESTING} "
                             "(a workflow task's child runs another workflow, and so on)")
        spec, generation = await self._resolve(body, run_spec)
        problems = validate_workflow_spec(spec) + await asyncio.to_thread(self._template_problems, body, run_spec, spec)
        problems += workflow_call_problems(workflow_name_of(body), spec,
                                           lambda name: self._workflow_spec(body["metadata"]["namespace"], name))
        if problems:
            raise InvalidRun("; ".join(str(p) for p in problems[:10]))
        spec = spec.model_copy(update={"task_resource": spec.task_resource or DEFAULT_TASK_RESOURCE})
        return spec, run_spec, status.model_copy(
            update={"frozen_spec": freeze_spec(spec), "workflow_generation": generation})

    async def _retried(self, body: dict[str, Any], run_spec: WorkflowRunSpec
                       ) -> tuple[WorkflowSpec, WorkflowRunSpec, WorkflowRunStatus]:
        """Start from the run being retried: its frozen DAG and its succeeded tasks."""
        namespace, name = body["metadata"]["namespace"], run_spec.retry_of.name  # type: ignore[union-attr]
        original = self.store.run_named(namespace, name)
        if original is None:
            original = await asyncio.to_thread(resources.get_custom, self.http, namespace, RUNS, name)
        if original is None:
            raise InvalidRun(f"spec.retryOf.name: WorkflowRun '{name}' not found in namespace '{namespace}'")
        previous = self.store.status_of(original)
        if not previous.frozen_spec or previous.phase not in FINISHED_RUN_PHASES:
            raise InvalidRun(f"spec.retryOf.name: WorkflowRun '{name}' has not finished")
        status = WorkflowRunStatus(
            frozen_spec=previous.frozen_spec, workflow_generation=previous.workflow_generation,
            tasks=reused_tasks(previous, name))
        return thaw_spec(previous.frozen_spec), run_spec, status

    async def _resolve(self, body: dict[str, Any], run_spec: WorkflowRunSpec) -> tuple[WorkflowSpec, int | None]:
        if (run_spec.workflow_ref is None) == (run_spec.workflow_spec is None):
            raise InvalidRun("spec: exactly one of workflowRef or workflowSpec is required")
        if run_spec.workflow_spec is not None:
            return run_spec.workflow_spec, None
        namespace = body["metadata"]["namespace"]
        name = run_spec.workflow_ref.name  # type: ignore[union-attr]
        workflow = self.store.workflow(namespace, name)
        if workflow is None:
            workflow = await asyncio.to_thread(resources.get_custom, self.http, namespace, WORKFLOWS, name)
        if workflow is None:
            raise InvalidRun(f"spec.workflowRef.name: Workflow '{name}' not found in namespace '{namespace}'")
        try:
            spec = WorkflowSpec.model_validate(workflow.get("spec") or {})
        except ValidationError as error:
            raise InvalidRun(f"Workflow '{name}': " + format_validation_error(error, "spec")) from error
        return spec, workflow["metadata"].get("generation")

    def _workflow_spec(self, namespace: str, name: str) -> WorkflowSpec | None:
        """A Workflow of the store, parsed (None when unknown or invalid)."""
        workflow = self.store.workflow(namespace, name)
        try:
            return WorkflowSpec.model_validate(workflow.get("spec") or {}) if workflow is not None else None
        except ValidationError:
            return None

    def _template_problems(self, body: dict[str, Any], run_spec: WorkflowRunSpec, spec: WorkflowSpec) -> list[Problem]:
        # Parameters and their defaults first: the task checks need them to render.
        problems = run_param_problems(spec, run_spec.params) + param_default_problems(spec)
        return problems or template_problems(spec, self.identity(body, run_spec, spec))

    def identity(self, body: dict[str, Any], run_spec: WorkflowRunSpec, spec: WorkflowSpec) -> RunIdentity:
        """Who the run is and what its templates see (params, logical date, data interval)."""
        meta = body["metadata"]
        logical = run_logical_date(run_spec, meta, format_time(self.clock()))
        # spec.dataInterval; runs created by older versions carry it in annotations instead
        interval = run_data_interval(run_spec, meta.get("annotations"))
        defaults = {p.name: p.default for p in spec.params or []}
        context = build_template_context(
            run_name=meta["name"], namespace=meta["namespace"], workflow=workflow_name_of(body),
            logical_date=logical, param_defaults=defaults, run_params=run_spec.params or {},
            data_interval=interval)
        return RunIdentity(name=meta["name"], namespace=meta["namespace"], uid=meta["uid"],
                           workflow=workflow_name_of(body), template_context=context)
