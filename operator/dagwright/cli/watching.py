"""The loop behind `dagwright watch`: show each change of a run until it ends, without polling.

A background thread follows the run through a Kubernetes watch (`kube.follow`: one list, then
a watch with the field selector `metadata.name=RUN`, re-opened when it expires) and hands every
new version to the caller's thread, which shows it. On a terminal the view is also redrawn
every `redraw_every` seconds from the last version seen, so running durations count up; that
costs no API call.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from dagwright.api.models import FINISHED_RUN_PHASES, RunPhase
from dagwright.kube import resources
from dagwright.kube.errors import ApiError
from dagwright.kube.follow import follow_object
from dagwright.kube.http import KubeHttp

RUNS = "workflowruns"
FINISHED = frozenset(phase.value for phase in FINISHED_RUN_PHASES)  # status dicts hold plain strings
EXIT_SUCCEEDED, EXIT_NOT_SUCCEEDED, EXIT_TIMED_OUT = 0, 1, 2

class _End:
    """The watch ended because the deadline passed."""


def _feed(http: KubeHttp, namespace: str, name: str, deadline: float | None, updates: queue.Queue[Any]) -> None:
    """Thread body: every version of the run (None: absent), then `_End`, or the error that stopped it."""
    try:
        for version in follow_object(http, resources.custom_path(namespace, RUNS), name, deadline):
            updates.put(version)
        updates.put(_End())
    except Exception as error:  # noqa: BLE001 - handed to the caller's thread, which reports it
        updates.put(error)


def follow_run(http: KubeHttp, namespace: str, name: str, timeout: float,
               show: Callable[[dict[str, Any]], None], redraw_every: float | None = None) -> int:
    """Show the run at every change until it finishes: 0 if it succeeded, 1 if not, 2 on timeout."""
    deadline = time.monotonic() + timeout if timeout else None
    updates: queue.Queue[Any] = queue.Queue()
    threading.Thread(target=_feed, args=(http, namespace, name, deadline, updates), daemon=True,
                     name=f"watch-{name}").start()
    last: dict[str, Any] | None = None
    while True:
        wait = redraw_every if last is not None else None
        if deadline is not None:
            left = max(deadline - time.monotonic(), 0.0)
            wait = left if wait is None else min(wait, left)
        try:
            update = updates.get(timeout=wait)
        except queue.Empty:
            if deadline is not None and time.monotonic() >= deadline:
                return _timed_out(last, timeout)
            if last is not None:
                show(last)  # a redraw: the same version, a later "now"
            continue
        if isinstance(update, _End):
            return _timed_out(last, timeout)
        if isinstance(update, ApiError):
            raise SystemExit(f"dagwright: {update.message}")
        if isinstance(update, BaseException):
            raise SystemExit(f"dagwright: cannot watch WorkflowRun '{name}': {update}")
        if update is None:
            what = "not found" if last is None else "was deleted"
            raise SystemExit(f"dagwright: WorkflowRun '{name}' {what} in namespace '{namespace}'")
        last = update
        show(update)
        phase = (update.get("status") or {}).get("phase")
        if phase in FINISHED:
            return EXIT_SUCCEEDED if phase == RunPhase.SUCCEEDED.value else EXIT_NOT_SUCCEEDED


def _timed_out(last: dict[str, Any] | None, timeout: float) -> int:
    phase = ((last or {}).get("status") or {}).get("phase") or RunPhase.PENDING.value
    print(f"dagwright: run still {phase} after {timeout:g}s", file=sys.stderr)
    return EXIT_TIMED_OUT
