"""What the webhook answers for a WorkflowRun: every parameter known, every declared one with a value."""

from __future__ import annotations

import pytest

from dagwright.api.models import WorkflowSpec
from dagwright.controller.review import review_run
from dagwright.render.checks import run_param_problems

WORKFLOW_SPEC = {
    "params": [{"name": "day"}, {"name": "env", "default": "prod"}],
    "tasks": [{"name": "load", "container": {"image": "x", "args": ["{{ params.day }}", "{{ params.env }}"]}}],
}
WORKFLOW = {"metadata": {"name": "wf"}, "spec": WORKFLOW_SPEC}
MISSING_DAY = "spec.params.day: no value (the workflow declares it without a default, and the run does not set it)"


def by_ref(params: dict | None) -> dict:
    return {"spec": {"workflowRef": {"name": "wf"}, **({"params": params} if params is not None else {})}}


def inline(params: dict | None) -> dict:
    return {"spec": {"workflowSpec": WORKFLOW_SPEC, **({"params": params} if params is not None else {})}}


@pytest.mark.parametrize("params, expected", [
    ({"day": "2026-11-24"}, []),
    ({"day": "2026-11-24", "env": "dev"}, []),
    (None, [MISSING_DAY]),
    ({"env": "dev"}, [MISSING_DAY]),
    ({"day": "1", "dayy": "2"}, ["spec.params.dayy: unknown parameter (not declared in the workflow's params)"]),
], ids=["the required one set", "both set", "no params at all", "only the defaulted one set", "an undeclared one"])
def test_a_run_by_reference_must_set_every_parameter_without_a_default(params, expected):
    assert review_run(by_ref(params), WORKFLOW) == expected


def test_a_run_with_an_inline_workflow_must_too():
    assert review_run(inline(None), None) == ["spec.workflowSpec.params.day: no value (the workflow declares it "
                                              "without a default, and the run does not set it)"]
    assert review_run(inline({"day": "1"}), None) == []


def test_an_empty_value_is_a_value():
    assert review_run(by_ref({"day": ""}), WORKFLOW) == []


def test_the_controller_names_the_parameter_that_has_no_value():
    # what the controller reports for a run that bypassed the webhook
    problems = run_param_problems(WorkflowSpec.model_validate(WORKFLOW_SPEC), {})
    assert [str(p) for p in problems] == [MISSING_DAY]


def test_a_scheduled_workflow_needs_a_default_for_every_parameter():
    from dagwright.controller.review import review_workflow

    scheduled = {"spec": {**WORKFLOW_SPEC, "schedule": "0 2 * * *"}}
    assert review_workflow(scheduled) == [
        "spec.params[0] (day): a scheduled workflow's parameters need a default (its scheduled runs set none)"]
    assert review_workflow({"spec": WORKFLOW_SPEC}) == []


def test_a_retry_is_checked_against_the_dag_it_retries_not_the_workflow_as_edited_since():
    # the original passed these checks; its retry runs the DAG it froze, with its parameters
    edited = {"metadata": {"name": "wf"}, "spec": {**WORKFLOW_SPEC, "params": [{"name": "region"}]}}
    retry = {"spec": {"workflowRef": {"name": "wf"}, "params": {"day": "1"}, "retryOf": {"name": "r1"}}}
    assert review_run(retry, edited) == []
