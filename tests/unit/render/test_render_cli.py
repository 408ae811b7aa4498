"""`dagwright render`: the Jobs of a run without a cluster, and the problems of a bad file."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import yaml

from dagwright.api.names import job_name
from dagwright.cli.main import main
from dagwright.cli.render import FAKE_UID, RenderError, RenderOptions, render_documents

NOW = datetime(2026, 11, 24, 9, 30, 15, 123, tzinfo=UTC)


def workflow(tasks: list[dict], name: str = "daily", **spec) -> dict:
    return {"apiVersion": "dagwright.io/v1alpha1", "kind": "Workflow", "metadata": {"name": name},
            "spec": {"tasks": tasks, **spec}}


def task(name: str, *deps: str, **kind) -> dict:
    body = {"name": name, **(kind or {"container": {"image": "busybox", "command": ["echo", name]}})}
    if deps:
        body["dependsOn"] = list(deps)
    return body


def run_cli(tmp_path, capsys, docs: list[dict], *args: str) -> tuple[int, str, str]:
    path = tmp_path / "wf.yaml"
    path.write_text(yaml.safe_dump_all(docs))
    code = main(["render", "-f", str(path), *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_prints_one_job_per_task_in_task_order_for_attempt_one(tmp_path, capsys):
    code, out, _ = run_cli(tmp_path, capsys, [workflow([task("b"), task("a", "b")])],
                           "--logical-date", "2026-11-24T02:00:00Z")
    assert code == 0
    jobs = list(yaml.safe_load_all(out))
    assert [j["metadata"]["name"] for j in jobs] == [job_name("daily-20261124t020000z", "b", 1),
                                                      job_name("daily-20261124t020000z", "a", 1)]
    assert all(j["metadata"]["ownerReferences"][0]["uid"] == FAKE_UID for j in jobs)
    assert all(j["metadata"]["labels"]["dagwright.io/attempt"] == "1" for j in jobs)
    assert out.startswith("---\n")


def test_params_run_name_and_logical_date_fill_the_templates(tmp_path, capsys):
    wf = workflow([task("t", container={"image": "busybox", "args": [
        "{{ params.date }}", "{{ params.env }}", "{{ run.name }}", "{{ run.namespace }}", "{{ workflow.name }}"]})],
        params=[{"name": "date", "default": "{{ run.logicalDate }}"}, {"name": "env", "default": "dev"}])
    code, out, _ = run_cli(tmp_path, capsys, [wf], "--param", "env=prod", "--run-name", "r-1", "-n", "data",
                           "--logical-date", "2026-11-24T02:00:00+01:00")
    assert code == 0
    job = yaml.safe_load(out)
    assert job["spec"]["template"]["spec"]["containers"][0]["args"] == [
        "2026-11-24T01:00:00Z", "prod", "r-1", "data", "daily"]
    assert job["metadata"]["namespace"] == "data"


def test_without_a_logical_date_the_run_is_for_now_and_named_like_a_trigger():
    jobs = render_documents([workflow([task("t")])], RenderOptions(), NOW)
    assert jobs[0]["metadata"]["labels"]["dagwright.io/run"] == "daily-20261124t093015z"


def test_a_scheduled_workflow_gets_the_data_interval_the_scheduler_would_set():
    wf = workflow([task("t", container={"image": "b", "args": ["{{ run.dataIntervalStart }}", "{{ run.dataIntervalEnd }}"]})],
                  schedule="0 2 * * *", timezone="Europe/Berlin")
    jobs = render_documents([wf], RenderOptions(logical_date=datetime(2026, 11, 24, 1, tzinfo=UTC)), NOW)
    assert jobs[0]["spec"]["template"]["spec"]["containers"][0]["args"] == ["2026-11-23T01:00:00Z", "2026-11-24T01:00:00Z"]


def test_upstream_outputs_show_as_placeholders():
    wf = workflow([task("a"), task("b", "a", container={"image": "b", "args": ["{{ tasks.a.outputs.rows }}"]})])
    jobs = render_documents([wf], RenderOptions(), NOW)
    assert jobs[1]["spec"]["template"]["spec"]["containers"][0]["args"] == ["<tasks.a.outputs.rows>"]


def test_a_workflow_run_with_an_inline_spec_renders_with_its_own_name_params_and_date():
    run = {"apiVersion": "dagwright.io/v1alpha1", "kind": "WorkflowRun", "metadata": {"name": "adhoc", "namespace": "x"},
           "spec": {"workflowSpec": {"params": [{"name": "p"}], "tasks": [
               task("t", container={"image": "b", "args": ["{{ params.p }}", "{{ run.logicalDate }}"]})]},
               "params": {"p": "v"}, "logicalDate": "2026-01-02T03:04:05Z"}}
    jobs = render_documents([run], RenderOptions(), NOW)
    assert jobs[0]["metadata"]["name"] == job_name("adhoc", "t", 1)
    assert jobs[0]["metadata"]["namespace"] == "x"
    assert jobs[0]["spec"]["template"]["spec"]["containers"][0]["args"] == ["v", "2026-01-02T03:04:05Z"]


def test_other_documents_and_runs_of_a_named_workflow_are_ignored():
    others = [{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}},
              {"apiVersion": "dagwright.io/v1alpha1", "kind": "WorkflowRun", "metadata": {"name": "r"},
               "spec": {"workflowRef": {"name": "daily"}}}]
    assert len(render_documents([*others, workflow([task("t")])], RenderOptions(), NOW)) == 1


@pytest.mark.parametrize(
    "docs, args, expected",
    [
        ([workflow([task("a", "zz")])], [], ["spec.tasks[0] (a).dependsOn: unknown task 'zz'"]),
        ([workflow([task("a", "b"), task("b", "a")])], [], ["dependency cycle"]),
        ([workflow([task("a", container={"image": "b", "args": ["{{ params.nope }}"]})])], [],
         ["spec.tasks[0] (a): unknown template variable '{{ params.nope }}'"]),
        ([workflow([task("a")])], ["--param", "x=1"], ["spec.params.x: unknown parameter"]),
        ([workflow([task("a"), task("b", spark={"image": "s", "mainApplicationFile": "x", "driver": {"memory": "lots"}})])],
         [], ["spec.tasks[1] (b).spark.driver.memory: String should match pattern"]),
        ([workflow([task("a", dbt={"image": "d", "command": "deploy"})])], [],
         ["spec.tasks[0] (a).dbt.command: Input should be"]),
        ([workflow([{"name": "a"}])], [],
         ["spec.tasks[0] (a): exactly one of python, spark, dbt, container, workflow is required"]),
        ([workflow([task("a", "zz"), task("b", container={"image": "b", "args": ["{{ params.nope }}"]})])], [],
         ["unknown task 'zz'", "(b): unknown template variable"]),
        ([{"apiVersion": "v1", "kind": "ConfigMap"}], [], ["no Workflow"]),
    ],
    ids=[
        "an unknown dependency names the task and field",
        "a cycle is refused",
        "an unknown template variable names the task",
        "an undeclared run parameter names the parameter",
        "a schema error names the task by name and the field",
        "a dbt command outside the allowed set is refused",
        "a task without a kind is reported once",
        "every problem is listed, not only the first",
        "a file without a Workflow is refused",
    ],
)
def test_a_bad_file_exits_1_listing_its_problems(tmp_path, capsys, docs, args, expected):
    code, out, err = run_cli(tmp_path, capsys, docs, *args)
    assert code == 1
    assert out == ""
    for text in expected:
        assert text in err
    if len(expected) > 1:
        assert err.count("\n  - ") == len(expected)


def test_a_missing_file_or_bad_option_exits_1(tmp_path, capsys):
    assert main(["render", "-f", str(tmp_path / "nope.yaml")]) == 1
    assert "nope.yaml" in capsys.readouterr().err
    code, _, err = run_cli(tmp_path, capsys, [workflow([task("a")])], "--param", "novalue")
    assert code == 1 and "KEY=VALUE" in err


def test_render_error_keeps_each_problem():
    with pytest.raises(RenderError) as caught:
        render_documents([workflow([task("a", "x", "y")])], RenderOptions(), NOW)
    assert len(caught.value.problems) == 2


def test_a_workflow_run_with_a_data_interval_renders_it():
    run = {"apiVersion": "dagwright.io/v1alpha1", "kind": "WorkflowRun", "metadata": {"name": "adhoc"},
           "spec": {"workflowSpec": {"tasks": [task("t", container={
               "image": "b", "args": ["{{ run.dataIntervalStart }}", "{{ run.dataIntervalEnd }}"]})]},
               "logicalDate": "2026-01-02T03:04:05Z",
               "dataInterval": {"start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z"}}}
    jobs = render_documents([run], RenderOptions(), NOW)
    assert jobs[0]["spec"]["template"]["spec"]["containers"][0]["args"] == ["2026-01-01T00:00:00Z",
                                                                             "2026-01-02T00:00:00Z"]
