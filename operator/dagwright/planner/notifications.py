"""Which notifications a finished (or late) run sends, and what they say.

Pure: the controller delivers them (`controller/notify.py`) and records the outcome with
`planner.conditions.with_notified` (or `planner.lateness.with_deadline_notified` for
`DeadlineMissed`, sent while the run still runs).
"""

from __future__ import annotations

from typing import Any

from dagwright.api.models import Notification, NotifyOn, RunPhase, WorkflowRunStatus

MAX_FAILURE_CHARS = 300
"""Each failed task's message is cut to this many characters in the payload (and the text)."""

_EMOJI = {RunPhase.SUCCEEDED: ":white_check_mark:", RunPhase.FAILED: ":x:", RunPhase.CANCELLED: ":no_entry_sign:"}


def due_notifications(notifications: list[Notification] | None, phase: str | None) -> list[Notification]:
    """The notifications that ask for `phase` (a run phase, or `DeadlineMissed`)."""
    return [n for n in notifications or [] if phase in [NotifyOn(p).value for p in n.on]]


def build_payload(run: dict[str, Any], workflow: str, status: WorkflowRunStatus,
                  event: NotifyOn | None = None) -> dict[str, Any]:
    """What a webhook receives about a finished run, or (`event` DeadlineMissed) a late one."""
    meta = run["metadata"]
    phase = RunPhase(status.phase) if status.phase else None
    failed = sorted(n for n, t in (status.tasks or {}).items() if t.phase == "Failed")
    logical = (run.get("spec") or {}).get("logicalDate") or meta.get("creationTimestamp")
    emoji = _EMOJI.get(phase, "") if phase else ""
    text = f"{emoji} Dagwright run *{meta['namespace']}/{meta['name']}* of workflow *{workflow}* " \
           f"{(phase.value if phase else 'finished').lower()}"
    if event == NotifyOn.DEADLINE_MISSED:
        text = f":alarm_clock: Dagwright run *{meta['namespace']}/{meta['name']}* of workflow *{workflow}* " \
               f"missed its deadline ({(phase.value if phase else 'Pending').lower()}, {status.progress or '0'} done)"
    elif status.duration:
        text += f" after {status.duration}"
    failed_checks = sorted(name for name, result in (status.checks or {}).items() if not result.passed)
    if failed_checks:
        text += f"; failed checks: {', '.join(failed_checks[:10])}"
    failures = {n: _cut((status.tasks or {})[n].message or "") for n in failed}
    if failed:
        text += f"; failed tasks: {', '.join(failed[:10])}" + (f" and {len(failed) - 10} more" if len(failed) > 10 else "")
        text += "".join(f"\n• {n}: {failures[n]}" for n in failed[:3] if failures[n])
    return {
        "text": text.strip(),
        "event": event.value if event else (phase.value if phase else None),
        "workflow": workflow,
        "run": meta["name"],
        "namespace": meta["namespace"],
        "phase": phase.value if phase else None,
        "failedTasks": failed,
        "failures": failures,
        "startedAt": status.started_at,
        "finishedAt": status.finished_at,
        "duration": status.duration,
        "logicalDate": logical,
        "progress": status.progress,
        "checks": {name: result.to_wire() for name, result in sorted((status.checks or {}).items())},
    }


def _cut(message: str) -> str:
    return message if len(message) <= MAX_FAILURE_CHARS else message[: MAX_FAILURE_CHARS - 1] + "…"
