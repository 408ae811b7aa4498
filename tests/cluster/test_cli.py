"""The `dagwright` CLI against a real API server: get, watch, cancel, retry, trigger, logs."""

from __future__ import annotations

import subprocess
import sys

from .kube import container_task as task


def cli(kube_env, namespace: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dagwright.cli.main", *args, "-n", namespace,
                           "--kubeconfig", kube_env["KUBECONFIG"]],
                          env=kube_env, capture_output=True, text=True, timeout=120)


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
    assert kube.job_keys("orig-retry-1") == [("flaky", 1)]  # first was not run again


def test_get_shows_the_dag_and_watch_exits_with_the_run_result(kube, operator, kube_env):
    kube.create_run("shown", spec={"tasks": [task("a"), task("b", ["a"])]})
    watched = cli(kube_env, kube.ns, "watch", "shown", "--interval", "0.2", "--timeout", "60")
    assert watched.returncode == 0, watched.stdout + watched.stderr
    shown = cli(kube_env, kube.ns, "get", "shown")
    assert "Phase:     Succeeded" in shown.stdout
    assert "✔ b" in shown.stdout and "← a" in shown.stdout
    listed = cli(kube_env, kube.ns, "list")
    assert "shown" in listed.stdout and "Succeeded" in listed.stdout


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
