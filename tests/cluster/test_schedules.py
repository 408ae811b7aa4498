"""Cron schedules on a real API server: fires, restarts after missed fires, policies, history."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from .kube import GROUP, VERSION
from .kube import container_task as task

EVERY_MINUTE = "* * * * *"


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def scheduled(kube, name: str, **spec) -> dict:
    body = {"schedule": EVERY_MINUTE, "tasks": [task("only")], **spec}
    return kube.apply_workflow(name, body)


def clear_of_a_minute_boundary(margin_seconds: int = 20) -> None:
    """Wait, if need be, until the next minute boundary is at least `margin_seconds` away.

    A test that reasons about "the current minute" must not have it change under it while the
    operator starts (a couple of seconds)."""
    now = datetime.now(UTC)
    if now.second + now.microsecond / 1e6 > 60 - margin_seconds:
        time.sleep(60.5 - now.second - now.microsecond / 1e6)


def pretend_last_fire(kube, name: str, minutes_ago: int) -> datetime:
    """As if the operator last fired `minutes_ago` minutes back and has been down since."""
    last = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=minutes_ago)
    kube.custom.patch_namespaced_custom_object_status(GROUP, VERSION, kube.ns, "workflows", name,
                                                      {"status": {"lastScheduleTime": stamp(last)}})
    return last


def runs_of(kube, workflow: str) -> list[dict]:
    items = kube.custom.list_namespaced_custom_object(GROUP, VERSION, kube.ns, "workflowruns")["items"]
    return sorted((r for r in items if r["spec"].get("workflowRef", {}).get("name") == workflow),
                  key=lambda r: r["spec"]["logicalDate"])


def workflow_events(kube, name: str) -> list:
    return [e for e in kube.events(name) if e.involved_object.kind == "Workflow"]


def test_a_restart_without_catchup_creates_one_run_for_the_latest_missed_fire(kube, operator):
    operator.stop()
    scheduled(kube, "nightly", catchup=False)
    clear_of_a_minute_boundary()
    last = pretend_last_fire(kube, "nightly", 4)
    latest_missed = last + timedelta(minutes=4)  # the current minute, which the operator starts within
    operator.start()
    kube.wait_for("one run", lambda: runs_of(kube, "nightly"))
    time.sleep(1)
    runs = [r for r in runs_of(kube, "nightly") if r["spec"]["logicalDate"] <= stamp(latest_missed)]
    assert [r["spec"]["logicalDate"] for r in runs] == [stamp(latest_missed)]
    assert runs[0]["metadata"]["ownerReferences"][0]["kind"] == "Workflow"
    assert runs[0]["spec"]["dataInterval"]["end"] == runs[0]["spec"]["logicalDate"]
    messages = kube.wait_for("missed-fires event", lambda: [e.message for e in workflow_events(kube, "nightly")
                                                           if "skipped" in e.message.lower()])
    assert any(m.startswith("skipped 3 fire times") for m in messages), messages
    assert kube.wait_for_phase(runs[0]["metadata"]["name"])["status"]["phase"] == "Succeeded"


def test_a_restart_with_catchup_creates_one_run_per_missed_fire_oldest_first(kube, operator):
    operator.stop()
    scheduled(kube, "hourly", catchup=True, maxActiveRuns=2)
    last = pretend_last_fire(kube, "hourly", 4)
    operator.start()
    runs = kube.wait_for("four runs", lambda: (r := runs_of(kube, "hourly")) and len(r) >= 4 and r)
    dates = [r["spec"]["logicalDate"] for r in runs]
    assert dates[:4] == [stamp(last + timedelta(minutes=i)) for i in range(1, 5)]
    # each catch-up run processes its own interval: previous fire -> its fire
    assert [(r["spec"]["dataInterval"]["start"], r["spec"]["dataInterval"]["end"]) for r in runs[:4]] == [
        (stamp(last + timedelta(minutes=i - 1)), stamp(last + timedelta(minutes=i))) for i in range(1, 5)]
    for run in runs:
        assert kube.wait_for_phase(run["metadata"]["name"])["status"]["phase"] == "Succeeded"
    names = [r["metadata"]["name"] for r in runs]
    assert len(set(names)) == len(names)


def test_forbid_skips_a_fire_while_a_run_is_active_and_replace_cancels_it(kube, operator):
    operator.stop()
    slow = [task("slow", annotations={"sim.dagwright.io/duration": "600s"})]
    kube.apply_workflow("forbid", {"schedule": EVERY_MINUTE, "concurrencyPolicy": "Forbid", "tasks": slow})
    kube.apply_workflow("replace", {"schedule": EVERY_MINUTE, "concurrencyPolicy": "Replace", "tasks": slow})
    clear_of_a_minute_boundary()
    for name in ("forbid", "replace"):
        pretend_last_fire(kube, name, 1)
    operator.start()
    first = {n: kube.wait_for(f"{n} run", lambda n=n: runs_of(kube, n))[0]["metadata"]["name"] for n in ("forbid", "replace")}
    for name in first.values():
        kube.wait_for_phase(name, ("Running",))
    # the next fire comes at the next minute boundary
    replaced = kube.wait_for("replace's first run cancelled",
                             lambda: kube.run(first["replace"])["status"]["phase"] == "Cancelled", timeout=75)
    assert replaced
    assert len(runs_of(kube, "replace")) >= 2
    assert len(runs_of(kube, "forbid")) == 1
    assert kube.run(first["forbid"])["status"]["phase"] == "Running"
    kube.wait_for("forbid skip event", lambda: any("Forbid" in e.message or "forbid" in e.message.lower()
                                                   for e in workflow_events(kube, "forbid")))


def test_a_suspended_workflow_creates_no_runs(kube, operator):
    operator.stop()
    scheduled(kube, "paused", suspend=True)
    pretend_last_fire(kube, "paused", 3)
    operator.start()
    wf = kube.wait_for("next schedule time", lambda: (w := kube.custom.get_namespaced_custom_object(
        GROUP, VERSION, kube.ns, "workflows", "paused")).get("status", {}).get("nextScheduleTime") and w)
    assert wf["status"]["nextScheduleTime"] > stamp(datetime.now(UTC))
    assert runs_of(kube, "paused") == []


def succeeded_runs(kube, prefix: str) -> set[str]:
    return {e.involved_object.name for e in kube.core.list_namespaced_event(kube.ns).items
            if e.involved_object.kind == "WorkflowRun" and e.reason == "RunSucceeded"
            and e.involved_object.name.startswith(prefix)}


def test_history_limits_garbage_collect_old_finished_runs(kube, operator):
    operator.stop()
    scheduled(kube, "history", catchup=True, successfulRunsHistoryLimit=2)
    pretend_last_fire(kube, "history", 5)
    operator.start()
    # runs finish within a second and the oldest are deleted at once, so count the runs that
    # succeeded by their Events (which outlive the runs), not the Jobs alive at one moment
    kube.wait_for("five runs succeeded", lambda: len(succeeded_runs(kube, "history-")) >= 5)
    remaining = kube.wait_for("only two runs kept", lambda: (r := runs_of(kube, "history")) and len(r) == 2 and r)
    assert all(r["status"]["phase"] == "Succeeded" for r in remaining)
    assert [r["spec"]["logicalDate"] for r in remaining] == sorted(r["spec"]["logicalDate"] for r in remaining)
    kube.wait_for("the workflow's last run phase", lambda: (kube.custom.get_namespaced_custom_object(
        GROUP, VERSION, kube.ns, "workflows", "history").get("status") or {}).get("lastRunPhase") == "Succeeded")


def test_an_invalid_timezone_is_a_condition_and_event_and_other_workflows_go_on(kube, operator):
    kube.apply_workflow("mars", {"schedule": EVERY_MINUTE, "timezone": "Mars/Olympus", "tasks": [task("a")]})
    wf = kube.wait_for("invalid condition", lambda: (w := kube.custom.get_namespaced_custom_object(
        GROUP, VERSION, kube.ns, "workflows", "mars")).get("status", {}).get("conditions") and w)
    condition = wf["status"]["conditions"][0]
    assert (condition["type"], condition["status"]) == ("Valid", "False")
    assert "Mars/Olympus" in condition["message"] and "spec.timezone" in condition["message"]
    kube.wait_for("InvalidSpec event", lambda: any(e.reason == "InvalidSpec" for e in workflow_events(kube, "mars")))
    kube.create_run("still-works", spec={"tasks": [task("a")]})
    assert kube.wait_for_phase("still-works")["status"]["phase"] == "Succeeded"
    operator.assert_alive()


def test_max_active_runs_queues_the_others_and_runs_them_one_at_a_time(kube, operator):
    slow = task("slow", annotations={"sim.dagwright.io/duration": "6s"})  # seen Running: past the first status write
    kube.apply_workflow("one-at-a-time", {"maxActiveRuns": 1, "tasks": [slow]})
    for day in (1, 2, 3):
        kube.create_run(f"day-{day}", workflow="one-at-a-time", logicalDate=f"2026-11-0{day}T00:00:00Z")
    kube.wait_for_phase("day-1", ("Running",))
    assert kube.wait_for_phase("day-2", ("Queued",))["status"]["message"] == "waiting for a slot (maxActiveRuns)"
    assert kube.wait_for_phase("day-3", ("Queued",))
    finished = [kube.wait_for_phase(f"day-{d}", timeout=60) for d in (1, 2, 3)]
    assert [r["status"]["phase"] for r in finished] == ["Succeeded"] * 3
    spans = sorted((r["status"]["startedAt"], r["status"]["finishedAt"]) for r in finished)
    assert all(spans[i][1] <= spans[i + 1][0] for i in range(2)), spans  # never two at once
    assert "RunQueued" in kube.event_reasons("day-3")


def test_backfill_creates_one_run_per_fire_time_in_the_range(kube, operator, kube_env):
    import subprocess
    import sys

    kube.apply_workflow("daily", {"schedule": "0 2 * * *", "timezone": "Europe/Berlin", "suspend": True,
                                  "tasks": [task("a")]})
    result = subprocess.run([sys.executable, "-m", "dagwright.cli.main", "backfill", "daily", "-n", kube.ns,
                             "--kubeconfig", kube_env["KUBECONFIG"], "--from", "2026-10-24T00:00:00Z",
                             "--to", "2026-10-26T23:59:59Z"], env=kube_env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    runs = kube.wait_for("three runs", lambda: (r := runs_of(kube, "daily")) and len(r) == 3 and r)
    # 02:00 Berlin is 00:00Z in summer time, 01:00Z in winter time; on 2026-10-25 the clock
    # goes back from 03:00 to 02:00, so 02:00 happens twice: it fires once, the first time.
    assert [r["spec"]["logicalDate"] for r in runs] == ["2026-10-24T00:00:00Z", "2026-10-25T00:00:00Z",
                                                        "2026-10-26T01:00:00Z"]
    for run in runs:
        assert kube.wait_for_phase(run["metadata"]["name"])["status"]["phase"] == "Succeeded"
