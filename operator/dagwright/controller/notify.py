"""Run-finished notifications: a JSON POST (Slack-compatible `text`) to each matching webhook.

`build_payload` is pure. `deliver` posts with retries and exponential backoff, in a thread.
Delivery is recorded on the run as the `Notified` condition, so it happens once per run even
across operator restarts (at least once: a crash mid-delivery sends again), and a failed
delivery never changes the run's phase — it posts a `NotificationFailed` Event instead.
"""

from __future__ import annotations

import json
import time
from typing import Any

import urllib3

from dagwright.api.models import Notification, RunPhase, WorkflowRunStatus

ATTEMPTS = 4
FIRST_BACKOFF_SECONDS = 1.0
TIMEOUT_SECONDS = 10.0
_EMOJI = {RunPhase.SUCCEEDED: ":white_check_mark:", RunPhase.FAILED: ":x:", RunPhase.CANCELLED: ":no_entry_sign:"}


def due_notifications(notifications: list[Notification] | None, phase: str | None) -> list[Notification]:
    """The notifications that ask for `phase`."""
    return [n for n in notifications or [] if phase in [RunPhase(p).value for p in n.on]]


def build_payload(run: dict[str, Any], workflow: str, status: WorkflowRunStatus) -> dict[str, Any]:
    """What a webhook receives about a finished run."""
    meta = run["metadata"]
    phase = RunPhase(status.phase) if status.phase else None
    failed = sorted(n for n, t in (status.tasks or {}).items() if t.phase == "Failed")
    logical = (run.get("spec") or {}).get("logicalDate") or meta.get("creationTimestamp")
    emoji = _EMOJI.get(phase, "") if phase else ""
    text = f"{emoji} Dagwright run *{meta['namespace']}/{meta['name']}* of workflow *{workflow}* " \
           f"{(phase.value if phase else 'finished').lower()}"
    if status.duration:
        text += f" after {status.duration}"
    if failed:
        text += f"; failed tasks: {', '.join(failed[:10])}" + (f" and {len(failed) - 10} more" if len(failed) > 10 else "")
    return {
        "text": text.strip(),
        "workflow": workflow,
        "run": meta["name"],
        "namespace": meta["namespace"],
        "phase": phase.value if phase else None,
        "failedTasks": failed,
        "startedAt": status.started_at,
        "finishedAt": status.finished_at,
        "duration": status.duration,
        "logicalDate": logical,
        "progress": status.progress,
    }


def deliver(url: str, payload: dict[str, Any], attempts: int = ATTEMPTS,
            first_backoff: float = FIRST_BACKOFF_SECONDS) -> str | None:
    """POST `payload` to `url`, retrying failures with backoff; None on success, else the error."""
    body = json.dumps(payload).encode()
    error = "not attempted"
    with urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(total=TIMEOUT_SECONDS)) as pool:
        for attempt in range(attempts):
            try:
                response = pool.request("POST", url, body=body, headers={"Content-Type": "application/json"})
                if 200 <= response.status < 300:
                    return None
                error = f"HTTP {response.status}"
                if 400 <= response.status < 500 and response.status not in (408, 429):
                    break
            except urllib3.exceptions.HTTPError as exc:
                error = str(exc)
            if attempt + 1 < attempts:
                time.sleep(first_backoff * 2**attempt)
    return f"{error} after {attempt + 1} attempt(s)"
