"""The run reconciler against an in-memory API server (`fakeapi.FakeApi`): what one pass does.

Each test drives `RunReconciler.reconcile` by hand — no cluster, no kopf — and checks what a
user would: the Jobs that exist, the run's stored status, the Events. Job watch events are
fed to the real `JobIndex` by the test, so it can also lose them, as a re-list racing a create
does.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from dagwright.api.models import API_VERSION
from dagwright.controller import statuswriter
from dagwright.controller.events import EventSink
from dagwright.controller.runs import RunReconciler
from dagwright.controller.store import RunStore, run_key
from dagwright.controller.workqueue import WorkQueue
from dagwright.kube.jobindex import JobIndex
from dagwright.kube.resources import create_event

from .fakeapi import FakeApi

NS = "team"
RUNS = f"/apis/dagwright.io/v1alpha1/namespaces/{NS}/workflowruns"
WORKFLOWS = f"/apis/dagwright.io/v1alpha1/namespaces/{NS}/workflows"
JOBS = f"/apis/batch/v1/namespaces/{NS}/jobs"
CHAIN = [{"name": "a", "container": {"image": "busybox"}},
         {"name": "b", "dependsOn": ["a"], "container": {"image": "busybox"}}]


@pytest.fixture(autouse=True)
def _no_linger(monkeypatch):
    monkeypatch.setattr(statuswriter, "LINGER_SECONDS", 0.0)


class Operator:
    """One operator's memory (store, Job index, queue) over a shared fake API server."""

    def __init__(self, api: FakeApi) -> None:
        self.api = api
        self.store = RunStore()
        self.jobs = JobIndex(http=api, namespaces=[NS], on_change=lambda key: None)  # type: ignore[arg-type]
        self.events = EventSink(api)  # type: ignore[arg-type]
        self.queue = WorkQueue()
        self.reconciler = RunReconciler(api, self.store, self.jobs, self.events, self.queue)  # type: ignore[arg-type]
        self.reconciler.statuses._linger = 0.0

    def see_run(self, name: str) -> None:
        self.reconciler.observe_run(self.api.request("GET", f"{RUNS}/{name}"))

    def see_jobs(self) -> None:
        for job in self.api.jobs().values():
            self.jobs.job_event("MODIFIED", job)

    async def reconcile(self, name: str) -> None:
        self.see_run(name)
        key = run_key(self.api.objects[f"{RUNS}/{name}"])
        await self.reconciler.reconcile(key)
        await self.reconciler.statuses.flush(key)
        while not self.events._queue.empty():  # post the queued Events now, in order (no timing)
            create_event(self.api, *self.events._queue.get_nowait())  # type: ignore[arg-type]


def add_run(api: FakeApi, name: str, tasks: list[dict[str, Any]] | None = None, **spec: Any) -> None:
    if "workflowRef" not in spec:  # these tests drive Job attempts; test_pod_mode.py drives Pods (the default)
        spec.setdefault("workflowSpec", {"tasks": tasks or CHAIN, "taskResource": "Job"})
    api.add(f"{RUNS}/{name}", {"apiVersion": API_VERSION, "kind": "WorkflowRun",
                               "metadata": {"name": name, "namespace": NS, "generation": 1}, "spec": spec})


def status(api: FakeApi, name: str) -> dict[str, Any]:
    return api.objects[f"{RUNS}/{name}"].get("status") or {}


def task_phases(api: FakeApi, name: str) -> dict[str, str]:
    return {t: s["phase"] for t, s in (status(api, name).get("tasks") or {}).items()}


def complete(api: FakeApi, op: Operator, job: str) -> None:
    body = api.set_job_status(job, {"succeeded": 1, "conditions": [
        {"type": "Complete", "status": "True", "lastTransitionTime": "2026-12-06T00:00:05Z"}]})
    op.jobs.job_event("MODIFIED", body)


def reasons(api: FakeApi) -> list[str]:
    return [e["reason"] for e in api.events]


def job_of(api: FakeApi, run: str, task: str) -> str:
    return status(api, run)["tasks"][task]["job"]


def test_the_first_pass_creates_the_root_job_and_stores_the_run_running():
    api = FakeApi()
    add_run(api, "etl")
    op = Operator(api)
    asyncio.run(op.reconcile("etl"))
    assert list(api.jobs()) == [job_of(api, "etl", "a")]
    assert status(api, "etl")["phase"] == "Running"
    assert task_phases(api, "etl") == {"a": "Running", "b": "Pending"}


def test_after_a_crash_an_existing_job_of_the_run_is_adopted_not_duplicated():
    api = FakeApi()
    add_run(api, "etl")
    asyncio.run(Operator(api).reconcile("etl"))
    job = job_of(api, "etl", "a")
    api.objects[f"{RUNS}/etl"].pop("status")  # the crash came before the status write
    restarted = Operator(api)
    asyncio.run(restarted.reconcile("etl"))
    assert list(api.jobs()) == [job]
    assert ("POST", "jobs") in api.calls and api.calls.count(("GET", "jobs")) == 1
    adopted = status(api, "etl")["tasks"]["a"]
    assert (adopted["phase"], adopted["job"], adopted.get("message")) == ("Running", job, None)


def test_a_job_of_that_name_owned_by_someone_else_fails_the_attempt_and_is_left_alone():
    api = FakeApi()
    add_run(api, "etl")
    asyncio.run(Operator(api).reconcile("etl"))
    job = job_of(api, "etl", "a")
    api.objects[f"{JOBS}/{job}"]["metadata"]["ownerReferences"] = [{"uid": "somebody-else"}]
    api.objects[f"{RUNS}/etl"].pop("status")
    restarted = Operator(api)
    asyncio.run(restarted.reconcile("etl"))
    assert restarted.queue.depth() == 1  # the failed attempt is planned at once, not at the next resync
    asyncio.run(restarted.reconcile("etl"))
    assert status(api, "etl")["tasks"]["a"]["phase"] == "Failed"
    assert "already exists and is not this run's" in status(api, "etl")["tasks"]["a"]["message"]
    assert api.objects[f"{JOBS}/{job}"]["metadata"]["ownerReferences"] == [{"uid": "somebody-else"}]


@pytest.mark.parametrize("code, message", [(403, 'jobs.batch "etl-a-1" is forbidden: exceeded quota: compute, '
                                                 "requested: count/jobs.batch=1"),
                                           (500, "etcdserver: request timed out"),
                                           (429, "too many requests")],
                         ids=["a quota refusal", "a server error", "throttling"])
def test_a_transient_refusal_writes_nothing_and_the_next_pass_creates_the_job(code, message):
    api = FakeApi()
    add_run(api, "etl")
    api.fail("POST", "jobs", code, message)
    op = Operator(api)
    asyncio.run(op.reconcile("etl"))
    assert api.jobs() == {}
    assert status(api, "etl") == {}  # nothing claims a Job that does not exist
    asyncio.run(op.reconcile("etl"))
    assert list(api.jobs()) == [job_of(api, "etl", "a")]
    assert task_phases(api, "etl") == {"a": "Running", "b": "Pending"}


def test_a_forbidden_create_that_is_not_quota_fails_the_attempt_with_the_api_servers_words():
    api = FakeApi()
    add_run(api, "etl")
    api.fail("POST", "jobs", 403, 'jobs.batch is forbidden: User "x" cannot create resource "jobs"')
    op = Operator(api)
    asyncio.run(op.reconcile("etl"))
    asyncio.run(op.reconcile("etl"))
    assert api.jobs() == {}
    assert task_phases(api, "etl") == {"a": "Failed", "b": "Skipped"}
    assert "refused the Job" in status(api, "etl")["tasks"]["a"]["message"]
    assert status(api, "etl")["phase"] == "Failed"


def test_max_active_runs_queues_the_second_run_until_the_first_finishes():
    api = FakeApi()
    api.add(f"{WORKFLOWS}/nightly", {"apiVersion": API_VERSION, "kind": "Workflow",
                                     "metadata": {"name": "nightly", "namespace": NS, "generation": 1},
                                     "spec": {"maxActiveRuns": 1, "taskResource": "Job", "tasks": CHAIN[:1]}})
    add_run(api, "nightly-1", workflowRef={"name": "nightly"}, logicalDate="2026-12-01T00:00:00Z")
    add_run(api, "nightly-2", workflowRef={"name": "nightly"}, logicalDate="2026-12-02T00:00:00Z")
    op = Operator(api)
    op.see_run("nightly-1")
    op.see_run("nightly-2")
    asyncio.run(op.reconcile("nightly-2"))
    assert status(api, "nightly-2")["phase"] == "Queued" and api.jobs() == {}
    asyncio.run(op.reconcile("nightly-1"))
    assert status(api, "nightly-1")["phase"] == "Running"
    complete(api, op, job_of(api, "nightly-1", "a"))
    asyncio.run(op.reconcile("nightly-1"))
    assert status(api, "nightly-1")["phase"] == "Succeeded"
    asyncio.run(op.reconcile("nightly-2"))
    assert status(api, "nightly-2")["phase"] == "Running"
    assert len(api.jobs()) == 2


def test_a_job_lost_by_a_relist_racing_its_create_is_found_again_and_the_run_really_runs_every_task():
    """The outage bug: a re-list that started before a Job's create drops the new Job from the cache.

    Before the fix the next pass called it deleted, skipped its dependents, then turned the task
    Succeeded when the Job's watch event came — and the run ended Succeeded with half its tasks
    never run.
    """
    api = FakeApi()
    add_run(api, "etl")
    op = Operator(api)
    asyncio.run(op.reconcile("etl"))
    job = job_of(api, "etl", "a")
    op.jobs.jobs_listed(NS, [])  # the re-list's answer was taken before the create
    asyncio.run(op.reconcile("etl"))
    assert task_phases(api, "etl") == {"a": "Running", "b": "Pending"}
    assert ("GET", "jobs") in api.calls
    assert list(api.jobs()) == [job]
    complete(api, op, job)
    asyncio.run(op.reconcile("etl"))
    complete(api, op, job_of(api, "etl", "b"))
    asyncio.run(op.reconcile("etl"))
    assert task_phases(api, "etl") == {"a": "Succeeded", "b": "Succeeded"}
    assert status(api, "etl")["phase"] == "Succeeded"
    assert len(api.jobs()) == 2
    assert not any("deleted" in (e.get("message") or "") for e in api.events)


def test_while_the_api_server_cannot_say_whether_a_job_exists_nothing_is_decided():
    api = FakeApi()
    add_run(api, "etl")
    op = Operator(api)
    asyncio.run(op.reconcile("etl"))
    before = status(api, "etl")
    op.jobs.jobs_listed(NS, [])
    api.fail("GET", "jobs", 503, "the server is currently unable to handle the request", times=3)
    asyncio.run(op.reconcile("etl"))
    assert status(api, "etl") == before
    assert len(api.jobs()) == 1


def test_a_job_the_api_server_confirms_deleted_fails_its_attempt_and_the_run():
    api = FakeApi()
    add_run(api, "etl")
    op = Operator(api)
    asyncio.run(op.reconcile("etl"))
    job = job_of(api, "etl", "a")
    api.objects.pop(f"{JOBS}/{job}")
    op.jobs.job_event("DELETED", {"metadata": {"name": job, "namespace": NS, "labels": {
        "dagwright.io/run": "etl", "dagwright.io/task": "a", "dagwright.io/attempt": "1"}}})
    asyncio.run(op.reconcile("etl"))
    assert task_phases(api, "etl") == {"a": "Failed", "b": "Skipped"}
    assert status(api, "etl")["tasks"]["a"]["message"] == f"attempt 1 failed: its Job {job} was deleted"
    assert status(api, "etl")["phase"] == "Failed"
    assert "RunFailed" in reasons(api)


def test_an_invalid_run_fails_once_with_an_event_naming_the_problem_and_creates_nothing():
    api = FakeApi()
    add_run(api, "broken", tasks=[{"name": "a", "dependsOn": ["ghost"], "container": {"image": "busybox"}}])
    op = Operator(api)
    asyncio.run(op.reconcile("broken"))
    assert status(api, "broken")["phase"] == "Failed"
    assert "ghost" in status(api, "broken")["message"]
    assert api.jobs() == {}
    assert reasons(api) == ["InvalidSpec", "RunFailed"]  # RunFailed too: alerts on failed runs see it
    assert "ghost" in [e for e in api.events if e["reason"] == "RunFailed"][0]["message"]
    asyncio.run(op.reconcile("broken"))
    assert reasons(api) == ["InvalidSpec", "RunFailed"]


# ----------------------------------------------------------------- largeOutputs

LARGE = [{"name": "a", "largeOutputs": True, "container": {"image": "busybox", "command": ["list-files"]}},
         {"name": "b", "dependsOn": ["a"],
          "container": {"image": "busybox", "command": ["load"], "args": ["{{ tasks.a.outputs.blob }}"]}}]
PODS = f"/api/v1/namespaces/{NS}/pods"


def finish_with_large_outputs(api: FakeApi, op: Operator, job: str, data: bytes, printed: bool = True) -> None:
    """Job `job` succeeded, its pod having run the largeOutputs wrapper on `data` (the outputs file)."""
    import base64
    import hashlib
    import json
    import textwrap
    lines = textwrap.wrap(base64.b64encode(data).decode(), 76) if printed else []
    manifest = json.dumps({"dagwright.io/outputs-in-log": {
        "bytes": len(data), "lines": len(lines), "sha256": hashlib.sha256(data).hexdigest()}})
    api.add(f"{PODS}/{job}-pod", {"metadata": {"name": f"{job}-pod", "namespace": NS, "labels": {"job-name": job}},
                                  "status": {"phase": "Succeeded", "containerStatuses": [{"name": "main", "state": {
                                      "terminated": {"exitCode": 0, "message": manifest}}}]}})
    block = "\n::dagwright-outputs-begin::\n" + "".join(f"{line}\n" for line in lines) + "::dagwright-outputs-end::\n"
    api.logs[f"{job}-pod"] = "a long log\n" * 5000 + (block if printed else "")
    complete(api, op, job)


def test_large_outputs_go_from_the_log_into_a_configmap_and_into_the_dependent_never_into_the_status():
    import json
    api = FakeApi()
    add_run(api, "etl", LARGE)
    op = Operator(api)
    asyncio.run(op.reconcile("etl"))
    job_a = job_of(api, "etl", "a")
    blob = "x" * 100_000
    finish_with_large_outputs(api, op, job_a, json.dumps({"blob": blob, "rows": 7}).encode())
    asyncio.run(op.reconcile("etl"))
    asyncio.run(op.reconcile("etl"))
    a = status(api, "etl")["tasks"]["a"]
    assert a["phase"] == "Succeeded" and a["outputsRef"] == f"{job_a}-outputs" and "outputs" not in a
    configmap = api.objects[f"/api/v1/namespaces/{NS}/configmaps/{job_a}-outputs"]
    assert configmap["immutable"] is True
    assert configmap["metadata"]["ownerReferences"][0]["kind"] == "WorkflowRun"
    assert json.loads(configmap["data"]["outputs.json"])["blob"] == blob
    b = api.jobs()[job_of(api, "etl", "b")]
    assert b["spec"]["template"]["spec"]["containers"][0]["args"] == [blob]
    assert len(json.dumps(status(api, "etl"))) < 4096  # the 100 KB stayed out of the status


def test_a_restarted_operator_renders_large_outputs_from_the_configmap_when_the_pod_is_gone():
    import json
    api = FakeApi()
    add_run(api, "etl", LARGE)
    op = Operator(api)
    asyncio.run(op.reconcile("etl"))
    job_a = job_of(api, "etl", "a")
    finish_with_large_outputs(api, op, job_a, json.dumps({"blob": "y" * 5000}).encode())
    asyncio.run(op.reconcile("etl"))
    api.objects.pop(f"{PODS}/{job_a}-pod")  # the pod is gone; the Job of b too, as if b never started
    for name in [n for n in api.jobs() if n != job_a]:
        api.objects.pop(f"{JOBS}/{name}")
    api.objects[f"{RUNS}/etl"]["status"]["tasks"]["b"] = {"phase": "Pending", "attempts": 0}
    restarted = Operator(api)
    restarted.see_jobs()
    asyncio.run(restarted.reconcile("etl"))
    b = api.jobs()[job_of(api, "etl", "b")]
    assert b["spec"]["template"]["spec"]["containers"][0]["args"] == ["y" * 5000]


def test_oversized_large_outputs_fail_the_attempt_with_their_real_size_without_reading_the_log():
    api = FakeApi()
    add_run(api, "etl", [LARGE[0]])
    op = Operator(api)
    asyncio.run(op.reconcile("etl"))
    job_a = job_of(api, "etl", "a")
    finish_with_large_outputs(api, op, job_a, b'{"a": "' + b"z" * 300_000 + b'"}', printed=False)
    asyncio.run(op.reconcile("etl"))
    a = status(api, "etl")["tasks"]["a"]
    assert a["phase"] == "Failed"
    assert a["message"] == "attempt 1 failed: outputs too large: 300009 bytes (limit 262144)"
    assert ("GET", "pods/log") not in api.calls


def test_a_log_that_cannot_be_read_is_retried_then_fails_the_attempt_instead_of_waiting_forever():
    import json
    api = FakeApi()
    add_run(api, "etl", LARGE)
    op = Operator(api)
    asyncio.run(op.reconcile("etl"))
    job_a = job_of(api, "etl", "a")
    finish_with_large_outputs(api, op, job_a, json.dumps({"blob": "b"}).encode())
    api.fail("GET", "pods/log", 500, "no kubelet serves this node's logs", times=10)
    for _ in range(4):  # each pass stops at the error and writes nothing about the attempt
        asyncio.run(op.reconcile("etl"))
        assert task_phases(api, "etl")["a"] == "Running"
    asyncio.run(op.reconcile("etl"))
    a = status(api, "etl")["tasks"]["a"]
    assert a["phase"] == "Failed"
    assert a["message"] == ("attempt 1 failed: could not read the outputs from the task's log: "
                            "no kubelet serves this node's logs")
    assert task_phases(api, "etl")["b"] == "Skipped"


def test_large_outputs_of_a_bare_task_pod_are_read_from_the_pod_named_like_the_attempt():
    import base64
    import hashlib
    import json

    from dagwright.controller.largeoutputs import LargeOutputs
    from dagwright.render.large_outputs import LogManifest

    api = FakeApi()
    data = json.dumps({"files": ["a", "b"]}).encode()
    api.add(f"{PODS}/etl-a-1", {"metadata": {"name": "etl-a-1", "namespace": NS}, "status": {"phase": "Succeeded"}})
    api.logs["etl-a-1"] = ("\n::dagwright-outputs-begin::\n" + base64.b64encode(data).decode()
                           + "\n::dagwright-outputs-end::\n")
    manifest = LogManifest(len(data), 1, hashlib.sha256(data).hexdigest())
    collected = asyncio.run(LargeOutputs(api).collect(NS, "etl", "uid-9", "a", "etl-a-1", manifest))  # type: ignore[arg-type]
    assert (collected.ref, collected.error) == ("etl-a-1-outputs", None)
    stored = api.objects[f"/api/v1/namespaces/{NS}/configmaps/etl-a-1-outputs"]
    assert json.loads(stored["data"]["outputs.json"]) == {"files": ["a", "b"]}
