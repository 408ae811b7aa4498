"""What is wrong with a Workflow or WorkflowRun manifest, as the admission webhook answers (pure).

Collects every check the CRD schema cannot do: model errors, cycles, unknown dependencies,
duplicate names, cron and time zone, template names and run parameters. Each message names
the task or field.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from dagwright.api.models import WorkflowRunSpec, WorkflowSpec
from dagwright.api.validation import WorkflowLookup, validate_workflow_spec, workflow_call_problems
from dagwright.render.checks import (
    param_default_problems,
    placeholder_identity,
    run_param_problems,
    template_problems,
)
from dagwright.schedule import validate_cron, validate_timezone

MAX_MESSAGES = 10


def validation_messages(error: ValidationError, prefix: str) -> list[str]:
    """Pydantic errors as `field.path: message`, in manifest (camelCase) terms."""
    out = []
    for item in error.errors()[:MAX_MESSAGES]:
        path = ".".join(str(p) for p in item["loc"])
        out.append(f"{prefix}.{path}: {item['msg']}" if path else f"{prefix}: {item['msg']}")
    return out


def review_workflow_spec(spec: WorkflowSpec, prefix: str = "spec", run_params: dict[str, str] | None = None) -> list[str]:
    """Problems of a parsed workflow spec (the run's params checked too when given)."""
    problems = [str(p) for p in validate_workflow_spec(spec)]
    if spec.schedule is not None and (error := validate_cron(spec.schedule)):
        problems.append(f"spec.schedule: {error}")
    if error := validate_timezone(spec.timezone):
        problems.append(f"spec.timezone: {error}")
    if not problems:
        problems += [str(p) for p in param_default_problems(spec)]
    if not problems:
        problems += [str(p) for p in template_problems(spec, placeholder_identity(spec, run_params))]
    problems += [str(p) for p in run_param_problems(spec, run_params)] if run_params is not None else []
    if prefix != "spec":
        problems = [prefix + p[len("spec"):] if p.startswith("spec") else p for p in problems]
    return problems[:MAX_MESSAGES]


def review_workflow(body: dict[str, Any], lookup: WorkflowLookup | None = None) -> list[str]:
    """Problems of a Workflow manifest; `lookup` finds the namespace's other Workflows (for
    cycles of workflow references and their depth)."""
    try:
        spec = WorkflowSpec.model_validate(body.get("spec") or {})
    except ValidationError as error:
        return validation_messages(error, "spec")
    problems = review_workflow_spec(spec)
    if lookup is not None:
        name = (body.get("metadata") or {}).get("name", "")
        problems += [str(p) for p in workflow_call_problems(name, spec, lookup)]
    return problems[:MAX_MESSAGES]


def review_run(body: dict[str, Any], workflow: dict[str, Any] | None) -> list[str]:
    """Problems of a WorkflowRun manifest; `workflow` is its referenced Workflow if known."""
    try:
        run = WorkflowRunSpec.model_validate(body.get("spec") or {})
    except ValidationError as error:
        return validation_messages(error, "spec")
    if (run.workflow_ref is None) == (run.workflow_spec is None):
        return ["spec: exactly one of workflowRef or workflowSpec is required"]
    if run.retry_of is not None:
        return []  # it runs the DAG its original froze, which passed these checks with these params
    if run.workflow_spec is not None:
        return review_workflow_spec(run.workflow_spec, "spec.workflowSpec", run.params or {})
    if workflow is None:
        return []  # GitOps may apply the run before its Workflow; the controller checks then
    try:
        spec = WorkflowSpec.model_validate(workflow.get("spec") or {})
    except ValidationError:
        return []
    return [str(p) for p in run_param_problems(spec, run.params)]
