"""`dagwright watch` follows a run through a watch: what it asks the API server, and what it shows.

A scripted fake of the HTTP client stands in for the API server: each list answer and each
watch stream is given in order, and every request is recorded, so the tests check both what a
user sees (every version of the run, the exit code) and that the CLI lists once, watches with the
run's name as field selector from the listed resourceVersion, re-opens an expired watch and
re-lists after 410 Gone — instead of polling.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import urllib3

from dagwright.cli import watching
from dagwright.kube.errors import ApiError, ConnectionFailed, api_error
from dagwright.kube.follow import follow_object

PATH = "/apis/dagwright.io/v1alpha1/namespaces/data/workflowruns"


def run(version: int, phase: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"metadata": {"name": "etl", "namespace": "data", "resourceVersion": str(version)}}
    if phase:
        body["status"] = {"phase": phase}
    return body


def listing(version: int, *items: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"resourceVersion": str(version)}, "items": list(items)}


def event(kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    return {"type": kind, "object": obj}


class FakeHttp:
    """Answers lists and watches from scripts; an Exception in a script is raised instead."""

    def __init__(self, lists: list[Any], streams: list[Any]) -> None:
        self.lists, self.streams = list(lists), list(streams)
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def request(self, method: str, path: str, query: dict[str, Any] | None = None, **_: Any) -> dict[str, Any]:
        assert (method, path) == ("GET", PATH)
        self.calls.append(("list", dict(query or {})))
        answer = self.lists.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def stream(self, path: str, query: dict[str, Any], timeout: float) -> Iterator[dict[str, Any]]:
        assert path == PATH
        self.calls.append(("watch", dict(query)))
        if not self.streams:
            raise AssertionError("watched more often than scripted")
        events = self.streams.pop(0)
        if isinstance(events, Exception):
            raise events
        yield from events


def versions(http: FakeHttp, count: int) -> list[Any]:
    got = []
    for item in follow_object(http, PATH, "etl", sleep=lambda _: None):  # type: ignore[arg-type]
        got.append(item)
        if len(got) == count:
            break
    return got


def test_lists_once_then_watches_the_run_by_name_from_the_listed_version() -> None:
    http = FakeHttp([listing(10, run(10))], [[event("MODIFIED", run(11, "Running")), event("MODIFIED", run(12))]])
    assert [v["metadata"]["resourceVersion"] for v in versions(http, 3)] == ["10", "11", "12"]
    (kind, listed), (watch, watched) = http.calls
    assert kind == "list" and listed == {"fieldSelector": "metadata.name=etl"}
    assert watch == "watch" and watched["watch"] == "true" and watched["fieldSelector"] == "metadata.name=etl"
    assert watched["resourceVersion"] == "10"


def test_a_watch_the_server_ends_is_reopened_from_the_last_version_seen_bookmarks_included() -> None:
    http = FakeHttp([listing(10, run(10))], [[event("MODIFIED", run(11))], [event("BOOKMARK", run(15))],
                                             [event("MODIFIED", run(16))]])
    assert [v["metadata"]["resourceVersion"] for v in versions(http, 3)] == ["10", "11", "16"]
    assert [q["resourceVersion"] for kind, q in http.calls if kind == "watch"] == ["10", "11", "15"]


@pytest.mark.parametrize(
    "expiry",
    [[event("ERROR", {"code": 410, "message": "too old resource version"})],
     api_error(410, "GET", PATH, '{"kind": "Status", "reason": "Gone", "message": "Gone"}')],
    ids=["410 as a watch event", "410 as the answer"],
)
def test_an_expired_watch_relists(expiry: Any) -> None:
    http = FakeHttp([listing(10, run(10)), listing(20, run(20))], [expiry, [event("MODIFIED", run(21))]])
    assert [v["metadata"]["resourceVersion"] for v in versions(http, 3)] == ["10", "20", "21"]
    assert [kind for kind, _ in http.calls] == ["list", "watch", "list", "watch"]


@pytest.mark.parametrize(
    "failure",
    [api_error(503, "GET", PATH, "{}"), api_error(429, "GET", PATH, "{}"),
     ConnectionFailed("GET", PATH, urllib3.exceptions.ProtocolError("connection reset"), unsent=False)],
    ids=["503", "429", "dropped connection"],
)
def test_transient_failures_are_retried(failure: Exception) -> None:
    http = FakeHttp([failure, listing(10, run(10))], [[event("MODIFIED", run(11))]])
    assert [v["metadata"]["resourceVersion"] for v in versions(http, 2)] == ["10", "11"]


def test_a_refusal_is_not_retried() -> None:
    http = FakeHttp([api_error(403, "GET", PATH, '{"message": "forbidden"}')], [])
    with pytest.raises(ApiError, match="forbidden"):
        versions(http, 1)


def test_absent_and_deleted_are_none() -> None:
    http = FakeHttp([listing(10)], [[event("ADDED", run(11)), event("DELETED", run(12))]])
    assert versions(http, 3) == [None, run(11), None]


def test_a_deadline_ends_the_following(monkeypatch: pytest.MonkeyPatch) -> None:
    ticks = iter([0.0, 0.0, 0.0, 5.0, 5.0, 5.0])
    http = FakeHttp([listing(10, run(10))], [[event("MODIFIED", run(11))]])
    got = list(follow_object(http, PATH, "etl", deadline=3.0, clock=lambda: next(ticks)))  # type: ignore[arg-type]
    assert [v["metadata"]["resourceVersion"] for v in got] == ["10", "11"]
    assert [q["timeoutSeconds"] for kind, q in http.calls if kind == "watch"] == [3]


# --------------------------------------------------------------------------- what the user sees


def follow(http: FakeHttp, timeout: float = 0) -> tuple[int, list[str]]:
    shown: list[str] = []
    code = watching.follow_run(http, "data", "etl", timeout,  # type: ignore[arg-type]
                               lambda r: shown.append((r.get("status") or {}).get("phase", "-")))
    return code, shown


@pytest.mark.parametrize(("phase", "code"), [("Succeeded", 0), ("Failed", 1), ("Cancelled", 1)])
def test_watch_shows_every_change_to_the_end_and_exits_with_the_result(phase: str, code: int) -> None:
    http = FakeHttp([listing(10, run(10, "Pending"))],
                    [[event("MODIFIED", run(11, "Running")), event("MODIFIED", run(12, "Running")),
                      event("MODIFIED", run(13, phase))]])
    assert follow(http) == (code, ["Pending", "Running", "Running", phase])


def test_watch_of_a_run_that_does_not_exist_says_so() -> None:
    with pytest.raises(SystemExit, match="WorkflowRun 'etl' not found in namespace 'data'"):
        follow(FakeHttp([listing(10)], []))


def test_watch_of_a_run_deleted_meanwhile_says_so() -> None:
    http = FakeHttp([listing(10, run(10, "Running"))], [[event("DELETED", run(11, "Running"))]])
    with pytest.raises(SystemExit, match="was deleted"):
        follow(http)


class QuietHttp(FakeHttp):
    """A run that never changes: every watch stays open a while (as the server's timeout) with no event."""

    def stream(self, path: str, query: dict[str, Any], timeout: float) -> Iterator[dict[str, Any]]:
        self.calls.append(("watch", dict(query)))
        time.sleep(0.2)
        yield from ()


def test_watch_that_times_out_exits_2_naming_the_phase(capsys: pytest.CaptureFixture[str]) -> None:
    http = QuietHttp([listing(10, run(10, "Running"))], [])
    assert follow(http, timeout=1.5) == (2, ["Running"])
    assert "run still Running after 1.5s" in capsys.readouterr().err
