"""Writing each run's status off the dispatch path: in order per run, the newest value wins.

A reconcile pass decides, creates its Jobs and hands the new status here; the next pass of
the same run may start at once (from the status handed over, see `pending`) instead of
waiting for the write. Writes of one run never overlap and never go backwards: a value
handed over while a write waits or is in flight replaces any older value not yet written,
so a burst of passes costs one write. Background writes linger a moment and only a few are
in flight at once over all runs, so that at a busy API server Job creations come first and
status writes coalesce instead of queueing. A key's first write waits `first_linger` seconds
(the reconciler's: `FIRST_LINGER_SECONDS`), so a run that ends sooner is written once, when it
ends; after a background write, the next one of the same key waits until `spacing` seconds have
passed, so a run that changes all the time costs one write every few seconds, not one per
change (API economy: the planner never waits for these writes, it plans from `pending`).
`flush` writes now and raises what the write raised, for the passes that must see their status
stored (a run that finished).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

log = logging.getLogger("dagwright.statuswriter")

Key = TypeVar("Key", bound=Hashable)
Value = TypeVar("Value")

FIRST_RETRY_SECONDS = 1.0
MAX_RETRY_SECONDS = 30.0
BACKGROUND_WRITES = 4  # in flight at once over all runs: Job creations go first at a busy API server
FIRST_LINGER_SECONDS = 2.0  # a key's first write waits this long: a run that ends sooner is written once
LINGER_SECONDS = 0.25  # a later background write waits this long, so a burst of passes costs one write
SPACING_SECONDS = 5.0  # and at least this long after the previous write of the same key


class StatusWriter(Generic[Key, Value]):
    """Per key: at most one write in flight, and only the newest value still to write."""

    def __init__(self, write: Callable[[Key, Value], Awaitable[None]],
                 concurrency: int = BACKGROUND_WRITES, linger: float = LINGER_SECONDS,
                 spacing: float = SPACING_SECONDS, first_linger: float | None = None) -> None:
        self._write = write
        self._linger = linger
        self._first_linger = linger if first_linger is None else first_linger
        self._spacing = spacing
        self._last_write: dict[Key, float] = {}  # monotonic time of each key's latest write
        self._background = asyncio.Semaphore(concurrency)
        self._pending: dict[Key, Value] = {}
        self._locks: dict[Key, asyncio.Lock] = {}
        self._drains: dict[Key, asyncio.Task[None]] = {}

    def pending(self, key: Key) -> Value | None:
        """The value handed over for `key` and not yet written (newer than the cache)."""
        return self._pending.get(key)

    def submit(self, key: Key, value: Value) -> None:
        """Write `value` soon, after any write of `key` in flight; replaces an unwritten value."""
        self._pending[key] = value
        drain = self._drains.get(key)
        if drain is None or drain.done():
            self._drains[key] = asyncio.create_task(self._drain(key), name=f"status-{key}")

    async def flush(self, key: Key) -> None:
        """Write what is pending for `key` now (after a write in flight); errors are raised."""
        async with self._lock(key):
            value = self._pending.get(key)
            if value is not None:
                await self._write(key, value)
                self._written(key, value)

    def forget(self, key: Key) -> None:
        """The object is gone: drop what is pending and stop retrying."""
        self._pending.pop(key, None)
        self._last_write.pop(key, None)
        drain = self._drains.pop(key, None)
        if drain is not None:
            drain.cancel()

    def size(self) -> int:
        return len(self._pending)

    async def _drain(self, key: Key) -> None:
        delay = FIRST_RETRY_SECONDS
        await asyncio.sleep(self._linger if key in self._last_write else self._first_linger)
        while key in self._pending:
            last = self._last_write.get(key)
            wait = 0.0 if last is None else last + self._spacing - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)  # the previous write of this key was a moment ago
                continue
            async with self._background, self._lock(key):
                value = self._pending.get(key)
                if value is None:
                    break
                try:
                    await self._write(key, value)
                    self._written(key, value)
                    delay = FIRST_RETRY_SECONDS
                    continue
                except Exception as error:  # noqa: BLE001 - keep the value, try again later
                    log.warning("writing the status of %s failed, retrying in %.0fs: %s", key, delay, error)
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_RETRY_SECONDS)
        if self._drains.get(key) is asyncio.current_task():
            del self._drains[key]
        lock = self._locks.get(key)
        if lock is not None and not lock.locked() and key not in self._pending:
            del self._locks[key]

    def _written(self, key: Key, value: Value) -> None:
        self._last_write[key] = time.monotonic()
        if self._pending.get(key) is value:
            del self._pending[key]

    def _lock(self, key: Key) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        return lock
