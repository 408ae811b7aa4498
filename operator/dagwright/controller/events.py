"""Posting Kubernetes Events off the hot path: a queue drained by a background task.

A slow or failing Event write never delays a Job creation or a status write; a lost Event is
logged, not retried forever.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from dagwright.kube.http import KubeHttp
from dagwright.kube.resources import create_event

log = logging.getLogger("dagwright.events")


class EventSink:
    """Queue Events now, post them soon, in order."""

    def __init__(self, http: KubeHttp) -> None:
        self.http = http
        self._queue: asyncio.Queue[tuple[dict[str, Any], str, str, str]] = asyncio.Queue()

    def post(self, involved: dict[str, Any], reason: str, message: str, event_type: str = "Normal") -> None:
        metadata = {k: involved["metadata"].get(k) for k in ("name", "namespace", "uid")}
        ref = {"apiVersion": involved.get("apiVersion"), "kind": involved.get("kind"), "metadata": metadata}
        log.info("%s %s/%s: %s", reason, metadata["namespace"], metadata["name"], message)
        self._queue.put_nowait((ref, reason, message, event_type))

    async def run(self) -> None:
        while True:
            ref, reason, message, event_type = await self._queue.get()
            try:
                await asyncio.to_thread(create_event, self.http, ref, reason, message, event_type)
            except Exception as error:  # noqa: BLE001 - an Event is best effort
                log.warning("could not post event %s: %s", reason, error)
