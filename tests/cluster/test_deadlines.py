"""Deadlines from the schedule on a real API server: a late run is marked, and notified, while it still runs."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from .kube import container_task as task
from .operator_process import free_port
from .test_metrics import scrape
from .test_notifications import Receiver

SLOW = {"sim.dagwright.io/duration": "20s"}


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def condition(kube, name: str, type_: str) -> dict | None:
    status = kube.run(name).get("status") or {}
    return next((c for c in status.get("conditions") or [] if c["type"] == type_), None)


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def late_spec(url: str, after: str) -> dict:
    return {"tasks": [task("load", annotations=SLOW)], "deadline": {"after": after, "from": "start"},
            "notifications": [{"on": ["DeadlineMissed"], "webhook": {"url": url}}]}


def assert_missed_once_and_notified_while_running(kube, receiver, name: str) -> None:
    missed = kube.wait_for("DeadlineMissed condition", lambda: condition(kube, name, "DeadlineMissed"), timeout=30)
    assert missed["status"] == "True"
    payload = kube.wait_for("DeadlineMissed notification", lambda: receiver.payloads and receiver.payloads[0], timeout=30)
    assert (payload["event"], payload["run"], payload["phase"]) == ("DeadlineMissed", name, "Running")
    assert kube.run(name)["status"]["phase"] == "Running"  # notified before the run ended
    assert kube.wait_for_phase(name)["status"]["phase"] == "Succeeded"
    kube.wait_for("RunSucceeded event", lambda: "RunSucceeded" in kube.event_reasons(name))
    assert kube.event_reasons(name).count("DeadlineMissed") == 1
    assert [p["event"] for p in receiver.payloads] == ["DeadlineMissed"]
    assert condition(kube, name, "DeadlineNotified")["status"] == "True"
    assert condition(kube, name, "DeadlineMissed")["status"] == "True"  # kept after the run finished


def test_a_run_past_its_deadline_is_marked_and_notified_at_that_moment_while_still_running(kube, operator, receiver):
    port = free_port()
    operator.stop()
    operator.extra_args = ["--metrics-port", str(port), "--metrics-address", "127.0.0.1"]
    operator.start()
    kube.create_run("late", spec=late_spec(receiver.url, "3s"))
    started = when(kube.wait_for_phase("late", ("Running",))["status"]["startedAt"])
    missed = kube.wait_for("DeadlineMissed condition", lambda: condition(kube, "late", "DeadlineMissed"), timeout=30)
    # at the deadline itself (not at the end of the 20 s task): whole-second timestamps, a little slack
    assert timedelta(seconds=2) <= when(missed["lastTransitionTime"]) - started <= timedelta(seconds=6)
    event = next(e for e in kube.events("late") if e.reason == "DeadlineMissed")
    assert event.type == "Warning" and "deadline" in event.message
    assert_missed_once_and_notified_while_running(kube, receiver, "late")
    assert scrape(port)["dagwright_deadlines_missed_total"] == 1


def test_a_deadline_passed_while_the_operator_was_down_is_marked_once_after_restarts(kube, operator, receiver):
    kube.create_run("down", spec=late_spec(receiver.url, "5s"))
    started = when(kube.wait_for_phase("down", ("Running",))["status"]["startedAt"])
    operator.kill()
    time.sleep(max((started + timedelta(seconds=8) - datetime.now(UTC)).total_seconds(), 0))
    assert condition(kube, "down", "DeadlineMissed") is None
    operator.start()
    kube.wait_for("DeadlineNotified condition", lambda: condition(kube, "down", "DeadlineNotified"), timeout=30)
    operator.kill()  # and once more: the conditions, not memory, say it was done
    operator.start()
    assert_missed_once_and_notified_while_running(kube, receiver, "down")


def test_a_quick_run_and_a_backfill_of_last_month_are_not_late(kube, operator, receiver):
    spec = {"tasks": [task("quick")], "deadline": {"after": "1h"},
            "notifications": [{"on": ["DeadlineMissed"], "webhook": {"url": receiver.url}}]}
    month_ago = (datetime.now(UTC) - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    kube.create_run("quick", spec=spec)
    kube.create_run("backfill", spec=spec, logicalDate=month_ago)
    for name in ("quick", "backfill"):
        assert kube.wait_for_phase(name)["status"]["phase"] == "Succeeded"
        kube.wait_for("RunSucceeded event", lambda name=name: "RunSucceeded" in kube.event_reasons(name))
        assert condition(kube, name, "DeadlineMissed") is None
        assert "DeadlineMissed" not in kube.event_reasons(name)
    assert receiver.calls == 0
