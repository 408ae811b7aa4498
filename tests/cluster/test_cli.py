"""The `dagwright` CLI against a real API server: get, watch, cancel, retry, trigger, logs."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime

from dagwright.schedule import scheduled_run_name

from .kube import container_task as task

TASK_RESOURCE = "Job"  # these tests look at the runs' Jobs (the default, Pod, elsewhere: test_pod_mode.py)


def cli(kube_env, namespace: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dagwright.cli.main", *args, "-n", namespace,
                           "--kubeconfig", kube_env["KUBECONFIG"]],
                          env=kube_env, capture_output=True, text=True, timeout=120, check=False)


def test_retry_reruns_only_the_failed_and_skipped_tasks(kube, operator, kube_env):
    flaky = task("flaky", ["first"], annotations={"sim.dagwright.io/exit-code": "5"})
    kube.apply_workflow("wf", {"tasks": [task("first"), flaky, task("last", ["flaky"])]})
    kube.create_run("orig", workflow="wf")
    assert kube.wait_for_phase("orig")["status"]["phase"] == "Failed"
    # fix the workflow; the retry still runs the DAG the original froze
    kube.patch_workflow("wf", {"spec": {"tasks": [task("other")]}})
    result = cli(kube_env, kube.ns, "retry", "orig")
    assert result.returncode == 0, result.stderr
    assert "orig-retry-1" in result.stdout
    retry = kube.wait_for_phase("orig-retry-1")
    assert kube.task_phases(retry) == {"first": "Succeeded", "flaky": "Failed", "last": "Skipped"}
    assert retry["status"]["tasks"]["first"]["message"] == "reused from orig"
    assert kube.attempt_keys("orig-retry-1") == [("flaky", 1)]  # first was not run again


def test_a_retried_backfilled_run_renders_the_original_data_interval(kube, operator, kube_env):
    interval = ["{{ run.dataIntervalStart }}", "{{ run.dataIntervalEnd }}"]
    load = task("load", ["first"], annotations={"sim.dagwright.io/exit-code": "3"}, container={
        "image": "busybox:1.36", "command": ["true"], "args": interval,
        "env": [{"name": "WINDOW", "value": " to ".join(interval)}]})
    kube.apply_workflow("yearly", {"schedule": "0 2 1 1 *", "tasks": [task("first"), load]})
    backfill = cli(kube_env, kube.ns, "backfill", "yearly", "--from", "2026-01-01T02:00:00Z",
                   "--to", "2026-01-01T02:00:00Z")
    assert backfill.returncode == 0, backfill.stderr
    name = scheduled_run_name("yearly", datetime(2026, 1, 1, 2, tzinfo=UTC))
    assert kube.wait_for_phase(name)["status"]["phase"] == "Failed"
    window = ["2025-01-01T02:00:00Z", "2026-01-01T02:00:00Z"]  # the previous fire -> this fire

    def rendered(run: str) -> tuple[list[str], str]:
        [job] = [j for j in kube.jobs(run) if j.metadata.labels["dagwright.io/task"] == "load"]
        container = job.spec.template.spec.containers[0]
        return container.args, next(e.value for e in container.env if e.name == "WINDOW")

    assert rendered(name) == (window, " to ".join(window))
    retried = cli(kube_env, kube.ns, "retry", name)
    assert retried.returncode == 0, retried.stderr
    retry = kube.wait_for_phase(f"{name}-retry-1")
    assert kube.task_phases(retry)["first"] == "Succeeded"  # reused
    assert kube.attempt_keys(f"{name}-retry-1") == [("load", 1)]
    assert rendered(f"{name}-retry-1") == (window, " to ".join(window))
    assert retry["spec"]["dataInterval"] == {"start": window[0], "end": window[1]}
    assert retry["spec"]["logicalDate"] == window[1]


def test_get_shows_the_dag_and_watch_exits_with_the_run_result(kube, operator, kube_env):
    kube.create_run("shown", spec={"tasks": [task("a"), task("b", ["a"])]})
    watched = cli(kube_env, kube.ns, "watch", "shown", "--timeout", "60")
    assert watched.returncode == 0, watched.stdout + watched.stderr
    assert "2/2" in watched.stdout  # the progress bar's counts
    shown = cli(kube_env, kube.ns, "get", "shown")
    lines = shown.stdout.splitlines()
    assert ["Phase:", "✔", "Succeeded"] in [line.split() for line in lines]
    assert ["└─a", "✔", "Succeeded", "1"] == next(line.split()[:4] for line in lines if "─a" in line)
    assert ["└─b", "✔", "Succeeded", "1"] == next(line.split()[:4] for line in lines if "─b" in line)
    listed = cli(kube_env, kube.ns, "list")
    assert ["shown", "(inline)", "✔", "Succeeded", "2/2"] == next(
        line.split()[:5] for line in listed.stdout.splitlines() if line.startswith("shown"))


def test_watch_follows_the_run_through_every_change_to_its_end(kube, operator, kube_env):
    slow = {"sim.dagwright.io/duration": "7s"}  # longer than a run's status writes are apart (5 s)
    kube.create_run("followed", spec={"tasks": [task("a", annotations=slow), task("b", ["a"], annotations=slow)]})
    watched = cli(kube_env, kube.ns, "watch", "followed", "--timeout", "60")
    assert watched.returncode == 0, watched.stdout + watched.stderr
    # on a pipe: one line per change as it happens; b runs only after the CLI started, so its
    # start and its end both have to come through the watch
    changes = [line.split()[1:4] for line in watched.stdout.splitlines() if re.match(r"^\d\d:\d\d:\d\d  ", line)]
    seen = [(name, phase) for _, name, phase in changes if phase in ("Running", "Succeeded")]
    assert seen.index(("a", "Succeeded")) < seen.index(("b", "Running")) < seen.index(("b", "Succeeded")), watched.stdout
    assert changes[-1] == ["run", "followed:", "Succeeded"], watched.stdout
    assert "2/2" in watched.stdout


def test_watch_of_a_missing_run_says_so(kube, operator, kube_env):
    watched = cli(kube_env, kube.ns, "watch", "ghost", "--timeout", "10")
    assert watched.returncode != 0 and "WorkflowRun 'ghost' not found" in watched.stderr


def test_kubectl_finds_the_cli_as_a_plugin(kube, operator, kube_env):
    kube.create_run("plugged", spec={"tasks": [task("a")]})
    kube.wait_for_phase("plugged")
    bin_dir = os.path.dirname(shutil.which("kubectl-dagwright", path=os.path.dirname(sys.executable)) or "")
    assert bin_dir, "kubectl-dagwright is not installed beside the venv's python"
    env = {**kube_env, "PATH": f"{bin_dir}:{kube_env.get('PATH', os.environ['PATH'])}"}
    result = subprocess.run(["kubectl", "dagwright", "get", "plugged", "-n", kube.ns], env=env,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert ["Phase:", "✔", "Succeeded"] in [line.split() for line in result.stdout.splitlines()]


def test_cancel_and_trigger(kube, operator, kube_env):
    kube.apply_workflow("slow", {"tasks": [task("wait", annotations={"sim.dagwright.io/duration": "300s"})]})
    triggered = cli(kube_env, kube.ns, "trigger", "slow", "--logical-date", "2026-11-24T02:00:00Z")
    assert triggered.returncode == 0, triggered.stderr
    name = "slow-20261124t020000z"
    kube.wait_for_phase(name, ("Running",))
    again = cli(kube_env, kube.ns, "trigger", "slow", "--logical-date", "2026-11-24T02:00:00Z")
    assert again.returncode == 1 and "already exists" in again.stdout
    assert cli(kube_env, kube.ns, "cancel", name).returncode == 0
    assert kube.wait_for_phase(name)["status"]["phase"] == "Cancelled"
    watched = cli(kube_env, kube.ns, "watch", name, "--timeout", "5")
    assert watched.returncode == 1


def test_logs_names_a_missing_task(kube, operator, kube_env):
    kube.create_run("logged", spec={"tasks": [task("a")]})
    kube.wait_for_phase("logged")
    result = cli(kube_env, kube.ns, "logs", "logged", "nope")
    assert result.returncode != 0 and "has no task 'nope'" in result.stderr
