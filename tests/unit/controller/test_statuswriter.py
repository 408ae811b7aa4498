"""The status writer: one write in flight per run, newest value wins, nothing goes backwards."""

from __future__ import annotations

import asyncio

import pytest

from dagwright.controller import statuswriter
from dagwright.controller.statuswriter import StatusWriter


class SlowStore:
    """Records writes; each takes a little while, like an API call; can fail on demand."""

    def __init__(self, failures: int = 0) -> None:
        self.writes: list[tuple[str, int]] = []
        self.in_flight: dict[str, int] = {}
        self.most_at_once = 0
        self.failures = failures

    async def write(self, key: str, value: int) -> None:
        self.in_flight[key] = self.in_flight.get(key, 0) + 1
        self.most_at_once = max(self.most_at_once, self.in_flight[key])
        try:
            await asyncio.sleep(0.01)
            if self.failures:
                self.failures -= 1
                raise RuntimeError("API server unavailable")
            self.writes.append((key, value))
        finally:
            self.in_flight[key] -= 1


async def settle(writer: StatusWriter) -> None:
    for _ in range(200):
        if not writer.size():
            return
        await asyncio.sleep(0.01)


def test_a_burst_of_values_costs_few_writes_and_ends_with_the_newest():
    async def scenario():
        store = SlowStore()
        writer = StatusWriter(store.write, linger=0, spacing=0)
        for value in range(10):
            writer.submit("run", value)
            await asyncio.sleep(0.002)
        assert writer.pending("run") == 9
        await settle(writer)
        return store, writer

    store, writer = asyncio.run(scenario())
    values = [v for _, v in store.writes]
    assert values[-1] == 9 and values == sorted(values)
    assert len(values) < 10
    assert store.most_at_once == 1
    assert writer.pending("run") is None


def test_values_handed_over_while_the_write_lingers_cost_one_write():
    async def scenario():
        store = SlowStore()
        writer = StatusWriter(store.write, linger=0.05)
        for value in range(5):
            writer.submit("run", value)
        await settle(writer)
        return store

    assert asyncio.run(scenario()).writes == [("run", 4)]


def test_background_writes_in_flight_are_capped_over_all_runs():
    async def scenario():
        store = SlowStore()
        writer = StatusWriter(store.write, concurrency=2, linger=0)
        in_flight_overall = []
        original = store.write

        async def counting(key, value):
            in_flight_overall.append(sum(store.in_flight.values()) + 1)
            await original(key, value)

        writer._write = counting
        for key in "abcdef":
            writer.submit(key, 1)
        await settle(writer)
        return store, max(in_flight_overall)

    store, most = asyncio.run(scenario())
    assert len(store.writes) == 6 and most == 2


def test_runs_are_written_side_by_side():
    async def scenario():
        store = SlowStore()
        writer = StatusWriter(store.write)
        for key in ("a", "b", "c"):
            writer.submit(key, 1)
        await settle(writer)
        return store

    assert sorted(asyncio.run(scenario()).writes) == [("a", 1), ("b", 1), ("c", 1)]


def test_flush_waits_for_the_write_in_flight_then_writes_the_newest():
    async def scenario():
        store = SlowStore()
        writer = StatusWriter(store.write, linger=0, spacing=0)
        writer.submit("run", 1)
        await asyncio.sleep(0.001)  # the write of 1 is in flight
        writer.submit("run", 2)
        await writer.flush("run")
        assert writer.pending("run") is None
        await asyncio.sleep(0.05)
        return store

    store = asyncio.run(scenario())
    assert store.writes == [("run", 1), ("run", 2)]
    assert store.most_at_once == 1


def test_flush_raises_what_the_write_raised_and_keeps_the_value():
    async def scenario():
        writer = StatusWriter(SlowStore(failures=1).write)
        writer._pending["run"] = 5  # as if handed over; no background drain
        with pytest.raises(RuntimeError):
            await writer.flush("run")
        return writer.pending("run")

    assert asyncio.run(scenario()) == 5


def test_a_failed_background_write_is_retried(monkeypatch):
    monkeypatch.setattr(statuswriter, "FIRST_RETRY_SECONDS", 0.01)

    async def scenario():
        store = SlowStore(failures=2)
        writer = StatusWriter(store.write)
        writer.submit("run", 7)
        await settle(writer)
        return store

    assert asyncio.run(scenario()).writes == [("run", 7)]


def test_a_forgotten_key_is_not_written():
    async def scenario():
        store = SlowStore(failures=1)
        writer = StatusWriter(store.write)
        writer.submit("run", 1)
        await asyncio.sleep(0.001)
        writer.forget("run")
        await asyncio.sleep(0.05)
        return store, writer

    store, writer = asyncio.run(scenario())
    assert store.writes == [] and writer.pending("run") is None


def test_a_key_written_a_moment_ago_waits_the_spacing_and_then_writes_only_the_newest():
    async def scenario():
        store = SlowStore()
        writer = StatusWriter(store.write, linger=0, spacing=0.2)
        writer.submit("run", 1)
        await asyncio.sleep(0.05)  # 1 is written
        started = asyncio.get_running_loop().time()
        for value in (2, 3, 4):
            writer.submit("run", value)
            await asyncio.sleep(0.02)
        await settle(writer)
        return store, asyncio.get_running_loop().time() - started

    store, took = asyncio.run(scenario())
    assert store.writes == [("run", 1), ("run", 4)]
    assert took >= 0.1  # held back until 0.2 s after the first write


def test_flush_does_not_wait_for_the_spacing():
    async def scenario():
        store = SlowStore()
        writer = StatusWriter(store.write, linger=0, spacing=10)
        writer.submit("run", 1)
        await asyncio.sleep(0.05)
        writer.submit("run", 2)
        await asyncio.wait_for(writer.flush("run"), timeout=1)
        return store

    assert asyncio.run(scenario()).writes == [("run", 1), ("run", 2)]



def test_a_keys_first_write_waits_the_first_linger_so_a_quick_end_is_written_once():
    async def scenario():
        store = SlowStore()
        writer = StatusWriter(store.write, linger=0, spacing=10, first_linger=0.2)
        writer.submit("run", 1)  # started
        await asyncio.sleep(0.05)
        writer.submit("run", 2)  # progressed
        await asyncio.sleep(0.05)
        writer.submit("run", 3)  # finished: flushed at once
        await asyncio.wait_for(writer.flush("run"), timeout=1)
        await asyncio.sleep(0.3)  # past the first linger: nothing left to write
        return store

    assert asyncio.run(scenario()).writes == [("run", 3)]
