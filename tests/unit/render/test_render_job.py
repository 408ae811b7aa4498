"""Rendering a task attempt to a Job: names, labels, owner, one pod per attempt, merges."""

from __future__ import annotations

import pytest

from dagwright.api.models import WorkflowSpec
from dagwright.api.names import job_name
from dagwright.render.job import RunIdentity, build_job
from dagwright.render.templating import TemplateError, build_template_context, render_string

RUN = RunIdentity(name="daily-20261124t020000z", namespace="data", uid="u-1", workflow="daily",
                  template_context={"params.date": "2026-11-24", "run.name": "daily-20261124t020000z"})


def spec(**task) -> WorkflowSpec:
    return WorkflowSpec.model_validate({"tasks": [{"name": "t", **task}]})


def test_a_job_runs_one_pod_per_attempt_and_is_owned_by_its_run():
    job = build_job(RUN, spec(container={"image": "busybox", "command": ["true"]}), spec(container={"image": "x"}).tasks[0], 2)
    assert job["spec"]["backoffLimit"] == 0
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    assert job["metadata"]["ownerReferences"][0]["uid"] == "u-1"
    assert job["metadata"]["labels"]["dagwright.io/attempt"] == "2"
    assert job["spec"]["template"]["metadata"]["labels"]["dagwright.io/task"] == "t"
    assert job["metadata"]["name"] == job_name("daily-20261124t020000z", "t", 2)


def test_a_job_fails_with_reason_pod_failure_policy_only_on_a_disrupted_pod():
    job = build_job(RUN, spec(container={"image": "x"}), spec(container={"image": "x"}).tasks[0], 1)
    assert job["spec"]["podFailurePolicy"] == {"rules": [
        {"action": "FailJob", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]}]}


@pytest.mark.parametrize("run, task", [("r" * 70, "t"), ("run", "t" * 63), ("a" * 40, "b" * 40)],
                         ids=["long run name", "long task name", "both long"])
def test_job_names_are_dns_labels_of_at_most_63_chars_and_stay_distinct(run, task):
    names = {job_name(run, task, a) for a in (1, 2, 3)}
    assert len(names) == 3
    assert all(len(n) <= 63 and n[0].isalnum() and n[-1].isalnum() for n in names)


def test_python_script_runs_unbuffered_with_its_args():
    s = spec(python={"image": "python:3.12-slim", "script": "print(1)", "args": ["{{ params.date }}"]})
    container = build_job(RUN, s, s.tasks[0], 1)["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["python", "-c", "print(1)"]
    assert container["args"] == ["2026-11-24"]
    assert {"name": "PYTHONUNBUFFERED", "value": "1"} in container["env"]


def test_pod_templates_merge_defaults_then_task_by_container_name():
    s = WorkflowSpec.model_validate({
        "defaults": {"podTemplate": {"metadata": {"annotations": {"a": "1"}},
                                     "spec": {"nodeSelector": {"pool": "batch"},
                                              "containers": [{"name": "main", "env": [{"name": "X", "value": "d"}]}]}},
                     "timeoutSeconds": 60, "serviceAccountName": "dagwright-task"},
        "tasks": [{"name": "t", "container": {"image": "busybox", "env": [{"name": "Y", "value": "1"}]},
                   "podTemplate": {"metadata": {"annotations": {"b": "2"}},
                                   "spec": {"containers": [{"name": "main", "resources": {"limits": {"cpu": "1"}}}]}}}],
    })
    job = build_job(RUN, s, s.tasks[0], 1)
    pod = job["spec"]["template"]
    assert pod["metadata"]["annotations"] == {"a": "1", "b": "2"}
    assert pod["spec"]["nodeSelector"] == {"pool": "batch"}
    main = pod["spec"]["containers"][0]
    assert [e["name"] for e in main["env"]] == ["Y", "DAGWRIGHT_OUTPUTS", "X"]
    assert main["resources"] == {"limits": {"cpu": "1"}}
    assert main["image"] == "busybox"
    assert pod["spec"]["serviceAccountName"] == "dagwright-task"
    assert job["spec"]["activeDeadlineSeconds"] == 60


def test_an_unknown_template_variable_is_an_error_naming_it():
    with pytest.raises(TemplateError, match="params.dat"):
        render_string("{{ params.dat }}", {"params.date": "x"})


def test_param_defaults_may_use_the_logical_date():
    ctx = build_template_context(run_name="r", namespace="n", workflow="w", logical_date="2026-11-24T02:00:00Z",
                                 param_defaults={"date": "{{ run.logicalDate }}", "env": "prod"},
                                 run_params={"env": "dev"})
    assert ctx["params.date"] == "2026-11-24T02:00:00Z"
    assert ctx["params.env"] == "dev"
