"""An asyncio work queue of run keys, as controller-runtime has: deduplicated, one worker per key.

A key added while it is being processed is processed again afterwards (never concurrently);
`add_after` schedules a later look (retry backoff, timeouts, resync).
"""

from __future__ import annotations

import asyncio

Key = tuple[str, str]
"""A queued object: (namespace, name)."""


class WorkQueue:
    """Keys waiting for a worker; a key is queued at most once at a time."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[Key] = asyncio.Queue()
        self._queued: set[Key] = set()
        self._processing: set[Key] = set()
        self._again: set[Key] = set()
        self._timers: dict[Key, asyncio.TimerHandle] = {}

    def add(self, key: Key) -> None:
        if key in self._processing:
            self._again.add(key)
        elif key not in self._queued:
            self._queued.add(key)
            self._queue.put_nowait(key)

    def add_after(self, key: Key, delay: float) -> None:
        """Look at `key` again in `delay` seconds (an earlier pending timer wins)."""
        loop = asyncio.get_running_loop()
        when = loop.time() + max(delay, 0.0)
        timer = self._timers.get(key)
        if timer is not None and not timer.cancelled() and timer.when() <= when:
            return
        if timer is not None:
            timer.cancel()
        self._timers[key] = loop.call_at(when, self._fire, key)

    def _fire(self, key: Key) -> None:
        self._timers.pop(key, None)
        self.add(key)

    async def get(self) -> Key:
        key = await self._queue.get()
        self._queued.discard(key)
        self._processing.add(key)
        return key

    def done(self, key: Key) -> None:
        self._processing.discard(key)
        if key in self._again:
            self._again.discard(key)
            self.add(key)

    def depth(self) -> int:
        return self._queue.qsize()
