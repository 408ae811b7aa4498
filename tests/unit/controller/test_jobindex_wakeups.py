"""Which watch events wake a run: only those that can change what the planner decides."""

from __future__ import annotations

from dagwright.kube.jobindex import JobIndex

RUN = ("n", "r")
LABELS = {"dagwright.io/run": "r", "dagwright.io/task": "a", "dagwright.io/attempt": "1"}


def job(**status) -> dict:
    return {"metadata": {"name": "r-a-1", "namespace": "n", "labels": LABELS}, "spec": {}, "status": status}


def complete(kind: str = "Complete") -> dict:
    return job(startTime="2026-11-24T02:00:00Z",
               conditions=[{"type": kind, "status": "True", "lastTransitionTime": "2026-11-24T02:00:04Z"}])


def pod(phase: str, exit_code: int = 0) -> dict:
    labels = {"dagwright.io/run": "r", "batch.kubernetes.io/job-name": "r-a-1"}
    terminated = {"exitCode": exit_code, "reason": "Completed" if exit_code == 0 else "Error"}
    return {"metadata": {"name": "r-a-1-xyz", "namespace": "n", "labels": labels},
            "status": {"phase": phase, "containerStatuses": [{"name": "main", "state": {"terminated": terminated}}]}}


def index() -> tuple[JobIndex, list]:
    woken: list = []
    return JobIndex(http=None, namespaces=["n"], on_change=woken.append), woken  # type: ignore[arg-type]


def test_a_new_job_and_its_completion_wake_the_run_but_its_start_time_does_not():
    jobs, woken = index()
    jobs.job_event("ADDED", job())
    jobs.job_event("MODIFIED", job(startTime="2026-11-24T02:00:00Z", active=1))
    assert woken == [RUN]
    jobs.job_event("MODIFIED", complete())
    assert woken == [RUN, RUN]
    assert jobs.jobs_of(RUN)["a"][0].state.value == "Succeeded"


def test_once_the_pod_has_said_it_succeeded_the_jobs_completion_wakes_nothing():
    jobs, woken = index()
    jobs.job_event("ADDED", job())
    jobs.pod_event("MODIFIED", pod("Succeeded"))
    assert woken == [RUN, RUN]
    jobs.job_event("MODIFIED", complete("SuccessCriteriaMet"))
    jobs.job_event("MODIFIED", complete("Complete"))
    assert woken == [RUN, RUN]
    assert jobs.jobs_of(RUN)["a"][0].state.value == "Succeeded"


def test_a_failed_job_wakes_the_run_even_after_its_failed_pod():
    jobs, woken = index()
    jobs.job_event("ADDED", job())
    jobs.pod_event("MODIFIED", pod("Failed", exit_code=3))
    jobs.job_event("MODIFIED", job(conditions=[{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}]))
    assert woken == [RUN, RUN, RUN]
    failed = jobs.jobs_of(RUN)["a"][0]
    assert (failed.state.value, failed.failure) == ("Failed", "exit code 3")


def test_a_deleted_job_wakes_the_run():
    jobs, woken = index()
    jobs.job_event("ADDED", job())
    jobs.job_event("DELETED", job())
    assert woken == [RUN, RUN]
    assert jobs.jobs_of(RUN) == {}


def waiting_pod(reason: str, message: str = "") -> dict:
    labels = {"dagwright.io/run": "r", "batch.kubernetes.io/job-name": "r-a-1"}
    return {"metadata": {"name": "r-a-1-xyz", "namespace": "n", "labels": labels,
                         "creationTimestamp": "2026-11-24T02:00:00Z"},
            "status": {"phase": "Pending",
                       "containerStatuses": [{"name": "main", "state": {"waiting": {"reason": reason, "message": message}}}]}}


def test_a_pod_that_cannot_start_wakes_the_run_and_its_job_carries_why_until_it_runs():
    jobs, woken = index()
    jobs.job_event("ADDED", job(startTime="2026-11-24T02:00:00Z", active=1))
    jobs.pod_event("MODIFIED", waiting_pod("ErrImagePull", "connection refused"))
    assert woken == [RUN, RUN]
    assert jobs.jobs_of(RUN)["a"][0].waiting.reason == "ErrImagePull"
    jobs.pod_event("MODIFIED", waiting_pod("ErrImagePull", "connection refused"))  # nothing new
    assert woken == [RUN, RUN]
    jobs.pod_event("MODIFIED", waiting_pod("ImagePullBackOff", "Back-off pulling image"))
    assert woken == [RUN, RUN, RUN]
    running = waiting_pod("x")
    running["status"] = {"phase": "Running", "containerStatuses": [{"name": "main", "state": {"running": {}}}]}
    jobs.pod_event("MODIFIED", running)
    assert jobs.jobs_of(RUN)["a"][0].waiting is None
