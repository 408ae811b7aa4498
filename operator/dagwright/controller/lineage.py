"""Sending OpenLineage run events with the maintained `openlineage-python` client.

Wiring only: `planner/lineage.py` decides which events a pass produced; this module turns them
into the client's `RunEvent`s and posts them from one background thread (a slow or absent lineage
backend never delays a run). Off unless `dagwright operator --openlineage-url URL` is given.
Delivery is best effort: a failure is logged and counted, never retried forever.
"""

from __future__ import annotations

import logging
import queue
import threading

from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.transport.http import HttpConfig, HttpTransport

from dagwright.planner.lineage import LineageEvent

log = logging.getLogger("dagwright.lineage")

PRODUCER = "https://github.com/dagwright/dagwright"
QUEUE_SIZE = 10_000


def to_run_event(event: LineageEvent) -> RunEvent:
    """The client's RunEvent for one planned event."""
    return RunEvent(
        eventType=RunState[event.state.value], eventTime=event.time, producer=PRODUCER,
        run=Run(runId=event.run_id), job=Job(namespace=event.job_namespace, name=event.job_name),
        inputs=[InputDataset(namespace=d.namespace, name=d.name) for d in event.inputs],
        outputs=[OutputDataset(namespace=d.namespace, name=d.name) for d in event.outputs])


class LineageEmitter:
    """Posts events to an OpenLineage HTTP endpoint, in order, from a background thread."""

    def __init__(self, url: str, endpoint: str = "api/v1/lineage", timeout: float = 5.0) -> None:
        config = HttpConfig(url=url, endpoint=endpoint, timeout=timeout,
                            retry={"total": 2, "backoff_factor": 0.3, "status_forcelist": [500, 502, 503, 504],
                                   "allowed_methods": ["POST"]})
        self.client = OpenLineageClient(transport=HttpTransport(config))
        self.sent = 0
        self.failed = 0
        self._queue: queue.Queue[LineageEvent | None] = queue.Queue(QUEUE_SIZE)
        self._thread = threading.Thread(target=self._run, name="openlineage", daemon=True)
        self._thread.start()

    def emit(self, events: list[LineageEvent]) -> None:
        for event in events:
            try:
                self._queue.put_nowait(event)
            except queue.Full:
                self.failed += 1
                log.warning("OpenLineage queue full: dropped %s of %s", event.state.value, event.job_name)

    def _run(self) -> None:
        while True:
            event = self._queue.get()
            if event is None:
                return
            try:
                self.client.emit(to_run_event(event))
                self.sent += 1
            except Exception as error:  # noqa: BLE001 - a lineage backend never stops the operator
                self.failed += 1
                log.warning("OpenLineage event %s of %s not delivered: %s", event.state.value, event.job_name, error)

    def stop(self) -> None:
        self._queue.put(None)
