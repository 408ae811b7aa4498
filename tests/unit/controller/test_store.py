"""The run store keeps the newest state of a run with resourceVersions treated as opaque strings."""

from __future__ import annotations

from dagwright.controller import store as store_module
from dagwright.controller.store import RunStore, run_key


def run(version: str, phase: str | None = None, cancel: bool = False) -> dict:
    return {"metadata": {"name": "etl", "namespace": "n", "uid": "u1", "resourceVersion": version},
            "spec": {"cancel": cancel}, "status": {"phase": phase} if phase else {}}


def test_events_older_than_our_write_are_ignored_until_its_echo_then_news_is_taken():
    store = RunStore()
    assert store.observe_run(run("a1"))
    store.observe_written(run("z9", "Running"))
    assert not store.observe_run(run("b2"))  # in flight before our write: older
    assert not store.observe_run(run("z9", "Running"))  # the echo
    assert store.observe_run(run("c3", "Running", cancel=True))  # a user's change after our write
    assert store.run(run_key(run("x")))["spec"]["cancel"] is True


def test_an_echo_that_beats_the_writes_answer_does_not_make_the_store_wait_for_it_forever():
    store = RunStore()
    store.observe_run(run("a1"))
    store.observe_run(run("w2", "Running"))  # the watch delivered our write first
    store.observe_written(run("w2", "Running"))
    assert store.observe_run(run("u3", "Running", cancel=True))
    assert store.run(run_key(run("x")))["spec"]["cancel"] is True


def test_an_answer_older_than_what_the_watch_already_delivered_does_not_overwrite_it():
    store = RunStore()
    store.observe_run(run("w2", "Running"))
    store.observe_run(run("u3", "Running", cancel=True))
    store.observe_written(run("w2", "Running"))
    assert store.run(run_key(run("x")))["spec"]["cancel"] is True


def test_when_the_echo_never_comes_the_wait_ends(monkeypatch):
    store = RunStore()
    store.observe_run(run("a1"))
    store.observe_written(run("w2", "Running"))
    monkeypatch.setattr(store_module, "ECHO_WAIT_SECONDS", 0.0)
    assert store.observe_run(run("u9", "Running", cancel=True))


def test_versions_are_never_compared_as_numbers():
    store = RunStore()
    store.observe_run(run("10"))
    assert store.observe_run(run("9", "Running"))  # a different version is news, whatever its digits


def test_a_relisted_run_ends_the_wait_for_an_echo():
    store = RunStore()
    store.observe_run(run("a1"))
    store.observe_written(run("w2", "Running"))
    assert store.observe_run(run("u5", "Running", cancel=True), listed=True)
    assert store.run(run_key(run("x")))["spec"]["cancel"] is True
