"""Reading Jobs and pods into planner facts, and the minimal status merge patch."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dagwright.controller.mergepatch import merge_patch
from dagwright.kube.jobindex import keep_detail, merge_pod_facts
from dagwright.kube.observe import PodFacts, describe_pod_failure, needs_pod_detail, observe_job, observe_pod
from dagwright.planner.snapshot import FailureKind, JobState

SEEN = datetime(2026, 11, 24, 2, 0, 5, 300000, tzinfo=UTC)


def job(conditions=None, suspend=False, **status):
    return {"metadata": {"name": "r-a-1", "namespace": "n",
                         "labels": {"dagwright.io/run": "r", "dagwright.io/task": "a", "dagwright.io/attempt": "1"}},
            "spec": {"suspend": suspend, "activeDeadlineSeconds": 30},
            "status": {"conditions": conditions or [], "startTime": "2026-11-24T02:00:00Z", **status}}


@pytest.mark.parametrize("conditions, state, failure, kind", [
    ([], JobState.ACTIVE, None, None),
    ([{"type": "Complete", "status": "True", "lastTransitionTime": "2026-11-24T02:00:04Z"}], JobState.SUCCEEDED, None, None),
    ([{"type": "SuccessCriteriaMet", "status": "True"}], JobState.SUCCEEDED, None, None),
    ([{"type": "Failed", "status": "True", "reason": "DeadlineExceeded"}], JobState.FAILED, "timed out after 30s",
     FailureKind.TIMED_OUT),
    ([{"type": "FailureTarget", "status": "True", "reason": "BackoffLimitExceeded",
       "message": "Job has reached the specified backoff limit"}], JobState.FAILED,
     "Job has reached the specified backoff limit", FailureKind.JOB),
], ids=["running", "complete", "success criteria met", "deadline exceeded", "backoff limit"])
def test_a_job_is_read_as_the_planner_needs_it(conditions, state, failure, kind):
    observed = observe_job(job(conditions), SEEN)
    assert (observed.state, observed.failure, observed.failure_kind, observed.task, observed.attempt) == \
        (state, failure, kind, "a", 1)


def test_a_finish_time_is_never_earlier_than_when_it_was_seen():
    observed = observe_job(job([{"type": "Complete", "status": "True", "lastTransitionTime": "2026-11-24T02:00:05Z"}]), SEEN)
    assert observed.finished_at == SEEN


def test_a_suspended_job_is_a_stopped_attempt():
    observed = observe_job(job(suspend=True), SEEN)
    assert observed.stopped and observed.failure_kind is FailureKind.STOPPED and not needs_pod_detail(observed)


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


def failed_pod(terminated: dict | None = None, reason: str | None = None) -> dict:
    status: dict = {"phase": "Failed"}
    if terminated is not None:
        status["containerStatuses"] = [{"name": "main", "state": {"terminated": terminated}}]
    if reason:
        status.update(reason=reason, message="The node was low on resource: memory.")
    return {"metadata": {"namespace": "n", "labels": {"dagwright.io/run": "r", "batch.kubernetes.io/job-name": "r-a-1"}},
            "status": status}


def test_a_pods_failure_kind_says_whether_it_knows_the_exit_code():
    _key, exited = observe_pod(failed_pod({"exitCode": 3, "reason": "Error"}), SEEN)
    _key, evicted = observe_pod(failed_pod(reason="Evicted"), SEEN)
    assert (exited.failure_kind, exited.failure) == (FailureKind.EXIT, "exit code 3")
    assert (evicted.failure_kind, evicted.failure) == (FailureKind.POD, "Evicted: The node was low on resource: memory.")


FAILED_BY_POLICY = [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                     "message": "Job has reached the specified backoff limit"}]


def test_the_exit_code_from_the_pod_replaces_what_the_job_condition_says():
    observed = observe_job(job(FAILED_BY_POLICY), SEEN)
    pod = PodFacts("r-a-1", False, SEEN, "OOMKilled (exit code 137)", None, FailureKind.EXIT)
    merged = merge_pod_facts(observed, pod)
    assert needs_pod_detail(observed)  # a Job condition, whatever its text, is not the pod's word
    assert (merged.failure, merged.failure_kind) == ("OOMKilled (exit code 137)", FailureKind.EXIT)
    again = keep_detail(merged, observed)  # the next Job event keeps the pod's detail
    assert (again.failure, again.failure_kind) == ("OOMKilled (exit code 137)", FailureKind.EXIT)


def test_a_timeout_is_not_overwritten_by_the_pod_it_killed():
    observed = observe_job(job([{"type": "Failed", "status": "True", "reason": "DeadlineExceeded"}]), SEEN)
    pod = PodFacts("r-a-1", False, SEEN, "exit code 143", None, FailureKind.EXIT)
    assert merge_pod_facts(observed, pod).failure == "timed out after 30s" and not needs_pod_detail(observed)
