"""forEach on a real API server: one Job per instance attempt (labelled with the item), outputs
collected for downstream tasks, the failure tolerance, and an operator SIGKILLed mid-fan-out."""

from __future__ import annotations

import json
import time
from collections import Counter

from dagwright.api.names import instance_job_name

from .kube import container_task as task

TASK_RESOURCE = "Job"  # these tests look at the runs' Jobs (the default, Pod, elsewhere: test_pod_mode.py)


def _instances(kube, run: str, name: str) -> list[tuple[int, int]]:
    """(item, attempt) of every Job of forEach task `name`, sorted."""
    return sorted((int(j.metadata.labels["dagwright.io/item"]), int(j.metadata.labels["dagwright.io/attempt"]))
                  for j in kube.jobs(run) if j.metadata.labels["dagwright.io/task"] == name)


def test_a_fan_out_over_an_upstream_output_list_runs_one_job_per_file_and_collects_their_outputs(kube, operator):
    files = ["s3://in/a.csv", "s3://in/b.csv", "s3://in/c.csv"]
    spec = {"tasks": [
        task("list-files", annotations={"sim.dagwright.io/termination-message": json.dumps({"files": files})}),
        {"name": "per-file", "dependsOn": ["list-files"],
         "forEach": {"from": "{{ tasks.list-files.outputs.files }}", "maxParallel": 2},
         "container": {"image": "busybox:1.36", "args": ["load", "{{ item }}", "{{ itemIndex }}"]},
         "podTemplate": {"metadata": {"annotations": {
             "sim.dagwright.io/duration": "1s",
             "sim.dagwright.io/termination-message": '{"table": "t_{{ itemIndex }}", "rows": 10}'}}}},
        {"name": "report", "dependsOn": ["per-file"],
         "container": {"image": "busybox:1.36", "args": ["{{ tasks.per-file.outputs.table }}"]}},
        {"name": "per-table", "dependsOn": ["per-file"], "forEach": {"from": "{{ tasks.per-file.outputs.table }}"},
         "container": {"image": "busybox:1.36", "args": ["optimize", "{{ item }}"]}},
    ]}
    kube.create_run("fan", spec=spec)
    run = kube.wait_for_phase("fan", timeout=90)
    assert run["status"]["phase"] == "Succeeded", run["status"]
    per_file = run["status"]["tasks"]["per-file"]
    assert per_file["forEach"]["items"] == 3 and per_file["forEach"]["succeeded"] == 3
    assert per_file["forEach"]["states"] == "SSS"
    assert per_file["outputs"] == {"table": '["t_0","t_1","t_2"]', "rows": '["10","10","10"]'}
    assert _instances(kube, "fan", "per-file") == [(0, 1), (1, 1), (2, 1)]
    assert _instances(kube, "fan", "per-table") == [(0, 1), (1, 1), (2, 1)]
    jobs = {j.metadata.name: j for j in kube.jobs("fan")}
    for index, path in enumerate(files):
        job = jobs[instance_job_name("fan", "per-file", index, 1)]
        assert job.spec.template.spec.containers[0].args == ["load", path, str(index)]
        assert job.spec.template.metadata.labels["dagwright.io/item"] == str(index)
    optimize = sorted(j.spec.template.spec.containers[0].args[1] for j in jobs.values()
                      if j.metadata.labels["dagwright.io/task"] == "per-table")
    assert optimize == ["t_0", "t_1", "t_2"]
    report = next(j for j in jobs.values() if j.metadata.labels["dagwright.io/task"] == "report")
    assert report.spec.template.spec.containers[0].args == ['["t_0","t_1","t_2"]']


def test_instances_retry_on_their_own_and_a_tolerated_failure_lets_the_task_succeed(kube, operator):
    items = [{"code": "1", "flaky": "true"}, {"code": "3", "flaky": "false"}, {"code": "0", "flaky": "false"}]
    spec = {"tasks": [
        {"name": "each", "forEach": {"items": items, "allowedFailures": 1},
         "retries": {"limit": 1, "backoffSeconds": 1, "noRetryOnExitCodes": [3]},
         "container": {"image": "busybox:1.36", "command": ["true"]},
         "podTemplate": {"metadata": {"annotations": {
             "sim.dagwright.io/exit-code": "{{ item.code }}", "sim.dagwright.io/fail-first-attempt": "{{ item.flaky }}"}}}},
        task("after", ["each"]),
    ]}
    kube.create_run("tolerant", spec=spec)
    run = kube.wait_for_phase("tolerant", timeout=90)
    assert run["status"]["phase"] == "Succeeded", run["status"]
    each = run["status"]["tasks"]["each"]
    assert each["message"] == "2 of 3 items succeeded (1 failed, 1 allowed)"
    [failure] = each["forEach"]["failures"]
    assert (failure["index"], failure["attempts"], failure["job"]) == (1, 1, instance_job_name("tolerant", "each", 1, 1))
    assert failure["message"].startswith("attempt 1 failed: exit code 3")
    assert failure["message"].endswith("(final: exit code listed in noRetryOnExitCodes)")
    assert _instances(kube, "tolerant", "each") == [(0, 1), (0, 2), (1, 1), (2, 1)]
    assert kube.task_phases(run)["after"] == "Succeeded"


def test_a_200_item_fan_out_with_the_operator_killed_midway_has_exactly_one_job_per_instance_attempt(kube, operator):
    flaky = set(range(0, 200, 10))  # their first attempt fails: 20 second attempts
    items = [{"n": i, "flaky": "true" if i in flaky else "false"} for i in range(200)]
    spec = {"tasks": [
        {"name": "each", "forEach": {"items": items, "maxParallel": 60},
         "retries": {"limit": 1, "backoffSeconds": 1},
         "container": {"image": "busybox:1.36", "args": ["{{ item.n }}"]},
         "podTemplate": {"metadata": {"annotations": {
             "sim.dagwright.io/duration": "2s", "sim.dagwright.io/fail-first-attempt": "{{ item.flaky }}"}}}},
    ]}
    kube.create_run("big", spec=spec)
    kube.wait_for("60 instances started", lambda: len(kube.jobs("big")) >= 60, timeout=60, every=0.5)
    kube.wait_for("a second wave", lambda: len(kube.jobs("big")) >= 90, timeout=60, every=0.5)
    operator.kill()
    time.sleep(3)  # instances finish while nobody watches
    operator.start()
    run = kube.wait_for_phase("big", timeout=300)
    assert run["status"]["phase"] == "Succeeded", run["status"]["tasks"]["each"]
    expected = sorted([(i, 1) for i in range(200)] + [(i, 2) for i in flaky])
    attempts = _instances(kube, "big", "each")
    duplicates = [key for key, n in Counter(attempts).items() if n > 1]
    assert duplicates == [] and attempts == expected
    counts = run["status"]["tasks"]["each"]["forEach"]
    assert (counts["items"], counts["succeeded"], counts["failed"]) == (200, 200, 0)
    status = {k: v for k, v in run["status"].items() if k != "frozenSpec"}
    assert len(json.dumps(status)) < 6000, len(json.dumps(status))  # bounded: no entry per instance
