"""The words Dagwright writes on objects, defined once: labels, annotations, condition types, Event reasons.

Every layer reads them from here (the API contract), so a label or a reason cannot drift
between the renderer that writes it, the watch that selects on it and the CLI that reads it.
"""

from __future__ import annotations

from enum import Enum

from dagwright.api.models import GROUP

LABEL_WORKFLOW = f"{GROUP}/workflow"
LABEL_RUN = f"{GROUP}/run"
LABEL_TASK = f"{GROUP}/task"
LABEL_ATTEMPT = f"{GROUP}/attempt"
LABEL_POOL = f"{GROUP}/pool"  # on the Jobs of tasks that take a pool slot
LABEL_PARENT_RUN = f"{GROUP}/parent-run"  # on a child WorkflowRun of a workflow task: its parent run
LABEL_PARENT_TASK = f"{GROUP}/parent-task"  # ... and the parent's task that called it
LABEL_DEPTH = f"{GROUP}/depth"  # ... and how deep it is nested (1: a top-level run's child)
LABEL_ITEM = f"{GROUP}/item"  # on the Jobs of forEach instances: the item's index (0-based)
MANAGED_BY = {"app.kubernetes.io/managed-by": "dagwright"}

ANNOTATION_TRIGGER = f"{GROUP}/trigger"
# On a task Job the operator failed itself (its pod could not start): why. The Job is suspended.
ANNOTATION_FAILED = f"{GROUP}/failed"
# On the Job of a timed-out attempt: the last lines of its log, read before the Job controller
# deleted the pod (`dagwright logs` shows them when the pod is gone).
ANNOTATION_LOG_TAIL = f"{GROUP}/log-tail"
# Written by versions before the data interval was a spec field; still read as a fallback.
ANNOTATION_INTERVAL_START = f"{GROUP}/data-interval-start"
ANNOTATION_INTERVAL_END = f"{GROUP}/data-interval-end"


class ConditionType(str, Enum):
    """Condition types on a run's or a workflow's status."""

    READY = "Ready"
    RECONCILING = "Reconciling"
    STALLED = "Stalled"
    VALID = "Valid"
    NOTIFIED = "Notified"
    DEADLINE_MISSED = "DeadlineMissed"  # True from the moment a run missed spec.deadline
    DEADLINE_NOTIFIED = "DeadlineNotified"  # its DeadlineMissed notifications were sent (or tried)


class EventReason(str, Enum):
    """Reasons of the Events the operator posts that are not task or run phase changes."""

    INVALID_SPEC = "InvalidSpec"
    NOTIFICATION_SENT = "NotificationSent"
    NOTIFICATION_FAILED = "NotificationFailed"
    DEADLINE_MISSED = "DeadlineMissed"
