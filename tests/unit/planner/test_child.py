"""Workflow tasks: a child WorkflowRun per task, the task following the child's phase; reference
cycles and nesting refused at validation; declared outputs published by a succeeded run."""

from __future__ import annotations

import pytest

from dagwright.api.models import WorkflowSpec
from dagwright.api.names import child_run_name
from dagwright.api.validation import validate_workflow_spec, workflow_call_problems
from dagwright.planner.child import ChildView

from .sim import World, spec_of

CALLER = [{"name": "prepare"},
          {"name": "ingest", "dependsOn": ["prepare"], "workflow": {"name": "ingest", "params": {"day": "x"}}},
          {"name": "report", "dependsOn": ["ingest"]}]


def _caller() -> WorkflowSpec:
    return WorkflowSpec.model_validate({"tasks": [
        t if "workflow" in t else {"container": {"image": "busybox"}, **t} for t in CALLER]})


def _until_child_asked(world: World) -> None:
    for _ in range(5):
        plan = world.step()
        if plan.create_runs:
            return
        world.tick()
    raise AssertionError("no child run asked for")


def test_the_task_creates_its_child_with_a_deterministic_name_once_its_dependencies_succeeded():
    world = World(_caller())
    first = world.step()
    assert first.create_runs == []
    world.tick()
    _until_child_asked(world)
    asked = world.plans[-1].create_runs
    assert [(c.task, c.name, c.workflow) for c in asked] == [("ingest", child_run_name("run", "ingest"), "ingest")]
    assert world.status.tasks["ingest"].phase == "Running" and world.status.tasks["ingest"].run == asked[0].name


CHILD_PHASES = [
    ("Running", "Running", None),
    ("Succeeded", "Succeeded", {"rows": "42"}),
    ("Failed", "Failed", None),
    ("Cancelled", "Cancelled", None),
]


@pytest.mark.parametrize("child_phase,task_phase,outputs", CHILD_PHASES, ids=[c[0] for c in CHILD_PHASES])
def test_the_task_follows_its_child(child_phase, task_phase, outputs):
    world = World(_caller())
    world.step()
    world.tick()
    _until_child_asked(world)
    name = child_run_name("run", "ingest")
    world.children = {name: ChildView(name, child_phase, "2/3", "1 task(s) failed: load",
                                      (("rows", "42"),) if child_phase == "Succeeded" else None)}
    plan = world.step()
    ingest = plan.status.tasks["ingest"]
    assert ingest.phase == task_phase
    assert ingest.outputs == outputs
    assert plan.create_runs == []
    if child_phase == "Failed":
        assert ingest.message == f"child run {name} failed: 1 task(s) failed: load"
        assert plan.status.tasks["report"].phase == "Skipped"


def test_a_child_missing_from_the_cache_is_asked_for_again_and_adopted_not_duplicated():
    world = World(_caller())
    world.step()
    world.tick()
    _until_child_asked(world)
    plan = world.step()  # the child is not in the cache yet
    assert [c.name for c in plan.create_runs] == [child_run_name("run", "ingest")]  # same name: 409 adopts
    assert plan.status.tasks["ingest"].phase == "Running"


def test_cancel_asks_the_running_child_to_cancel():
    world = World(_caller())
    world.step()
    world.tick()
    _until_child_asked(world)
    name = child_run_name("run", "ingest")
    world.children = {name: ChildView(name, "Running")}
    world.cancel = True
    plan = world.step()
    assert plan.cancel_runs == [name]
    assert plan.status.tasks["ingest"].phase == "Cancelled"


def test_a_succeeded_run_publishes_its_declared_outputs():
    spec = spec_of([{"name": "load"}], outputs=[{"name": "rows", "value": "{{ tasks.load.outputs.rows }}"}])
    world = World(spec, outputs={"load": {"rows": "42"}})
    assert world.run_to_end().outputs == {"rows": "42"}


def _workflows(**calls: list[str]) -> dict[str, WorkflowSpec]:
    return {name: spec_of([{"name": f"t{i}", "workflow": {"name": c}} for i, c in enumerate(called)] or [{"name": "a"}])
            for name, called in calls.items()}


@pytest.mark.parametrize("calls,root,message", [
    ({"a": ["b"], "b": ["a"]}, "a", "workflow reference cycle: a -> b -> a"),
    ({"a": ["a"]}, "a", "workflow reference cycle: a -> a"),
    ({"a": ["b"], "b": ["c"], "c": ["b"]}, "a", "workflow reference cycle: a -> b -> c -> b"),
    ({"w0": ["w1"], "w1": ["w2"], "w2": ["w3"], "w3": ["w4"], "w4": ["w5"], "w5": []}, "w0",
     "workflows nested deeper than 5: w0 -> w1 -> w2 -> w3 -> w4 -> w5"),
    ({"a": ["b", "c"], "b": ["c"], "c": []}, "a", None),
    ({"a": ["missing"]}, "a", None),
], ids=["a calls b calls a", "a calls itself", "a cycle further down", "six levels", "a diamond", "an unknown workflow"])
def test_workflow_references(calls, root, message):
    workflows = _workflows(**calls)
    problems = [str(p) for p in workflow_call_problems(root, workflows[root], workflows.get)]
    assert problems == ([f"spec.tasks[0] (t0).workflow.name: {message}"] if message else [])


def test_a_declared_output_of_an_unknown_task_is_refused():
    spec = spec_of([{"name": "load"}], outputs=[{"name": "rows", "value": "{{ tasks.lod.outputs.rows }}"}])
    assert [str(p) for p in validate_workflow_spec(spec)] == ["spec.outputs[0] (rows): unknown task 'lod'"]


def test_the_outputs_a_workflow_declares_are_read_from_its_tasks_pods():
    from dagwright.render.outputs import tasks_with_read_outputs

    spec = spec_of([{"name": "load"}, {"name": "other"}], outputs=[{"name": "rows", "value": "{{ tasks.load.outputs.rows }}"}])
    assert tasks_with_read_outputs(spec) == frozenset({"load"})
