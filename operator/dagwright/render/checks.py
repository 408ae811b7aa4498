"""Checks that need rendering: every task renders, with only known template names (pure).

Shared by the admission webhook (refuse at apply time) and the controller (fail a run whose
bad spec slipped through). Each problem names the task or field.
"""

from __future__ import annotations

from dataclasses import replace

from dagwright.api.models import WorkflowSpec
from dagwright.api.validation import Problem
from dagwright.render.job import RunIdentity, build_job
from dagwright.render.outputs import OutputPlaceholders, ancestors, output_references
from dagwright.render.templating import TemplateError, build_template_context, render_string

PLACEHOLDER_IDENTITY = RunIdentity(name="run", namespace="namespace", uid="uid", workflow="workflow")


def param_default_problems(spec: WorkflowSpec) -> list[Problem]:
    """Parameter defaults that do not render (they may use `run.*`, `workflow.name`, earlier params)."""
    context = build_template_context(
        run_name="run", namespace="namespace", workflow="workflow", logical_date="2026-01-01T00:00:00Z",
        param_defaults={}, run_params={})
    problems = []
    for i, param in enumerate(spec.params or []):
        try:
            context[f"params.{param.name}"] = render_string(param.default or "", context)
        except TemplateError as error:
            problems.append(Problem(f"spec.params[{i}] ({param.name}).default", str(error)))
            context[f"params.{param.name}"] = ""
    return problems


def placeholder_identity(spec: WorkflowSpec, run_params: dict[str, str] | None = None) -> RunIdentity:
    """A stand-in run for checking templates before a real run exists (defaults must render)."""
    context = build_template_context(
        run_name="run", namespace="namespace", workflow="workflow", logical_date="2026-01-01T00:00:00Z",
        param_defaults={p.name: p.default if p.default is not None else "" for p in spec.params or []},
        run_params=run_params or {})
    return replace(PLACEHOLDER_IDENTITY, template_context=context)


def run_param_problems(spec: WorkflowSpec, run_params: dict[str, str] | None) -> list[Problem]:
    """Run parameters the workflow does not declare, and declared ones left without a value."""
    given = run_params or {}
    declared = {p.name for p in spec.params or []}
    unknown = [Problem(f"spec.params.{name}", "unknown parameter (not declared in the workflow's params)")
               for name in given if name not in declared]
    missing = [Problem(f"spec.params.{p.name}",
                       "no value (the workflow declares it without a default, and the run does not set it)")
               for p in spec.params or [] if p.default is None and p.name not in given]
    return unknown + missing


def template_problems(spec: WorkflowSpec, identity: RunIdentity) -> list[Problem]:
    """Tasks that cannot be rendered for `identity`: unknown template names, foreign outputs."""
    problems = []
    for i, task in enumerate(spec.tasks):
        where = f"spec.tasks[{i}] ({task.name})"
        references = output_references(task)
        upstream = ancestors(spec, task.name) if references else set()  # (only then: it costs O(DAG))
        strangers = sorted({p for p, _ in references if p not in upstream})
        for producer in strangers:
            problems.append(Problem(where, f"uses outputs of '{producer}', which is not one of its dependencies"))
        if strangers:
            continue
        context = OutputPlaceholders(identity.template_context, upstream, items=task.for_each is not None)
        try:
            if task.workflow is not None:  # no Job: its child run's params are rendered
                for value in (task.workflow.params or {}).values():
                    render_string(value, context)
                continue
            build_job(replace(identity, template_context=context), spec, task, 1)
        except TemplateError as error:
            problems.append(Problem(where, str(error)))
        except (ValueError, TypeError) as error:
            problems.append(Problem(where, f"cannot render: {error}"))
    return problems
