"""`when:` conditions in `plan_run` and at validation: run, skip (saying why), fail when they cannot be judged.

The condition is judged once the task's trigger rule lets it start; a Skipped task's dependents
follow their own trigger rules. Validation (the webhook and the controller's Valid=False)
names the task and the position of a syntax error or an unknown name.
"""

from __future__ import annotations

import pytest

from dagwright.api.validation import validate_workflow_spec
from dagwright.planner.when import WhenVerdict, assess_when

from .sim import World, spec_of

PARAMS = [{"name": "day", "default": "mon"}]


def _world(when: str, day: str = "sat", rows: str = "42", rule: str = "AllSucceeded") -> World:
    spec = spec_of([
        {"name": "check"},
        {"name": "sync", "dependsOn": ["check"], "when": when},
        {"name": "report", "dependsOn": ["sync"], "triggerRule": rule},
    ], params=PARAMS)
    return World(spec, context={"params.day": day, "run.name": "run"}, outputs={"check": {"rows": rows}})


CASES = [
    ("a true condition runs the task", "params.day == 'sat'", "sat", "42", "Succeeded", "Succeeded"),
    ("a false condition skips the task and its AllSucceeded dependent",
     "params.day not in ['sat', 'sun']", "sat", "42", "Skipped", "Skipped"),
    ("an upstream output decides", "tasks.check.outputs.rows > 0", "mon", "0", "Skipped", "Skipped"),
    ("an upstream output that is no number fails the task", "tasks.check.outputs.rows > 0", "mon", "many",
     "Failed", "Skipped"),
    ("an output the upstream did not write fails the task", "tasks.check.outputs.nope == 'x'", "mon", "1",
     "Failed", "Skipped"),
]


@pytest.mark.parametrize("_title,when,day,rows,sync,report", CASES, ids=[c[0] for c in CASES])
def test_a_condition(_title, when, day, rows, sync, report):
    world = _world(when, day, rows)
    final = world.run_to_end()
    assert world.phases() == {"check": "Succeeded", "sync": sync, "report": report}
    assert final.phase == ("Failed" if sync == "Failed" else "Succeeded")
    assert ("sync", 1) in world.created if sync == "Succeeded" else ("sync", 1) not in world.created


def test_a_skipped_task_says_the_expression_and_the_values_it_saw():
    world = _world("params.day in ['sat', 'sun'] and tasks.check.outputs.rows > 0", day="mon")
    world.run_to_end()
    assert world.status.tasks["sync"].message == (
        "when 'params.day in ['sat', 'sun'] and tasks.check.outputs.rows > 0' is false "
        "(params.day='mon', tasks.check.outputs.rows='42')")


def test_a_failed_condition_says_why_it_could_not_be_judged():
    world = _world("tasks.check.outputs.rows > 0", rows="many")
    world.run_to_end()
    assert world.status.tasks["sync"].message == (
        "when 'tasks.check.outputs.rows > 0' cannot be evaluated: tasks.check.outputs.rows is 'many', "
        "not a number (tasks.check.outputs.rows='many')")


def test_none_failed_dependents_run_after_a_skipped_condition():
    world = _world("params.day == 'sun'", rule="NoneFailed")
    assert world.run_to_end().phase == "Succeeded"
    assert world.phases() == {"check": "Succeeded", "sync": "Skipped", "report": "Succeeded"}


def test_the_condition_is_judged_only_once_the_trigger_rule_is_met():
    world = _world("tasks.check.outputs.rows > 0")
    plan = world.step()  # check starts; sync waits (its output does not exist yet: not an error)
    assert plan.status.tasks["sync"].phase == "Pending"


def test_a_task_without_dependencies_is_judged_on_the_first_pass():
    spec = spec_of([{"name": "a", "when": "params.day == 'sat'"}, {"name": "b"}], params=PARAMS)
    world = World(spec, context={"params.day": "mon"})
    plan = world.step()
    assert [j.task for j in plan.create] == ["b"]
    assert plan.status.tasks["a"].phase == "Skipped"


VERDICTS = [
    ("no condition", None, WhenVerdict.RUN),
    ("true", "params.day == 'sat'", WhenVerdict.RUN),
    ("false", "params.day == 'sun'", WhenVerdict.SKIP),
    ("no value", "params.other == 'x'", WhenVerdict.ERROR),
    ("syntax error in a spec an older version accepted", "params.day ==", WhenVerdict.ERROR),
]


@pytest.mark.parametrize("_title,when,verdict", VERDICTS, ids=[v[0] for v in VERDICTS])
def test_assess_when(_title, when, verdict):
    assert assess_when(when, {"params.day": "sat"}, {}).verdict == verdict


PROBLEMS = [
    ("a syntax error names the task and the position", "params.day = 'sat'",
     "spec.tasks[1] (sync).when: unexpected character '=' at position 12 in 'params.day = 'sat''"),
    ("an unknown parameter", "params.weekday == 'sat'",
     "spec.tasks[1] (sync).when: unknown parameter 'params.weekday' (not declared in spec.params) at position 1"),
    ("an unknown scope", "run.colour == 'red'", "spec.tasks[1] (sync).when: unknown name 'run.colour'"),
    ("outputs of a task that is not upstream", "params.day == 'sat' and tasks.other.outputs.n > 1",
     "spec.tasks[1] (sync).when: 'tasks.other.outputs.n' reads outputs of 'other', which is not upstream of "
     "this task at position 25"),
    ("a hostile expression", "__import__('os').system('id')",
     "spec.tasks[1] (sync).when: unexpected character '.' at position 17"),
]


@pytest.mark.parametrize("_title,when,message", PROBLEMS, ids=[p[0] for p in PROBLEMS])
def test_validation_refuses(_title, when, message):
    spec = spec_of([{"name": "check"}, {"name": "sync", "dependsOn": ["check"], "when": when}, {"name": "other"}],
                   params=PARAMS)
    problems = [str(p) for p in validate_workflow_spec(spec)]
    assert len(problems) == 1 and problems[0].startswith(message), problems


def test_validation_accepts_names_of_indirect_upstream_tasks_and_run_fields():
    spec = spec_of([{"name": "a"}, {"name": "b", "dependsOn": ["a"]},
                    {"name": "c", "dependsOn": ["b"],
                     "when": "tasks.a.outputs.n > 1 and run.logicalDate >= '2026' and workflow.name != 'x'"}])
    assert validate_workflow_spec(spec) == []
