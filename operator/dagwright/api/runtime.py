"""What a run's tasks see of its time: the logical date and the data interval (pure).

One place for both readers — the controller rendering a run's Jobs and `dagwright retry` copying
a run — so a retried run renders exactly what the run it retries rendered.
"""

from __future__ import annotations

from collections.abc import Mapping

from dagwright.api.models import WorkflowRunSpec

ANNOTATION_INTERVAL_START = "dagwright.io/data-interval-start"
ANNOTATION_INTERVAL_END = "dagwright.io/data-interval-end"
"""Where versions before `spec.dataInterval` kept a scheduled run's interval. Read only, as a
fallback, so that runs those versions created (and their retries) keep their window; nothing
writes them any more."""


def run_data_interval(spec: WorkflowRunSpec, annotations: Mapping[str, str] | None) -> tuple[str, str] | None:
    """(start, end) of the run's data interval, or None when it has none (both ends = logical date)."""
    if spec.data_interval is not None:
        return spec.data_interval.start, spec.data_interval.end
    annotations = annotations or {}
    if ANNOTATION_INTERVAL_START in annotations and ANNOTATION_INTERVAL_END in annotations:
        return annotations[ANNOTATION_INTERVAL_START], annotations[ANNOTATION_INTERVAL_END]
    return None


def run_logical_date(spec: WorkflowRunSpec, metadata: Mapping[str, object], now: str) -> str:
    """`spec.logicalDate`, else the run's creation time (`now` before it has one)."""
    created = metadata.get("creationTimestamp")
    return spec.logical_date or (created if isinstance(created, str) else None) or now
