"""forEach fan-out in `plan_run`: one instance per item, each with its own Jobs and retries.

Driven through the pure simulator. Instances are named `task[i]` in `World.created` and in the
scripted outcomes. What users rely on: one Job per instance attempt (also after a crash or a
deleted Job), maxParallel, the failure tolerance, empty lists, outputs collected for downstream
tasks (which may fan out again), and a status that stays bounded however many items there are.
"""

from __future__ import annotations

import json

import pytest

from dagwright.api.models import ForEach
from dagwright.api.names import instance_job_name
from dagwright.api.validation import validate_workflow_spec
from dagwright.planner.fanout import MAX_COLLECTED_OUTPUT_BYTES, allowed_failures, item_values, resolve_items
from dagwright.render.checks import placeholder_identity, template_problems

from .sim import World, spec_of


def _fan(items, **for_each) -> list[dict]:
    return [{"name": "each", "forEach": {"items": items, **for_each},
             "container": {"image": "busybox", "args": ["{{ item }}", "{{ itemIndex }}"]}}]


def test_each_item_gets_one_job_named_by_its_index_and_the_task_succeeds():
    world = World(spec_of(_fan(["a.csv", "b.csv", "c.csv"])))
    plan = world.step()
    assert [(j.name, j.item, dict(j.item_values)["item"]) for j in plan.create] == [
        (instance_job_name("run", "each", i, 1), i, name) for i, name in enumerate(["a.csv", "b.csv", "c.csv"])]
    final = world.run_to_end()
    assert final.phase == "Succeeded"
    assert world.created == [("each[0]", 1), ("each[1]", 1), ("each[2]", 1)]
    each = final.tasks["each"]
    assert (each.phase, each.message) == ("Succeeded", "3 of 3 items succeeded")
    assert each.for_each.model_dump(exclude_none=True) == {
        "items": 3, "pending": 0, "running": 0, "retrying": 0, "succeeded": 3, "failed": 0, "cancelled": 0,
        "states": "SSS", "digest": each.for_each.digest}


def test_item_values_give_the_item_its_keys_and_its_index():
    assert dict(item_values({"path": "s3://x", "rows": 3}, 7)) == {
        "itemIndex": "7", "item": '{"path": "s3://x", "rows": 3}', "item.path": "s3://x", "item.rows": "3"}
    assert dict(item_values(42, 0)) == {"itemIndex": "0", "item": "42"}


def test_max_parallel_bounds_the_instances_running_at_once():
    world = World(spec_of(_fan(list(range(7)), maxParallel=2)))
    assert world.run_to_end().phase == "Succeeded"
    assert world.max_running_seen == 2
    assert len(world.created) == 7


def test_max_parallel_tasks_of_the_workflow_counts_instances_too():
    world = World(spec_of(_fan(list(range(6))) + [{"name": "other"}], maxParallelTasks=3))
    world.run_to_end()
    assert world.max_running_seen == 3


TOLERANCE = [
    # (title, items, failing instances, forEach settings, task phase, message)
    ("no failures", 4, [], {}, "Succeeded", "4 of 4 items succeeded"),
    ("one failure, none allowed", 4, [2], {}, "Failed", "1 of 4 items failed (0 allowed)"),
    ("one failure, one allowed", 4, [2], {"allowedFailures": 1}, "Succeeded",
     "3 of 4 items succeeded (1 failed, 1 allowed)"),
    ("two failures, one allowed", 4, [1, 2], {"allowedFailures": 1}, "Failed", "2 of 4 items failed (1 allowed)"),
    ("25 percent of 4 allows one", 4, [0], {"allowedFailurePercent": 25}, "Succeeded",
     "3 of 4 items succeeded (1 failed, 1 allowed)"),
    ("20 percent of 4 allows none", 4, [0], {"allowedFailurePercent": 20}, "Failed", "1 of 4 items failed (0 allowed)"),
    ("every item failed, all allowed", 2, [0, 1], {"allowedFailurePercent": 100}, "Succeeded",
     "0 of 2 items succeeded (2 failed, 2 allowed)"),
]


@pytest.mark.parametrize("_title,count,failing,settings,phase,message", TOLERANCE, ids=[t[0] for t in TOLERANCE])
def test_the_failure_tolerance_decides_the_task(_title, count, failing, settings, phase, message):
    world = World(spec_of(_fan(list(range(count)), **settings)),
                  outcomes={(f"each[{i}]", 0): "fail" for i in failing})
    final = world.run_to_end()
    each = final.tasks["each"]
    assert (each.phase, each.message) == (phase, message)
    assert final.phase == ("Succeeded" if phase == "Succeeded" else "Failed")
    assert [f.index for f in each.for_each.failures or []] == failing
    assert all(f.message == "attempt 1 failed: exit code 1" for f in each.for_each.failures or [])


def test_once_more_instances_failed_than_allowed_no_more_start_and_the_task_fails():
    world = World(spec_of(_fan(list(range(5)), maxParallel=1, allowedFailures=1)),
                  outcomes={("each[0]", 0): "fail", ("each[1]", 0): "fail"})
    final = world.run_to_end()
    assert world.created == [("each[0]", 1), ("each[1]", 1)]
    assert final.tasks["each"].message == "2 of 5 items failed (1 allowed); 3 not started"
    assert final.tasks["each"].for_each.states == "FF..."


def test_an_instance_retries_on_its_own_with_the_task_retry_policy():
    tasks = _fan(["a", "b"])
    tasks[0]["retries"] = {"limit": 2, "backoffSeconds": 5}
    world = World(spec_of(tasks), outcomes={("each[1]", 1): "fail"})
    final = world.run_to_end()
    assert final.tasks["each"].phase == "Succeeded"
    assert world.created == [("each[0]", 1), ("each[1]", 1), ("each[1]", 2)]
    retry = [p for p in world.plans if any(j.attempt == 2 for j in p.create)][0]
    assert [j.name for j in retry.create] == [instance_job_name("run", "each", 1, 2)]


@pytest.mark.parametrize("on_empty,phase", [(None, "Succeeded"), ("Skipped", "Skipped")])
def test_an_empty_list_finishes_the_task_without_instances(on_empty, phase):
    settings = {"onEmpty": on_empty} if on_empty else {}
    world = World(spec_of(_fan([], **settings) + [{"name": "after", "dependsOn": ["each"], "triggerRule": "NoneFailed"}]))
    final = world.run_to_end()
    assert final.tasks["each"].phase == phase and final.tasks["each"].message == "forEach over an empty list"
    assert world.created == [("after", 1)]


def test_a_fan_out_over_an_upstream_output_list_collects_outputs_for_a_second_fan_out():
    spec = spec_of([
        {"name": "list-files"},
        {"name": "per-file", "dependsOn": ["list-files"], "forEach": {"from": "{{ tasks.list-files.outputs.files }}"},
         "container": {"image": "busybox", "args": ["{{ item }}"]}},
        {"name": "per-table", "dependsOn": ["per-file"], "forEach": {"from": "{{ tasks.per-file.outputs.table }}"},
         "container": {"image": "busybox", "args": ["{{ item }}"]}},
        {"name": "report", "dependsOn": ["per-file"],
         "container": {"image": "busybox", "args": ["{{ tasks.per-file.outputs.rows }}"]}},
    ])
    world = World(spec, outputs={"list-files": {"files": '["a.csv", "b.csv"]'},
                                 "per-file[0]": {"table": "t_a", "rows": "10"},
                                 "per-file[1]": {"table": "t_b", "rows": "20"}})
    first = None
    for _ in range(10):
        plan = world.step()
        first = first or next((j for j in plan.create if j.task == "per-file"), None)
        world.tick()
    assert dict(first.item_values)["item"] == "a.csv"
    final = world.run_to_end()
    assert final.phase == "Succeeded"
    assert final.tasks["per-file"].outputs == {"table": '["t_a","t_b"]', "rows": '["10","20"]'}
    assert sorted(world.created) == [("list-files", 1), ("per-file[0]", 1), ("per-file[1]", 1),
                                     ("per-table[0]", 1), ("per-table[1]", 1), ("report", 1)]


def test_a_fan_out_over_a_json_list_parameter():
    spec = spec_of([{"name": "each", "forEach": {"from": "{{ params.regions }}"}, "container": {"image": "x"}}],
                   params=[{"name": "regions", "default": "[]"}])
    world = World(spec, context={"params.regions": '["eu", "us"]'})
    world.run_to_end()
    assert world.created == [("each[0]", 1), ("each[1]", 1)]


@pytest.mark.parametrize("text,message", [
    ("eu,us", "forEach: {{ params.regions }} is not a JSON list: 'eu,us'"),
    ('{"eu": 1}', """forEach: {{ params.regions }} is not a JSON list: '{"eu": 1}'"""),
    (None, "forEach: {{ params.regions }} has no value"),
])
def test_a_list_that_is_not_one_fails_the_task_saying_why(text, message):
    for_each = ForEach.model_validate({"from": "{{ params.regions }}"})
    context = {"params.regions": text} if text is not None else {}
    assert resolve_items(for_each, context, {}) == (None, message)


def test_a_crash_before_the_status_was_written_creates_no_second_job():
    world = World(spec_of(_fan(list(range(5)), maxParallel=3)))
    before = world.status
    world.step()  # three Jobs created, then the operator dies before writing the status
    world.status = before
    again = world.step()
    assert again.create == []
    assert again.status.tasks["each"].for_each.running == 3
    world.run_to_end()
    assert sorted(world.created) == [(f"each[{i}]", 1) for i in range(5)]


def test_an_instance_whose_job_was_deleted_after_it_finished_is_not_run_again():
    world = World(spec_of(_fan(["a", "b"], maxParallel=1)))
    world.step()
    world.tick()
    world.step()  # each[0] succeeded (recorded), each[1] started
    world.jobs["each"] = [j for j in world.jobs["each"] if j.item != 0]  # TTL deleted each[0]'s Job
    world.run_to_end()
    assert world.created == [("each[0]", 1), ("each[1]", 1)]


def test_cancel_stops_running_instances_and_starts_no_more():
    world = World(spec_of(_fan(list(range(4)), maxParallel=2)), outcomes={("each[0]", 0): "hang", ("each[1]", 0): "hang"})
    world.step()
    world.cancel = True
    plan = world.step()
    assert sorted(plan.stop) == sorted(instance_job_name("run", "each", i, 1) for i in (0, 1))
    assert plan.create == []
    assert plan.status.tasks["each"].phase == "Cancelled"
    assert plan.status.tasks["each"].for_each.states == "CCCC"


def test_a_list_that_changes_while_the_task_runs_fails_it():
    spec = spec_of([{"name": "each", "forEach": {"from": "{{ params.regions }}"}, "container": {"image": "x"}}],
                   params=[{"name": "regions", "default": "[]"}])
    world = World(spec, context={"params.regions": '["eu", "us"]'}, outcomes={("each[0]", 0): "hang"})
    world.step()
    world.context = {"params.regions": '["eu", "us", "ap"]'}
    plan = world.step()
    assert plan.status.tasks["each"].phase == "Failed"
    assert "the list changed while the task ran" in plan.status.tasks["each"].message


def test_the_status_of_a_thousand_item_fan_out_stays_bounded():
    failing = set(range(0, 1000, 20))  # 50 failures
    world = World(spec_of(_fan(list(range(1000)), allowedFailures=60)),
                  outcomes={(f"each[{i}]", 0): "fail" for i in failing})
    final = world.run_to_end()
    each = final.tasks["each"]
    assert each.phase == "Succeeded" and each.for_each.failed == 50 and each.for_each.succeeded == 950
    assert len(each.for_each.failures) == 20  # the first 20 by index; the count stays complete
    size = len(json.dumps(final.to_wire()))
    assert size < 1000 + 20 * 200 + 1000, size  # states (1 byte per item) + 20 failures + the rest
    assert len(world.created) == 1000


def test_collected_outputs_beyond_the_cap_fail_the_task():
    big = "x" * 900
    world = World(spec_of(_fan(list(range(100)))), outputs={f"each[{i}]": {"blob": big} for i in range(100)})
    final = world.run_to_end()
    assert final.tasks["each"].phase == "Failed"
    assert final.tasks["each"].message.startswith("collected outputs too large")
    assert 100 * 900 > MAX_COLLECTED_OUTPUT_BYTES


@pytest.mark.parametrize("count,percent,allowed,expected", [
    (10, None, None, 0), (10, 10, None, 1), (10, 15, None, 1), (10, 10, 3, 3), (3, 50, 0, 1), (1000, 0.5, None, 5),
])
def test_allowed_failures_is_the_larger_of_the_count_and_the_share(count, percent, allowed, expected):
    for_each = ForEach.model_validate({"items": [], "allowedFailurePercent": percent, "allowedFailures": allowed})
    assert allowed_failures(for_each, count) == expected


FOR_EACH_PROBLEMS = [
    ("a parameter that is not declared", {"forEach": {"from": "{{ params.files }}"}},
     "spec.tasks[1] (each).forEach.from: unknown parameter 'params.files' (not declared in spec.params)"),
    ("outputs of a task that is not upstream", {"forEach": {"from": "{{ tasks.other.outputs.files }}"}},
     "spec.tasks[1] (each).forEach.from: 'tasks.other.outputs.files' reads outputs of 'other', which is not "
     "upstream of this task"),
    ("a pool", {"forEach": {"items": [1]}, "pool": "db"},
     "spec.tasks[1] (each): a forEach task cannot take a pool slot (yet)"),
]


@pytest.mark.parametrize("_title,task,message", FOR_EACH_PROBLEMS, ids=[p[0] for p in FOR_EACH_PROBLEMS])
def test_validation_refuses_a_for_each_with(_title, task, message):
    spec = spec_of([{"name": "other"}, {"name": "each", **task}])
    assert message in [str(p) for p in validate_workflow_spec(spec)]


def test_item_names_are_known_in_a_for_each_task_and_unknown_elsewhere():
    spec = spec_of([
        {"name": "each", "forEach": {"items": [{"p": 1}]},
         "container": {"image": "x", "args": ["{{ item }}", "{{ item.p }}", "{{ itemIndex }}"]}},
        {"name": "plain", "container": {"image": "x", "args": ["{{ item }}"]}},
    ])
    problems = [str(p) for p in template_problems(spec, placeholder_identity(spec))]
    assert problems == ["spec.tasks[1] (plain): unknown template variable '{{ item }}'"]
