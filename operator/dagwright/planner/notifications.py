"""Which notifications a finished run sends, and what they say.

Pure: the controller delivers them (`controller/notify.py`) and records the outcome with
`planner.conditions.with_notified`.
"""

from __future__ import annotations

from typing import Any

from dagwright.api.models import Notification, RunPhase, WorkflowRunStatus

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
