"""`when:` conditions on a real API server: a false condition skips a task (no Job, its message
says why) and its dependents follow their trigger rules; a bad expression is Valid=False."""

from __future__ import annotations

from .kube import container_task as task


def test_a_false_condition_skips_the_task_without_a_job_and_a_none_failed_join_still_runs(kube, operator):
    check = task("check", annotations={"sim.dagwright.io/termination-message": '{"rows": 0, "changed": true}'})
    spec = {
        "params": [{"name": "env", "default": "prod"}],
        "tasks": [
            check,
            task("load", ["check"], when="tasks.check.outputs.rows > 0"),
            task("notify", ["check"], when="params.env == 'prod' and tasks.check.outputs.changed"),
            task("report", ["load", "notify"], triggerRule="NoneFailed"),
        ],
    }
    kube.create_run("cond", spec=spec)
    run = kube.wait_for_phase("cond")
    assert run["status"]["phase"] == "Succeeded", run["status"]
    assert kube.task_phases(run) == {"check": "Succeeded", "load": "Skipped", "notify": "Succeeded",
                                     "report": "Succeeded"}
    assert run["status"]["tasks"]["load"]["message"] == (
        "when 'tasks.check.outputs.rows > 0' is false (tasks.check.outputs.rows='0')")
    assert kube.attempt_keys("cond") == [("check", 1), ("notify", 1), ("report", 1)]
    assert "skipped: load" in kube.wait_for("the run's end told", lambda: kube.told_progress("cond"))


def test_a_condition_with_a_syntax_error_makes_the_run_invalid_naming_task_and_position(kube, operator):
    spec = {"tasks": [task("a"), task("b", ["a"], when="tasks.a.outputs.n => 1")]}
    kube.create_run("bad-cond", spec=spec)
    run = kube.wait_for_phase("bad-cond")
    assert run["status"]["phase"] == "Failed"
    valid = next(c for c in run["status"]["conditions"] if c["type"] == "Valid")
    assert valid["status"] == "False" and valid["reason"] == "InvalidSpec"
    assert "spec.tasks[1] (b).when: unexpected character '=' at position 19" in valid["message"], valid
    assert kube.jobs("bad-cond") == []
