"""API models of data assets: what tasks produce and consume, and the `DataAsset` kind.

A task names the assets it produces and consumes (`lake.bronze.orders`, optionally one partition
per logical date). When a producing task Succeeds the operator records a materialization on the
namespaced `DataAsset` object of that name (created on first use). `api.models` imports
`AssetRef` into `Task` and `AssetTrigger` into the triggers; the CRDs and docs/api.md are
generated from these classes like every other field.
"""

from __future__ import annotations

from enum import Enum

from pydantic import Field

from dagwright.api.base import ApiModel

ASSET_NAME_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$"
MAX_MATERIALIZATIONS = 20
"""Most materializations a DataAsset's status lists (newest first); `count` is always complete."""


class Partitioning(str, Enum):
    """How a logical date names a partition of an asset."""

    DAILY = "Daily"
    HOURLY = "Hourly"


class AssetRef(ApiModel):
    """A data asset a task produces or consumes."""

    name: str = Field(min_length=1, max_length=200, pattern=ASSET_NAME_PATTERN,
                      description="Asset name, e.g. lake.bronze.orders (letters, digits, _ . -).")
    partition: Partitioning | None = Field(
        None, description="Daily (2026-11-24) or Hourly (2026-11-24T02): the partition the run's "
        "logical date names; without it the whole asset.")


class AssetTrigger(ApiModel):
    """An asset whose materializations trigger a Workflow."""

    name: str = Field(min_length=1, max_length=200, pattern=ASSET_NAME_PATTERN, description="Asset name.")


class CheckState(str, Enum):
    """What the checks attached to an asset said of a materialization."""

    PENDING = "Pending"  # the run has checks on the asset that gave no verdict (yet)
    PASSED = "Passed"
    FAILED = "Failed"
    WARNED = "Warned"


class Materialization(ApiModel):
    """One successful write of an asset by a task."""

    run: str = Field(description="The WorkflowRun.")
    task: str = Field(description="The task that produced it.")
    workflow: str | None = Field(None, description="The run's Workflow.")
    logical_date: str | None = Field(None, description="The run's logical date (RFC 3339).")
    partition: str | None = Field(None, description="The partition written, when the asset is partitioned.")
    at: str = Field(description="When the task succeeded.")
    checks: CheckState | None = Field(None, description="Pending, Passed, Failed or Warned: the asset's checks in that run "
                                      "(absent: it has none).")
    check_message: str | None = Field(None, description="What a failed check said.")


class DataAssetSpec(ApiModel):
    """A data asset; created by the operator on its first materialization (or by you, to declare it)."""

    asset: str = Field(min_length=1, max_length=200, pattern=ASSET_NAME_PATTERN,
                       description="The asset's name as tasks write it (the object name is derived from it).")
    description: str | None = Field(None, description="What the asset is.")


class DataAssetStatus(ApiModel):
    """The asset's materializations, written by the operator."""

    last_updated: str | None = Field(None, description="When the latest materialization happened.")
    last_run: str | None = Field(None, description="The run of the latest materialization.")
    last_task: str | None = Field(None, description="The task of the latest materialization.")
    last_logical_date: str | None = Field(None, description="The logical date of the latest materialization.")
    count: int | None = Field(None, ge=0, description="Materializations recorded, ever.")
    checks: CheckState | None = Field(None, description="The checks' verdict on the latest materialization.")
    materializations: list[Materialization] | None = Field(
        None, max_length=MAX_MATERIALIZATIONS,
        description=f"The latest materializations, newest first (at most {MAX_MATERIALIZATIONS}).",
    )
