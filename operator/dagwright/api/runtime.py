"""What a run's tasks see of its time: the logical date and the data interval (pure).

One place for both readers — the controller rendering a run's Jobs and `dagwright retry` copying
a run — so a retried run renders exactly what the run it retries rendered.
"""

from __future__ import annotations

from collections.abc import Mapping

from dagwright.api.models import WorkflowRunSpec
from dagwright.api.vocabulary import ANNOTATION_INTERVAL_END, ANNOTATION_INTERVAL_START


def run_data_interval(spec: WorkflowRunSpec, annotations: Mapping[str, str] | None) -> tuple[str, str] | None:
    """(start, end) of the run's data interval, or None when it has none (both ends = logical date)."""
    if spec.data_interval is not None:
        return spec.data_interval.start, spec.data_interval.end
    # Versions before spec.dataInterval kept it in annotations: read, never written, so that runs
    # they created (and retries of those) keep their window.
    annotations = annotations or {}
    if ANNOTATION_INTERVAL_START in annotations and ANNOTATION_INTERVAL_END in annotations:
        return annotations[ANNOTATION_INTERVAL_START], annotations[ANNOTATION_INTERVAL_END]
    return None


def run_logical_date(spec: WorkflowRunSpec, metadata: Mapping[str, object], now: str) -> str:
    """`spec.logicalDate`, else the run's creation time (`now` before it has one)."""
    created = metadata.get("creationTimestamp")
    return spec.logical_date or (created if isinstance(created, str) else None) or now
