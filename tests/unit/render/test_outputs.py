"""Task outputs: finding their uses, reading them, and refusing what is too large."""

from __future__ import annotations

from dagwright.api.models import WorkflowSpec
from dagwright.render.outputs import MAX_OUTPUT_BYTES, ancestors, parse_outputs, tasks_with_read_outputs
from dagwright.render.templating import render_string

from ..planner.sim import World, spec_of

SPEC = WorkflowSpec.model_validate({"tasks": [
    {"name": "count", "container": {"image": "x"}},
    {"name": "2nd", "dependsOn": ["count"], "container": {"image": "x", "args": ["{{ tasks.count.outputs.rows }}"]}},
]})


def test_tasks_whose_outputs_are_used_are_found():
    assert tasks_with_read_outputs(SPEC) == {"count"}
    assert ancestors(SPEC, "2nd") == {"count"}


def test_outputs_are_a_json_object_with_string_values():
    assert parse_outputs('{"rows": 42, "table": "bronze"}') == ({"rows": "42", "table": "bronze"}, None)
    assert parse_outputs("") == ({}, None)


def test_bad_outputs_are_clear_errors():
    assert parse_outputs("[1, 2]")[1] == "outputs must be a JSON object"
    assert "not JSON" in parse_outputs("rows=42")[1]
    big = '{"x": "' + "a" * MAX_OUTPUT_BYTES + '"}'
    assert parse_outputs(big)[1].startswith("outputs too large")


def test_a_placeholder_may_name_a_task_starting_with_a_digit():
    assert render_string("{{ tasks.2nd.outputs.k }}", {"tasks.2nd.outputs.k": "v"}) == "v"


def test_a_succeeded_job_with_unreadable_outputs_is_a_failed_attempt():
    from dataclasses import replace

    world = World(spec_of([{"name": "a"}]))
    world.step()
    world.tick()
    job = world.jobs["a"][0]
    world.jobs["a"] = [replace(job, outputs_error="outputs must be a JSON object")]
    plan = world.step()
    assert plan.status.tasks["a"].phase == "Failed"
    assert plan.status.tasks["a"].message == "attempt 1 failed: outputs must be a JSON object"


def test_outputs_of_a_succeeded_job_land_on_the_task_status():
    from dataclasses import replace

    world = World(spec_of([{"name": "a"}]))
    world.step()
    world.tick()
    world.jobs["a"] = [replace(world.jobs["a"][0], outputs=(("rows", "42"),))]
    assert world.step().status.tasks["a"].outputs == {"rows": "42"}
