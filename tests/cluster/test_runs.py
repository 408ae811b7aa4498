"""The operator against a real API server: Jobs created, run status, Events — as users check them."""

from __future__ import annotations

import time

import pytest

from dagwright.api.names import job_name

from .kube import container_task as task

TASK_RESOURCE = "Job"  # these tests look at the runs' Jobs (the default, Pod, elsewhere: test_pod_mode.py)

FAIL = {"sim.dagwright.io/exit-code": "3"}


def pod_finished_at(kube, job):
    """When the Job's pod finished (its container's terminated.finishedAt)."""
    pods = kube.core.list_namespaced_pod(kube.ns, label_selector=f"job-name={job.metadata.name}").items
    assert len(pods) == 1
    return pods[0].status.container_statuses[0].state.terminated.finished_at


def chain(n: int = 3) -> list[dict]:
    return [task(f"t{i}", [f"t{i - 1}"] if i else None) for i in range(n)]


def test_a_linear_chain_runs_one_job_per_task_in_order(kube, operator):
    kube.apply_workflow("chain", {"tasks": chain(3)})
    kube.create_run("chain-1", workflow="chain")
    run = kube.wait_for_phase("chain-1")
    assert run["status"]["phase"] == "Succeeded"
    assert run["status"]["progress"] == "3/3"
    assert kube.attempt_keys("chain-1") == [("t0", 1), ("t1", 1), ("t2", 1)]
    jobs = {j.metadata.labels["dagwright.io/task"]: j for j in kube.jobs("chain-1")}
    assert pod_finished_at(kube, jobs["t0"]) <= jobs["t1"].metadata.creation_timestamp
    assert pod_finished_at(kube, jobs["t1"]) <= jobs["t2"].metadata.creation_timestamp
    assert jobs["t1"].metadata.owner_references[0].name == "chain-1"
    assert jobs["t1"].spec.backoff_limit == 0
    reasons = kube.wait_for("run events", lambda: (r := kube.event_reasons("chain-1")) and "RunSucceeded" in r and r)
    assert "TaskFailed" not in reasons and reasons.count("RunSucceeded") == 1
    assert all(f"t{i}" in kube.told_progress("chain-1") for i in range(3)), kube.told_progress("chain-1")
    assert run["status"]["workflowGeneration"] == 1
    assert run["status"]["tasks"]["t2"]["job"] == job_name("chain-1", "t2", 1)


def test_a_diamond_runs_both_branches_before_the_join(kube, operator):
    spec = {"tasks": [task("a"), task("b", ["a"]), task("c", ["a"]), task("d", ["b", "c"])]}
    kube.create_run("diamond", spec=spec)
    run = kube.wait_for_phase("diamond")
    assert run["status"]["phase"] == "Succeeded"
    jobs = {j.metadata.labels["dagwright.io/task"]: j for j in kube.jobs("diamond")}
    assert sorted(jobs) == ["a", "b", "c", "d"]
    assert max(pod_finished_at(kube, jobs["b"]), pod_finished_at(kube, jobs["c"])) <= jobs["d"].metadata.creation_timestamp


def test_a_failing_task_skips_its_dependents_and_fails_the_run(kube, operator):
    spec = {"tasks": [task("a", annotations=FAIL), task("b", ["a"]), task("c", ["b"])]}
    kube.create_run("failing", spec=spec)
    run = kube.wait_for_phase("failing")
    assert run["status"]["phase"] == "Failed"
    assert kube.task_phases(run) == {"a": "Failed", "b": "Skipped", "c": "Skipped"}
    assert run["status"]["tasks"]["a"]["message"].startswith("attempt 1 failed: exit code 3")
    assert kube.attempt_keys("failing") == [("a", 1)]
    kube.wait_for("failure events", lambda: {"TaskFailed", "RunFailed"} <= set(kube.event_reasons("failing")))


def test_an_all_done_join_runs_after_a_failure_and_the_run_still_fails(kube, operator):
    spec = {"tasks": [task("a", annotations=FAIL), task("cleanup", ["a"], triggerRule="AllDone")]}
    kube.create_run("alldone", spec=spec)
    run = kube.wait_for_phase("alldone")
    assert run["status"]["phase"] == "Failed"
    assert kube.task_phases(run) == {"a": "Failed", "cleanup": "Succeeded"}


def test_a_retry_succeeds_on_attempt_two_after_the_backoff(kube, operator):
    flaky = task("flaky", annotations={"sim.dagwright.io/fail-first-attempt": "true"},
                 retries={"limit": 2, "backoffSeconds": 2})
    kube.create_run("retry", spec={"tasks": [flaky]})
    run = kube.wait_for_phase("retry")
    assert run["status"]["phase"] == "Succeeded"
    assert run["status"]["tasks"]["flaky"]["attempts"] == 2
    assert kube.attempt_keys("retry") == [("flaky", 1), ("flaky", 2)]
    jobs = sorted(kube.jobs("retry"), key=lambda j: j.metadata.labels["dagwright.io/attempt"])
    failed_at = next(c.last_transition_time for c in jobs[0].status.conditions if c.type == "Failed")
    gap = (jobs[1].metadata.creation_timestamp - failed_at).total_seconds()
    assert gap >= 2 - 1  # creationTimestamp has whole-second resolution
    assert jobs[0].status.failed == 1
    kube.wait_for("retry event", lambda: "TaskRetrying" in kube.event_reasons("retry"))


def test_a_task_timeout_fails_the_attempt(kube, operator):
    slow = task("slow", annotations={"sim.dagwright.io/duration": "60s"}, timeoutSeconds=2)
    kube.create_run("timeout", spec={"tasks": [slow]})
    run = kube.wait_for_phase("timeout", timeout=30)
    assert run["status"]["phase"] == "Failed"
    assert "timed out after 2s" in run["status"]["tasks"]["slow"]["message"]


def test_max_parallel_tasks_is_never_exceeded(kube, operator):
    tasks = [task(f"p{i}", annotations={"sim.dagwright.io/duration": "1s"}) for i in range(6)]
    kube.create_run("parallel", spec={"tasks": tasks, "maxParallelTasks": 2})
    most = 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        pods = kube.core.list_namespaced_pod(kube.ns, label_selector="dagwright.io/run=parallel").items
        running = [p for p in pods if p.status.phase not in ("Succeeded", "Failed")]
        most = max(most, len(running))
        if (kube.run("parallel").get("status") or {}).get("phase") == "Succeeded":
            break
        time.sleep(0.05)
    assert kube.run("parallel")["status"]["phase"] == "Succeeded"
    assert len(kube.jobs("parallel")) == 6
    assert most == 2


def test_cancel_mid_run_stops_the_running_task_and_starts_no_more(kube, operator):
    spec = {"tasks": [task("long", annotations={"sim.dagwright.io/duration": "120s"}), task("after", ["long"])]}
    kube.create_run("cancel", spec=spec)
    kube.wait_for("long to run", lambda: kube.task_phases(kube.run("cancel")).get("long") == "Running")
    kube.patch_run("cancel", {"spec": {"cancel": True}})
    run = kube.wait_for_phase("cancel")
    assert run["status"]["phase"] == "Cancelled"
    assert kube.task_phases(run) == {"long": "Cancelled", "after": "Cancelled"}
    assert kube.attempt_keys("cancel") == [("long", 1)]
    kube.wait_for("job suspended", lambda: kube.jobs("cancel")[0].spec.suspend)


def test_editing_the_workflow_mid_run_leaves_the_run_unchanged(kube, operator):
    kube.apply_workflow("edit", {"tasks": [task("first", annotations={"sim.dagwright.io/duration": "6s"}),
                                           task("second", ["first"])]})
    kube.create_run("edit-1", workflow="edit")
    kube.wait_for("first running", lambda: kube.task_phases(kube.run("edit-1")).get("first") == "Running")
    kube.patch_workflow("edit", {"spec": {"tasks": [task("other")]}})
    run = kube.wait_for_phase("edit-1")
    assert run["status"]["phase"] == "Succeeded"
    assert kube.attempt_keys("edit-1") == [("first", 1), ("second", 1)]
    assert run["status"]["workflowGeneration"] == 1


def test_the_operator_killed_mid_run_and_restarted_finishes_with_one_job_per_attempt(kube, operator):
    # s1 lasts past the run's first status writes (2 s, then every 5 s) so that it is seen running
    tasks = [task(f"s{i}", [f"s{i - 1}"] if i else None,
                  annotations={"sim.dagwright.io/duration": "7s" if i == 1 else "1s"})
             for i in range(4)]
    tasks.append(task("flaky", ["s1"], annotations={"sim.dagwright.io/fail-first-attempt": "true"},
                      retries={"limit": 1, "backoffSeconds": 1}))
    kube.create_run("crash", spec={"tasks": tasks})
    kube.wait_for("s1 running", lambda: kube.task_phases(kube.run("crash")).get("s1") == "Running", timeout=30)
    operator.kill()
    time.sleep(8)  # s1 finishes while nobody watches
    operator.start()
    run = kube.wait_for_phase("crash", timeout=60)
    assert run["status"]["phase"] == "Succeeded"
    assert kube.attempt_keys("crash") == [("flaky", 1), ("flaky", 2), ("s0", 1), ("s1", 1), ("s2", 1), ("s3", 1)]


def test_two_runs_whose_run_and_task_names_join_alike_each_get_their_own_job(kube, operator):
    # 'etl' + 'daily-load' and 'etl-daily' + 'load' both used to want the Job 'etl-daily-load-1'
    kube.create_run("etl", spec={"tasks": [task("daily-load")]})
    kube.create_run("etl-daily", spec={"tasks": [task("load")]})
    for name in ("etl", "etl-daily"):
        run = kube.wait_for_phase(name)
        assert run["status"]["phase"] == "Succeeded", run["status"]
    assert kube.attempt_keys("etl") == [("daily-load", 1)]
    assert kube.attempt_keys("etl-daily") == [("load", 1)]
    owners = {j.metadata.name: j.metadata.owner_references[0].name for j in kube.jobs()}
    assert sorted(owners.values()) == ["etl", "etl-daily"]  # two Jobs, one per run


@pytest.mark.parametrize(
    "spec, expected",
    [
        ({"tasks": [task("a", ["b"]), task("b", ["a"])]}, "dependency cycle"),
        ({"tasks": [task("a", ["ghost"])]}, "unknown task 'ghost'"),
        ({"tasks": [{"name": "a", "container": {"image": "x", "args": ["{{ params.nope }}"]}}]}, "params.nope"),
        ({"tasks": [{"name": "a", "container": {"image": "x", "args": ["{{ 7*7 }}"]}}]},
         "spec.tasks[0] (a): not a template: '{{ 7*7 }}'"),
    ],
    ids=["a cycle", "an unknown dependency", "an unknown template parameter", "a template typo"],
)
def test_bad_input_fails_the_run_with_a_condition_and_event_naming_the_problem(kube, operator, spec, expected):
    kube.create_run("bad", spec=spec)
    run = kube.wait_for_phase("bad")
    assert run["status"]["phase"] == "Failed"
    assert expected in run["status"]["message"]
    condition = run["status"]["conditions"][0]
    assert (condition["type"], condition["status"], condition["reason"]) == ("Valid", "False", "InvalidSpec")
    assert kube.jobs("bad") == []
    events = kube.wait_for("InvalidSpec event", lambda: [e for e in kube.events("bad") if e.reason == "InvalidSpec"])
    assert expected in events[0].message
    operator.assert_alive()


def test_a_run_without_a_value_for_a_parameter_fails_naming_the_parameter(kube, operator):
    # (no webhook here: the controller refuses the run itself)
    kube.apply_workflow("needs-day", {"params": [{"name": "day"}],
                                      "tasks": [{"name": "a", "container": {"image": "x", "args": ["{{ params.day }}"]}}]})
    kube.create_run("no-day", workflow="needs-day")
    run = kube.wait_for_phase("no-day")
    assert run["status"]["phase"] == "Failed"
    assert "spec.params.day: no value" in run["status"]["message"]
    assert "unknown template variable" not in run["status"]["message"]
    assert kube.jobs("no-day") == []


def test_a_run_of_a_missing_workflow_fails_and_the_operator_goes_on(kube, operator):
    kube.create_run("orphan", workflow="does-not-exist")
    run = kube.wait_for_phase("orphan")
    assert "Workflow 'does-not-exist' not found" in run["status"]["message"]
    kube.create_run("fine", spec={"tasks": [task("a")]})
    assert kube.wait_for_phase("fine")["status"]["phase"] == "Succeeded"
