"""Text that looks like a template but is not a `{{ scope.name }}` placeholder is refused, never run.

`{{ date }}` (meant `{{ params.date }}`), arithmetic, filters and code used to reach the Job
verbatim; now rendering fails and validation (hence the webhook and the controller) names the
task or field and the text. Nothing is ever evaluated.
"""

from __future__ import annotations

import pytest

from dagwright.controller.review import review_workflow
from dagwright.render.kind_python import INLINE_SCRIPT_LIMIT
from dagwright.render.templating import TemplateError, render_string

TYPOS = [
    pytest.param("{{ date }}", id="a bare name (meant params.date)"),
    pytest.param("{{ 7*7 }}", id="arithmetic"),
    pytest.param("{{ run.name | upper }}", id="a filter"),
    pytest.param("{{ __import__('os').system('id') }}", id="code"),
    pytest.param("{{}}", id="empty braces"),
    pytest.param("{{ params.date }} and {{ params.date + 1 }}", id="a good one before a bad one"),
    pytest.param("{{ {{ params.date }} }}", id="nested"),
    pytest.param("{{ params.date\n}} {{ run .name }}", id="a space inside the dotted name"),
]
GOOD = [
    pytest.param("{{ params.date }}", id="a parameter"),
    pytest.param("{{run.name}}-{{ run.logicalDate }}", id="run names, with and without spaces"),
    pytest.param("${HOME} {x} {'a': 1} }} {{", id="braces that are no template"),
]
CONTEXT = {"params.date": "2026-11-24", "run.name": "r", "run.logicalDate": "2026-11-24T00:00:00Z"}


def workflow(**container) -> dict:
    return {"spec": {"params": [{"name": "date", "default": "2026-11-24"}],
                     "tasks": [{"name": "first", "container": {"image": "x"}},
                               {"name": "load", "container": {"image": "x", **container}}]}}


def first_bad(text: str) -> str:
    with pytest.raises(TemplateError) as error:
        render_string(text, CONTEXT)
    return str(error.value)


@pytest.mark.parametrize("text", TYPOS)
def test_rendering_refuses_text_that_looks_like_a_template_and_is_none(text):
    message = first_bad(text)
    assert "{{" in message and "}}" in message
    assert "49" not in message


@pytest.mark.parametrize("text", GOOD)
def test_placeholders_and_other_braces_render(text):
    render_string(text, CONTEXT)


def test_the_message_quotes_the_text_and_suggests_the_parameter():
    message = first_bad("run for {{ date }}")
    assert "'{{ date }}'" in message
    assert "{{ params.date }}" in message


@pytest.mark.parametrize("text, container", [
    ("{{ date }}", {"args": ["--day", "{{ date }}"]}),
    ("{{ 7*7 }}", {"command": ["sh", "-c", "echo {{ 7*7 }}"]}),
    ("{{ run.name | upper }}", {"env": [{"name": "NAME", "value": "{{ run.name | upper }}"}]}),
], ids=["in args", "in the command", "in an env value"])
def test_validation_names_the_task_and_the_text(text, container):
    problems = review_workflow(workflow(**container))
    assert len(problems) == 1, problems
    assert problems[0].startswith("spec.tasks[1] (load)")
    assert f"'{text}'" in problems[0]


@pytest.mark.parametrize("size", [10, INLINE_SCRIPT_LIMIT + 1], ids=["inline script", "large (encoded) script"])
def test_a_python_script_with_code_in_braces_is_refused(size):
    script = "print({{ __import__('os').getcwd() }})\n" + "#" * size
    body = {"spec": {"tasks": [{"name": "py", "python": {"image": "python", "script": script}}]}}
    problems = review_workflow(body)
    assert problems and problems[0].startswith("spec.tasks[0] (py)"), problems
    assert "{{ __import__('os').getcwd() }}" in problems[0]


def test_a_pod_template_typo_is_refused():
    body = workflow(image="x")
    body["spec"]["tasks"][1]["podTemplate"] = {"metadata": {"annotations": {"day": "{{ date }}"}}}
    problems = review_workflow(body)
    assert problems == [p for p in problems if p.startswith("spec.tasks[1] (load)")] and problems


def test_a_parameter_default_typo_is_refused_naming_the_parameter():
    body = workflow(args=["{{ params.day }}"])
    body["spec"]["params"].append({"name": "day", "default": "{{ run.logicalDate | date }}"})
    problems = review_workflow(body)
    assert problems and problems[0].startswith("spec.params[1] (day).default"), problems
    assert "{{ run.logicalDate | date }}" in problems[0]


def test_a_parameter_default_naming_an_unknown_variable_is_a_problem_not_a_crash():
    body = workflow()
    body["spec"]["params"][0]["default"] = "{{ run.nope }}"
    assert review_workflow(body) == ["spec.params[0] (date).default: unknown template variable '{{ run.nope }}'"]


def test_literal_braces_are_written_as_literal_open_and_close_and_are_not_scanned_again():
    body = workflow(image="x")
    annotation = ('{{ literal.open }}- with secret "db/creds" -{{ literal.close }}'
                  '{{ literal.open }} .Data.user {{ literal.close }}')
    body["spec"]["tasks"][1]["podTemplate"] = {"metadata": {"annotations": {"vault": annotation}}}
    assert review_workflow(body) == []
    from dagwright.render.templating import build_template_context

    context = build_template_context(run_name="r", namespace="n", workflow="w", logical_date="d",
                                     param_defaults={}, run_params={})
    assert render_string(annotation, context) == '{{- with secret "db/creds" -}}{{ .Data.user }}'
