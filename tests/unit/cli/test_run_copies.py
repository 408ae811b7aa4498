"""Every way a run is created or copied keeps what decides what its tasks compute.

Schedule fires, catch-up and backfill put the data interval into `spec.dataInterval`; `dagwright
retry` copies it with the parameters, the logical date and the workflow; the controller renders
`{{ run.dataIntervalStart }}`/`{{ run.dataIntervalEnd }}` from it (or, for runs made by an older
version, from the annotations they carry).
"""

from __future__ import annotations

from datetime import UTC, datetime

from dagwright.api.models import WorkflowRunSpec
from dagwright.api.runtime import run_data_interval
from dagwright.api.vocabulary import ANNOTATION_INTERVAL_END, ANNOTATION_INTERVAL_START
from dagwright.cli.retry import build_retry_run
from dagwright.controller.workflows import build_scheduled_run

WORKFLOW = {"metadata": {"name": "daily", "namespace": "data", "uid": "w-1"}, "spec": {}}
START, END = datetime(2026, 11, 1, 2, tzinfo=UTC), datetime(2026, 11, 2, 2, tzinfo=UTC)


def backfilled() -> dict:
    body = build_scheduled_run(WORKFLOW, "daily-20261102t020000z", END, (START, END), {"env": "prod"},
                               trigger="backfill")
    body["metadata"]["uid"] = "r-1"
    body["metadata"]["creationTimestamp"] = "2026-12-06T10:00:00Z"
    return body


def test_a_scheduled_or_backfilled_run_carries_its_data_interval_in_its_spec():
    spec = WorkflowRunSpec.model_validate(backfilled()["spec"])
    assert spec.data_interval is not None
    assert (spec.data_interval.start, spec.data_interval.end) == ("2026-11-01T02:00:00Z", "2026-11-02T02:00:00Z")
    assert run_data_interval(spec, {}) == ("2026-11-01T02:00:00Z", "2026-11-02T02:00:00Z")


def test_a_retry_keeps_interval_params_logical_date_and_workflow():
    original = backfilled()
    retry = build_retry_run(original, "daily-20261102t020000z-retry-1")
    assert retry["spec"] == {**original["spec"], "retryOf": {"name": "daily-20261102t020000z"}}
    assert retry["spec"]["dataInterval"] == {"start": "2026-11-01T02:00:00Z", "end": "2026-11-02T02:00:00Z"}
    assert retry["metadata"]["labels"]["dagwright.io/workflow"] == "daily"
    assert retry["metadata"]["ownerReferences"] == original["metadata"]["ownerReferences"]


def test_a_retry_of_a_run_made_by_an_older_version_turns_its_interval_annotations_into_the_spec():
    original = backfilled()
    del original["spec"]["dataInterval"]
    original["metadata"]["annotations"] = {ANNOTATION_INTERVAL_START: "2026-11-01T02:00:00Z",
                                           ANNOTATION_INTERVAL_END: "2026-11-02T02:00:00Z"}
    assert run_data_interval(WorkflowRunSpec.model_validate(original["spec"]), original["metadata"]["annotations"]) \
        == ("2026-11-01T02:00:00Z", "2026-11-02T02:00:00Z")
    retry = build_retry_run(original, "x-retry-1")
    assert retry["spec"]["dataInterval"] == {"start": "2026-11-01T02:00:00Z", "end": "2026-11-02T02:00:00Z"}


def test_a_retry_of_a_run_without_logical_date_keeps_the_one_its_tasks_saw():
    # such a run's tasks rendered {{ run.logicalDate }} as its creation time, not the retry's
    original = {"apiVersion": "dagwright.io/v1alpha1", "kind": "WorkflowRun",
                "metadata": {"name": "adhoc", "namespace": "data", "uid": "r-2",
                             "creationTimestamp": "2026-12-01T08:00:00Z"},
                "spec": {"workflowSpec": {"tasks": [{"name": "a", "container": {"image": "x"}}]}}}
    retry = build_retry_run(original, "adhoc-retry-1")
    assert retry["spec"]["logicalDate"] == "2026-12-01T08:00:00Z"
    assert "dataInterval" not in retry["spec"]
    # {{ workflow.name }} of an inline run is the run's name: the retry keeps the original's
    assert retry["metadata"]["labels"]["dagwright.io/workflow"] == "adhoc"


def test_a_retry_of_a_retry_points_at_its_direct_original_and_keeps_the_rest():
    first = build_retry_run(backfilled(), "daily-20261102t020000z-retry-1")
    first["metadata"].update(uid="r-3", creationTimestamp="2026-12-06T11:00:00Z")
    second = build_retry_run(first, "daily-20261102t020000z-retry-1-retry-1")
    assert second["spec"]["retryOf"] == {"name": "daily-20261102t020000z-retry-1"}
    assert second["spec"]["dataInterval"] == first["spec"]["dataInterval"]
    assert second["spec"]["logicalDate"] == "2026-11-02T02:00:00Z"
    assert second["spec"]["params"] == {"env": "prod"}


def test_a_run_without_interval_renders_its_logical_date_for_both_ends():
    assert run_data_interval(WorkflowRunSpec.model_validate({"workflowRef": {"name": "x"}}), {}) is None
