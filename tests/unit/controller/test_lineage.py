"""OpenLineage: the events a run's pass produces, sent by the openlineage-python client to a local
receiver that validates them against the RunEvent spec's required fields."""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from dagwright.api.models import TaskPhase, TaskStatus, WorkflowRunStatus
from dagwright.controller.lineage import LineageEmitter
from dagwright.planner.lineage import LineageState, lineage_events, task_run_id

from ..planner.sim import spec_of

STATES = {"START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER"}


def validate(event: dict[str, Any]) -> None:
    """The RunEvent rules of the OpenLineage spec (2-0-2) a receiver such as Marquez enforces."""
    assert event["eventType"] in STATES
    datetime.fromisoformat(event["eventTime"].replace("Z", "+00:00"))
    assert event["producer"].startswith("https://")
    assert event["schemaURL"].startswith("https://openlineage.io/spec/")
    uuid.UUID(event["run"]["runId"])
    assert event["job"]["namespace"] and event["job"]["name"]
    for dataset in event.get("inputs", []) + event.get("outputs", []):
        assert dataset["namespace"] and dataset["name"]


@pytest.fixture
def receiver():
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            try:
                validate(body)
                received.append({"path": self.path, **body})
                self.send_response(201)
            except (AssertionError, KeyError, ValueError):
                self.send_response(400)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", received
    server.shutdown()
    server.server_close()


SPEC = spec_of([
    {"name": "silver", "consumes": [{"name": "lake.bronze.orders"}], "produces": [{"name": "lake.silver.orders"}]},
    {"name": "plain"},
])


def status(phase: str | None) -> WorkflowRunStatus:
    tasks = {"plain": TaskStatus(phase=TaskPhase.RUNNING, attempts=1)}
    if phase:
        tasks["silver"] = TaskStatus(phase=phase, attempts=1, started_at="2026-11-24T02:00:00Z",
                                     finished_at=None if phase == "Running" else "2026-11-24T02:05:00Z")
    return WorkflowRunStatus(tasks=tasks)


def events(old: str | None, new: str):
    return lineage_events(SPEC, status(old), status(new), "r1", "uid-1", "wf", "data", "dagwright",
                          "2026-11-24T02:06:00Z")


@pytest.mark.parametrize(("old", "new", "state"), [
    (None, "Running", LineageState.START),
    ("Running", "Succeeded", LineageState.COMPLETE),
    ("Running", "Failed", LineageState.FAIL),
    ("Running", "Cancelled", LineageState.ABORT),
    ("Running", "Retrying", None),
    ("Retrying", "Running", None),
    ("Running", "Running", None),
])
def test_a_task_with_assets_sends_an_event_per_phase_change(old, new, state):
    found = events(old, new)
    assert [e.state for e in found] == ([state] if state else [])


def test_start_and_complete_of_a_task_share_one_run_id_with_its_datasets():
    (start,), (complete,) = events(None, "Running"), events("Running", "Succeeded")
    assert start.run_id == complete.run_id == task_run_id("uid-1", "silver")
    assert complete.job_name == "wf.silver" and complete.job_namespace == "dagwright/data"
    assert [d.name for d in complete.inputs] == ["lake.bronze.orders"]
    assert [d.name for d in complete.outputs] == ["lake.silver.orders"]
    assert complete.time == "2026-11-24T02:05:00Z"


def test_the_openlineage_client_delivers_valid_run_events_to_the_receiver(receiver):
    url, received = receiver
    emitter = LineageEmitter(url)
    emitter.emit(events(None, "Running") + events("Running", "Succeeded"))
    deadline = time.monotonic() + 10
    while len(received) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    emitter.stop()
    assert [e["eventType"] for e in received] == ["START", "COMPLETE"]
    assert {e["path"] for e in received} == {"/api/v1/lineage"}
    assert [(d["namespace"], d["name"]) for d in received[1]["outputs"]] == [("dagwright", "lake.silver.orders")]
    assert [(d["namespace"], d["name"]) for d in received[1]["inputs"]] == [("dagwright", "lake.bronze.orders")]
    assert received[0]["run"]["runId"] == received[1]["run"]["runId"]
    assert emitter.sent == 2 and emitter.failed == 0
