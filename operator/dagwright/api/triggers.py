"""API models of event triggers: a Workflow started by other Workflows' runs.

Kept apart from `api.models` so the trigger vocabulary has one home; `api.models` imports
these classes into `WorkflowSpec` and `WorkflowStatus`, and the CRDs and docs/api.md are
generated from them like every other field.
"""

from __future__ import annotations

from enum import Enum

from pydantic import ConfigDict, Field

from dagwright.api.assets import AssetTrigger
from dagwright.api.base import ApiModel

PARAM_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
WORKFLOW_NAME_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
MAX_UPSTREAMS = 10
MAX_HANDLED_EVENTS = 200
"""Most recent trigger events a Workflow's status remembers (those newer than its watermark)."""


class UpstreamEvent(str, Enum):
    """Which end of an upstream run triggers: Succeeded, Failed, or Finished (any end)."""

    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    FINISHED = "Finished"


class UpstreamWorkflow(ApiModel):
    """A Workflow in the same namespace whose runs trigger this one."""

    name: str = Field(min_length=1, max_length=253, pattern=WORKFLOW_NAME_PATTERN,
                      description="The upstream Workflow's name.")
    when: UpstreamEvent = Field(
        UpstreamEvent.SUCCEEDED,
        description="Succeeded, Failed or Finished (Succeeded, Failed or Cancelled): which end of "
        "an upstream run counts (named `when`, not `on`: YAML reads a bare `on` as true).",
    )


class OutputRef(ApiModel):
    """One output of a task of an upstream run (the task must set `publishOutputs: true`)."""

    workflow: str = Field(min_length=1, description="The upstream Workflow (one of triggers.workflows).")
    task: str = Field(min_length=1, description="The upstream task.")
    key: str = Field(min_length=1, description="The key of the JSON object the task wrote as its outputs.")


class TriggerParam(ApiModel):
    """A parameter of the triggered run, taken from an upstream run's task outputs."""

    name: str = Field(pattern=PARAM_NAME_PATTERN, description="The parameter (of spec.params) to set.")
    from_output: OutputRef = Field(description="Where its value comes from; when the upstream run has "
                                   "no such output the parameter keeps its default.")


class WorkflowTriggers(ApiModel):
    """Events that start runs of this Workflow, exactly once per event."""

    model_config = ConfigDict(json_schema_extra={"x-kubernetes-validations": [
        {"rule": "has(self.workflows) || has(self.assets)", "message": "triggers: set workflows, assets or both"}]})

    workflows: list[UpstreamWorkflow] | None = Field(
        None, min_length=1, max_length=MAX_UPSTREAMS,
        description="Upstream Workflows. With one, each of its runs that ends as `when` says starts one "
        "run here. With several, a run starts once every one of them has such a run for the same "
        "logical date (a join). The triggered run carries that logical date and the first upstream's "
        "data interval.",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]},
    )
    assets: list[AssetTrigger] | None = Field(
        None, min_length=1, max_length=MAX_UPSTREAMS,
        description="Data assets: a run starts once every listed asset (and every listed workflow) has "
        "a materialization for the same day (their logical dates' UTC date), exactly once per such "
        "set. A materialization whose checks failed does not count.",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]},
    )
    params: list[TriggerParam] | None = Field(
        None, max_length=32, description="Parameters set from the upstream runs' task outputs.",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]},
    )


class TriggerStatus(ApiModel):
    """What the triggers have done: a watermark and the recent events already handled."""

    watermark: str | None = Field(
        None, description="Upstream runs that ended at or before this time are dealt with for good."
    )
    handled: list[str] | None = Field(
        None, max_length=MAX_HANDLED_EVENTS,
        description="Events after the watermark already handled, by the name of the run each one "
        "starts (created, or skipped by concurrencyPolicy).",
    )
    waiting_for: str | None = Field(None, description="What the next triggered run waits for.")
    last_triggered_run: str | None = Field(None, description="The latest run an event started.")
