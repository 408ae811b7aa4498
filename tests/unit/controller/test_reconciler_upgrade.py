"""The reconciler and what older versions left behind: Jobs named `<run>-<task>-<attempt>`, data
intervals kept in annotations. Runs in flight during an upgrade carry on (`fakeapi.FakeApi`)."""

from __future__ import annotations

import asyncio

from dagwright.api.names import job_name
from dagwright.api.vocabulary import ANNOTATION_INTERVAL_END, ANNOTATION_INTERVAL_START

from .fakeapi import FakeApi
from .test_reconciler import JOBS, NS, RUNS, Operator, add_run, complete, status, task_phases

WINDOW = {"start": "2026-11-01T02:00:00Z", "end": "2026-11-02T02:00:00Z"}
SHOW_WINDOW = [{"name": "a", "container": {"image": "busybox",
                                           "args": ["{{ run.dataIntervalStart }}", "{{ run.dataIntervalEnd }}"]}}]


def args_of(api: FakeApi, job: str) -> list[str]:
    return api.objects[f"{JOBS}/{job}"]["spec"]["template"]["spec"]["containers"][0]["args"]


def test_a_job_named_by_an_older_version_is_adopted_by_its_labels_and_none_is_created_again():
    api = FakeApi()
    add_run(api, "etl")
    run = api.objects[f"{RUNS}/etl"]
    old = "etl-a-1"  # the old <run>-<task>-<attempt> name
    api.add(f"{JOBS}/{old}", {"apiVersion": "batch/v1", "kind": "Job", "metadata": {
        "name": old, "namespace": NS,
        "labels": {"dagwright.io/run": "etl", "dagwright.io/task": "a", "dagwright.io/attempt": "1"},
        "ownerReferences": [{"uid": run["metadata"]["uid"], "kind": "WorkflowRun", "name": "etl"}]},
        "spec": {}, "status": {"active": 1}})
    upgraded = Operator(api)
    upgraded.see_jobs()
    asyncio.run(upgraded.reconcile("etl"))
    assert list(api.jobs()) == [old]  # adopted: attempt 1 of a is not created under its new name
    assert status(api, "etl")["tasks"]["a"]["job"] == old
    complete(api, upgraded, old)
    asyncio.run(upgraded.reconcile("etl"))
    assert task_phases(api, "etl") == {"a": "Succeeded", "b": "Running"}
    assert sorted(api.jobs()) == sorted([old, job_name("etl", "b", 1)])  # new attempts get new names


def test_the_data_interval_of_the_spec_is_what_the_job_renders():
    api = FakeApi()
    add_run(api, "backfilled", tasks=SHOW_WINDOW, logicalDate=WINDOW["end"], dataInterval=WINDOW)
    asyncio.run(Operator(api).reconcile("backfilled"))
    assert args_of(api, job_name("backfilled", "a", 1)) == [WINDOW["start"], WINDOW["end"]]


def test_a_run_made_by_an_older_version_renders_the_interval_of_its_annotations():
    api = FakeApi()
    add_run(api, "old", tasks=SHOW_WINDOW, logicalDate=WINDOW["end"])
    api.objects[f"{RUNS}/old"]["metadata"]["annotations"] = {
        ANNOTATION_INTERVAL_START: WINDOW["start"], ANNOTATION_INTERVAL_END: WINDOW["end"]}
    asyncio.run(Operator(api).reconcile("old"))
    assert args_of(api, job_name("old", "a", 1)) == [WINDOW["start"], WINDOW["end"]]


def test_a_run_that_leaves_a_parameter_unset_fails_naming_it():
    api = FakeApi()
    add_run(api, "no-day", tasks=[{"name": "a", "container": {"image": "busybox", "args": ["{{ params.day }}"]}}])
    api.objects[f"{RUNS}/no-day"]["spec"]["workflowSpec"]["params"] = [{"name": "day"}]
    asyncio.run(Operator(api).reconcile("no-day"))
    assert status(api, "no-day")["phase"] == "Failed"
    assert "spec.params.day: no value" in status(api, "no-day")["message"]
    assert "unknown template variable" not in status(api, "no-day")["message"]
    assert api.jobs() == {}
