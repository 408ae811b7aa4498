"""Reading Jobs and pods into planner facts, and the minimal status merge patch."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dagwright.controller.mergepatch import merge_patch
from dagwright.kube.observe import describe_pod_failure, observe_job
from dagwright.planner.snapshot import JobState

SEEN = datetime(2026, 11, 24, 2, 0, 5, 300000, tzinfo=UTC)


def job(conditions=None, suspend=False, **status):
    return {"metadata": {"name": "r-a-1", "namespace": "n",
                         "labels": {"dagwright.io/run": "r", "dagwright.io/task": "a", "dagwright.io/attempt": "1"}},
            "spec": {"suspend": suspend, "activeDeadlineSeconds": 30},
            "status": {"conditions": conditions or [], "startTime": "2026-11-24T02:00:00Z", **status}}


@pytest.mark.parametrize("conditions, state, failure", [
    ([], JobState.ACTIVE, None),
    ([{"type": "Complete", "status": "True", "lastTransitionTime": "2026-11-24T02:00:04Z"}], JobState.SUCCEEDED, None),
    ([{"type": "SuccessCriteriaMet", "status": "True"}], JobState.SUCCEEDED, None),
    ([{"type": "Failed", "status": "True", "reason": "DeadlineExceeded"}], JobState.FAILED, "timed out after 30s"),
    ([{"type": "FailureTarget", "status": "True", "reason": "BackoffLimitExceeded",
       "message": "Job has reached the specified backoff limit"}], JobState.FAILED,
     "Job has reached the specified backoff limit"),
], ids=["running", "complete", "success criteria met", "deadline exceeded", "backoff limit"])
def test_a_job_is_read_as_the_planner_needs_it(conditions, state, failure):
    observed = observe_job(job(conditions), SEEN)
    assert (observed.state, observed.failure, observed.task, observed.attempt) == (state, failure, "a", 1)


def test_a_finish_time_is_never_earlier_than_when_it_was_seen():
    observed = observe_job(job([{"type": "Complete", "status": "True", "lastTransitionTime": "2026-11-24T02:00:05Z"}]), SEEN)
    assert observed.finished_at == SEEN


def test_a_suspended_job_is_a_stopped_attempt():
    assert observe_job(job(suspend=True), SEEN).stopped


def test_a_foreign_job_is_ignored():
    assert observe_job({"metadata": {"name": "x", "namespace": "n", "labels": {}}}, SEEN) is None


def test_a_pod_failure_names_the_exit_code_and_oom():
    pod = {"status": {"containerStatuses": [{"name": "main", "state": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}}]}}
    assert describe_pod_failure([pod]) == "OOMKilled (exit code 137)"
    pod["status"]["containerStatuses"][0]["state"]["terminated"] = {"exitCode": 2, "reason": "Error"}
    assert describe_pod_failure([pod]) == "exit code 2"


def test_the_status_patch_holds_only_what_changed():
    old = {"phase": "Running", "tasks": {"a": {"phase": "Running", "nextAttemptAt": "x"}, "b": {"phase": "Pending"}}}
    new = {"phase": "Running", "tasks": {"a": {"phase": "Succeeded"}, "b": {"phase": "Pending"}}}
    assert merge_patch(old, new) == {"tasks": {"a": {"phase": "Succeeded", "nextAttemptAt": None}}}
    assert merge_patch(new, new) == {}
