"""The WorkflowRun that `dagwright retry` creates from a finished run (pure).

A retry must compute what the failed run computed: it copies the workflow (reference or inline
spec), the parameters, the logical date and the data interval, and keeps the workflow name its
tasks saw. The DAG itself comes from the original's frozen spec (`spec.retryOf`). A run created
by an older version kept its data interval in annotations; the retry gets it as
`spec.dataInterval`. A run without `spec.logicalDate` rendered its creation time; the retry gets
that time as its logical date instead of its own creation time.
"""

from __future__ import annotations

from typing import Any

from dagwright.api.models import WorkflowRunSpec
from dagwright.api.names import label_value
from dagwright.api.runtime import run_data_interval
from dagwright.api.vocabulary import LABEL_WORKFLOW
from dagwright.controller.store import workflow_name_of

RETRY_KEPT = ("workflowRef", "workflowSpec", "params", "logicalDate", "dataInterval")
"""Fields of a run's spec that decide what its tasks compute (cancel and retryOf are not copied)."""


def build_retry_run(original: dict[str, Any], name: str) -> dict[str, Any]:
    """A run named `name` that retries `original` with everything its tasks computed from."""
    meta = original["metadata"]
    raw = original.get("spec") or {}
    run_spec = WorkflowRunSpec.model_validate(raw)
    spec: dict[str, Any] = {k: v for k, v in raw.items() if k in RETRY_KEPT}
    logical = run_spec.logical_date or meta.get("creationTimestamp")
    if logical:
        spec["logicalDate"] = logical
    interval = run_data_interval(run_spec, meta.get("annotations"))
    if interval is not None:
        spec["dataInterval"] = {"start": interval[0], "end": interval[1]}
    spec["retryOf"] = {"name": meta["name"]}
    labels = {**(meta.get("labels") or {}), LABEL_WORKFLOW: label_value(workflow_name_of(original))}
    return {
        "apiVersion": original.get("apiVersion", "dagwright.io/v1alpha1"),
        "kind": "WorkflowRun",
        "metadata": {"name": name, "labels": labels, "ownerReferences": meta.get("ownerReferences") or []},
        "spec": spec,
    }
