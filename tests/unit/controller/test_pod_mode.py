"""`taskResource: Pod`: the reconciler creates, retries, cancels and reads bare task Pods itself.

Against the in-memory API server of `fakeapi`, as test_reconciler.py does for Jobs: what a user
would check - the Pods (and no Jobs) that exist, the run's stored status, which calls were made.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from dagwright.api.frozen import freeze_spec, thaw_spec
from dagwright.api.models import TaskResource, WorkflowSpec
from dagwright.controller import statuswriter

from .fakeapi import FakeApi
from .test_reconciler import NS, RUNS, Operator, add_run, job_of, status, task_phases

PODS = f"/api/v1/namespaces/{NS}/pods"


@pytest.fixture(autouse=True)
def _no_linger(monkeypatch):
    monkeypatch.setattr(statuswriter, "LINGER_SECONDS", 0.0)


def pods(api: FakeApi) -> dict[str, dict[str, Any]]:
    return {b["metadata"]["name"]: b for p, b in api.objects.items() if p.startswith(PODS + "/")}


def set_pod(api: FakeApi, op: Operator, name: str, status: dict[str, Any], **meta: Any) -> None:
    body = api.objects[f"{PODS}/{name}"]
    body["status"] = status
    body["metadata"].update(meta)
    op.jobs.pod_event("MODIFIED", body)


def chain(**task: Any) -> list[dict[str, Any]]:
    return [{"name": "a", "container": {"image": "busybox"}, **task},
            {"name": "b", "dependsOn": ["a"], "container": {"image": "busybox"}}]


def start(tasks: list[dict[str, Any]]) -> tuple[FakeApi, Operator]:
    api = FakeApi()
    add_run(api, "etl", workflowSpec={"tasks": tasks, "taskResource": "Pod"})
    op = Operator(api)
    asyncio.run(op.reconcile("etl"))
    return api, op


def test_the_first_pass_creates_the_root_pod_owned_by_the_run_and_no_job():
    api, _op = start(chain(timeoutSeconds=30))
    name = job_of(api, "etl", "a")
    assert list(pods(api)) == [name] and not api.jobs()
    pod = pods(api)[name]
    assert pod["metadata"]["ownerReferences"][0]["kind"] == "WorkflowRun"
    assert pod["metadata"]["labels"]["dagwright.io/task"] == "a"
    assert pod["metadata"]["labels"]["dagwright.io/attempt"] == "1"
    assert pod["spec"]["restartPolicy"] == "Never" and pod["spec"]["activeDeadlineSeconds"] == 30
    assert task_phases(api, "etl") == {"a": "Running", "b": "Pending"}


def test_a_succeeded_pod_starts_its_dependent():
    api, op = start(chain())
    set_pod(api, op, job_of(api, "etl", "a"), {"phase": "Succeeded"})
    asyncio.run(op.reconcile("etl"))
    assert task_phases(api, "etl") == {"a": "Succeeded", "b": "Running"}
    assert len(pods(api)) == 2 and not api.jobs()


def test_a_failed_pod_is_retried_as_a_new_pod_with_the_exit_code_in_the_message():
    api, op = start(chain(retries={"limit": 1, "backoffSeconds": 0}))
    first = job_of(api, "etl", "a")
    set_pod(api, op, first, {"phase": "Failed", "containerStatuses": [
        {"name": "main", "state": {"terminated": {"exitCode": 3, "reason": "Error"}}}]})
    asyncio.run(op.reconcile("etl"))
    second = job_of(api, "etl", "a")
    assert second != first and second.endswith("-2") and set(pods(api)) == {first, second}
    assert status(api, "etl")["tasks"]["a"]["attempts"] == 2
    set_pod(api, op, second, {"phase": "Failed", "containerStatuses": [
        {"name": "main", "state": {"terminated": {"exitCode": 3, "reason": "Error"}}}]})
    asyncio.run(op.reconcile("etl"))
    assert task_phases(api, "etl")["a"] == "Failed"
    assert "exit code 3" in status(api, "etl")["tasks"]["a"]["message"]


def test_a_disrupted_pod_is_retried_without_using_the_retry_limit():
    api, op = start(chain())
    first = job_of(api, "etl", "a")
    set_pod(api, op, first, {"phase": "Failed", "conditions": [
        {"type": "DisruptionTarget", "status": "True", "reason": "EvictionByEvictionAPI", "message": "evicted"}]})
    asyncio.run(op.reconcile("etl"))
    a = status(api, "etl")["tasks"]["a"]
    assert (a["attempts"], a["disruptions"]) == (2, 1)
    assert job_of(api, "etl", "a") in pods(api)


def test_a_timed_out_pod_fails_the_task_and_is_kept_with_its_log():
    api, op = start(chain(timeoutSeconds=5))
    name = job_of(api, "etl", "a")
    set_pod(api, op, name, {"phase": "Failed", "reason": "DeadlineExceeded"})
    asyncio.run(op.reconcile("etl"))
    assert task_phases(api, "etl")["a"] == "Failed"
    assert "timed out after 5s" in status(api, "etl")["tasks"]["a"]["message"]
    assert name in pods(api) and ("DELETE", "pods") not in api.calls and ("PATCH", "pods") not in api.calls


def test_cancelling_the_run_deletes_its_running_pod():
    api, op = start(chain())
    name = job_of(api, "etl", "a")
    api.request("PATCH", f"{RUNS}/etl", {"spec": {"cancel": True}, "metadata": {"generation": 2}})
    op.reconciler.observe_run(api.request("GET", f"{RUNS}/etl"), listed=True)  # the user's change, seen
    asyncio.run(op.reconcile("etl"))
    assert status(api, "etl")["phase"] == "Cancelled"
    assert name not in pods(api) and ("DELETE", "pods") in api.calls


def test_after_a_crash_the_existing_pod_is_adopted_not_duplicated():
    api, _op = start(chain())
    name = job_of(api, "etl", "a")
    api.objects[f"{RUNS}/etl"].pop("status")
    restarted = Operator(api)
    asyncio.run(restarted.reconcile("etl"))
    assert list(pods(api)) == [name]
    assert api.calls.count(("GET", "pods")) == 1
    assert status(api, "etl")["tasks"]["a"]["job"] == name


def test_a_pod_deleted_behind_the_operators_back_is_confirmed_gone_then_failed():
    api, op = start(chain())
    name = job_of(api, "etl", "a")
    body = api.objects.pop(f"{PODS}/{name}")
    op.jobs.pod_event("DELETED", body)
    asyncio.run(op.reconcile("etl"))
    asyncio.run(op.reconcile("etl"))
    assert ("GET", "pods") in api.calls
    assert task_phases(api, "etl")["a"] == "Failed"


def test_a_workflow_without_task_resource_runs_pods_and_its_run_records_the_kind_it_started_with():
    api = FakeApi()
    add_run(api, "plain", workflowSpec={"tasks": chain()})
    asyncio.run(Operator(api).reconcile("plain"))
    assert list(pods(api)) == [job_of(api, "plain", "a")] and not api.jobs()
    assert thaw_spec(status(api, "plain")["frozenSpec"]).task_resource == TaskResource.POD


def test_a_run_frozen_before_the_field_existed_keeps_running_jobs():
    api = FakeApi()
    add_run(api, "older", workflowSpec={"tasks": chain()})
    legacy = WorkflowSpec.model_validate({"tasks": chain()})
    assert legacy.task_resource is None
    api.objects[f"{RUNS}/older"]["status"] = {"phase": "Running", "frozenSpec": freeze_spec(legacy),
                                              "startedAt": "2026-12-01T00:00:00Z"}
    asyncio.run(Operator(api).reconcile("older"))
    assert list(api.jobs()) and not pods(api)
