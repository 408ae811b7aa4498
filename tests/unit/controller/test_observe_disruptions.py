"""How a disruption (eviction, preemption, node shutdown) is told from a code failure:
structured facts (Job condition reason, pod condition DisruptionTarget), never message text."""

from __future__ import annotations

import pytest

from dagwright.kube.jobindex import keep_detail, merge_pod_facts
from dagwright.kube.observe import observe_job, observe_pod
from dagwright.planner.snapshot import FailureKind, JobState

from .test_observe_and_patch import SEEN, job

# What the Job controller writes when our podFailurePolicy rule (DisruptionTarget) matched.
BY_POLICY = {"type": "Failed", "status": "True", "reason": "PodFailurePolicy",
             "message": "Pod n/r-a-1-x has condition DisruptionTarget matching FailJob rule at index 0"}
EVICTED = {"type": "DisruptionTarget", "status": "True", "reason": "EvictionByEvictionAPI",
           "message": "Eviction API: evicting"}
KILLED = {"name": "main", "state": {"terminated": {"exitCode": 137, "reason": "Error"}}}


def pod(conditions: list[dict], containers: list[dict], phase: str = "Failed") -> dict:
    return {"metadata": {"namespace": "n", "labels": {"dagwright.io/run": "r", "batch.kubernetes.io/job-name": "r-a-1"}},
            "status": {"phase": phase, "conditions": conditions, "containerStatuses": containers}}


@pytest.mark.parametrize("condition, kind", [
    pytest.param(BY_POLICY, FailureKind.DISRUPTED, id="the-pod-failure-policy-reason-is-a-disruption"),
    pytest.param({**BY_POLICY, "type": "FailureTarget"}, FailureKind.DISRUPTED, id="already-at-failure-target"),
    pytest.param({"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                  "message": "DisruptionTarget"}, FailureKind.JOB, id="a-message-naming-disruption-is-not-one"),
])
def test_a_jobs_failure_kind_comes_from_its_condition_reason(condition, kind):
    observed = observe_job(job([condition]), SEEN)
    assert (observed.state, observed.failure_kind) == (JobState.FAILED, kind)


@pytest.mark.parametrize("conditions, containers, kind, exit_code", [
    pytest.param([EVICTED], [KILLED], FailureKind.DISRUPTED, None, id="evicted-and-killed-is-a-disruption"),
    pytest.param([{**EVICTED, "status": "False"}], [KILLED], FailureKind.EXIT, 137, id="a-false-condition-is-not"),
    pytest.param([], [{"name": "main", "state": {"terminated": {"exitCode": 3}}}], FailureKind.EXIT, 3,
                 id="an-exit-code-is-kept-as-a-number"),
])
def test_a_failed_pod_says_whether_it_was_disrupted(conditions, containers, kind, exit_code):
    _key, facts = observe_pod(pod(conditions, containers), SEEN)
    assert (facts.failure_kind, facts.exit_code) == (kind, exit_code)


def test_a_running_pod_being_evicted_is_not_a_failure_yet():
    assert observe_pod(pod([EVICTED], [], phase="Running"), SEEN) is None


def test_the_pods_disruption_replaces_a_plain_job_failure_and_stays():
    plain = observe_job(job([{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}]), SEEN)
    _key, facts = observe_pod(pod([EVICTED], [KILLED]), SEEN)
    merged = merge_pod_facts(plain, facts)
    assert merged.failure_kind is FailureKind.DISRUPTED
    assert merged.failure == "disrupted: EvictionByEvictionAPI: Eviction API: evicting"
    assert keep_detail(merged, plain).failure_kind is FailureKind.DISRUPTED


def test_an_exit_code_from_the_pod_reaches_the_job():
    plain = observe_job(job([{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}]), SEEN)
    _key, facts = observe_pod(pod([], [{"name": "main", "state": {"terminated": {"exitCode": 3}}}]), SEEN)
    merged = merge_pod_facts(plain, facts)
    assert (merged.failure_kind, merged.exit_code) == (FailureKind.EXIT, 3)


def test_the_pods_disruption_reason_replaces_the_job_controllers_rule_text():
    by_policy = observe_job(job([BY_POLICY]), SEEN)
    _key, facts = observe_pod(pod([EVICTED], [KILLED]), SEEN)
    merged = merge_pod_facts(by_policy, facts)
    assert (merged.failure_kind, merged.failure) == (
        FailureKind.DISRUPTED, "disrupted: EvictionByEvictionAPI: Eviction API: evicting")


def test_a_job_disrupted_by_policy_is_not_turned_into_an_exit_code():
    by_policy = observe_job(job([BY_POLICY]), SEEN)
    _key, facts = observe_pod(pod([], [KILLED]), SEEN)
    assert merge_pod_facts(by_policy, facts).failure_kind is FailureKind.DISRUPTED
