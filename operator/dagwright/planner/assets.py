"""Data assets: which materializations a run made, how a DataAsset records them, the asset graph.

Pure. `materializations_of` reads a run's status (and its frozen spec) and names each asset a
Succeeded producing task wrote, with the verdict of the checks attached to that asset in the same
run. `record_materialization` folds one into a DataAsset's status: idempotent (a materialization
is identified by its run and task, so recording it again changes nothing but its check verdict),
bounded (`MAX_MATERIALIZATIONS` listed, `count` complete). `asset_object_name` names the object of
an asset; `asset_graph` says which task produces what from what, for `dagwright assets`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from dagwright.api.assets import (
    MAX_MATERIALIZATIONS,
    CheckState,
    DataAssetStatus,
    Materialization,
    Partitioning,
)
from dagwright.api.checks import CheckResult, CheckSeverity
from dagwright.api.models import TaskPhase, WorkflowRunStatus, WorkflowSpec

__all__ = ["AssetGraph", "asset_graph", "asset_object_name", "materializations_of", "partition_key",
           "record_materialization"]

_DNS = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def asset_object_name(asset: str) -> str:
    """The DataAsset object's name: the asset name when it is a DNS subdomain of ≤ 63 characters,
    else a cleaned prefix and 8 hex digits of its hash (so `a_b` and `a-b` stay apart)."""
    if len(asset) <= 63 and _DNS.fullmatch(asset):
        return asset
    cleaned = re.sub(r"[^a-z0-9.-]+", "-", asset.lower()).strip("-.")
    cleaned = re.sub(r"\.-|-\.", ".", cleaned)[:54].strip("-.") or "asset"
    return f"{cleaned}-{hashlib.sha256(asset.encode()).hexdigest()[:8]}"


def partition_key(partitioning: Partitioning | str | None, logical_date: datetime | None) -> str | None:
    """`2026-11-24` (Daily) or `2026-11-24T02` (Hourly) of the logical date; None unpartitioned."""
    if partitioning is None or logical_date is None:
        return None
    if Partitioning(partitioning) == Partitioning.DAILY:
        return logical_date.strftime("%Y-%m-%d")
    return logical_date.strftime("%Y-%m-%dT%H")


def _verdict(results: list[CheckResult]) -> tuple[CheckState | None, str | None]:
    failed = [r for r in results if not r.passed]
    blocking = [r for r in failed if r.severity == CheckSeverity.BLOCKING]
    if blocking:
        return CheckState.FAILED, blocking[0].message
    if failed:
        return CheckState.WARNED, failed[0].message
    return (CheckState.PASSED, None) if results else (None, None)


def materializations_of(spec: WorkflowSpec, status: WorkflowRunStatus, run: str, workflow: str | None,
                        logical_date: datetime | None) -> list[tuple[str, Materialization]]:
    """(asset, materialization) for each asset a Succeeded task of the run produced."""
    tasks = status.tasks or {}
    checks_by_asset: dict[str, list[CheckResult]] = {}
    for result in (status.checks or {}).values():
        if result.asset:
            checks_by_asset.setdefault(result.asset, []).append(result)
    logical = logical_date.strftime("%Y-%m-%dT%H:%M:%SZ") if logical_date else None
    checked = {task.check.asset for task in spec.tasks if task.check is not None and task.check.asset}
    found = []
    for task in spec.tasks:
        task_status = tasks.get(task.name)
        if task_status is None or task_status.phase != TaskPhase.SUCCEEDED or not task.produces:
            continue
        for ref in task.produces:
            checks, message = _verdict(checks_by_asset.get(ref.name, []))
            if checks is None and ref.name in checked:
                checks = CheckState.PENDING
            found.append((ref.name, Materialization(
                run=run, task=task.name, workflow=workflow, logical_date=logical,
                partition=partition_key(ref.partition, logical_date),
                at=task_status.finished_at or logical or "", checks=checks, check_message=message)))
    return found


def record_materialization(status: DataAssetStatus, new: Materialization) -> DataAssetStatus | None:
    """`status` with `new` recorded; None when it holds it already, check verdict included."""
    listed = list(status.materializations or [])
    same = next((i for i, m in enumerate(listed) if (m.run, m.task) == (new.run, new.task)), None)
    count = status.count or 0
    if same is not None:
        if listed[same].checks == new.checks and listed[same].check_message == new.check_message:
            return None
        listed[same] = listed[same].model_copy(update={"checks": new.checks, "check_message": new.check_message})
    else:
        listed.insert(0, new)
        count += 1
    listed.sort(key=lambda m: (m.at, m.run, m.task), reverse=True)
    listed = listed[:MAX_MATERIALIZATIONS]
    latest = listed[0]
    return status.model_copy(update={
        "materializations": listed, "count": count, "last_updated": latest.at, "last_run": latest.run,
        "last_task": latest.task, "last_logical_date": latest.logical_date, "checks": latest.checks})


@dataclass
class AssetGraph:
    """Assets with the tasks that produce and consume them, and the workflows they trigger."""

    producers: dict[str, list[str]] = field(default_factory=dict)  # asset -> ["workflow/task"]
    consumers: dict[str, list[str]] = field(default_factory=dict)
    triggers: dict[str, list[str]] = field(default_factory=dict)  # asset -> workflows it triggers
    checks: dict[str, list[str]] = field(default_factory=dict)  # asset -> "workflow/task (Severity)"
    inputs: dict[str, list[str]] = field(default_factory=dict)  # "workflow/task" -> assets it consumes

    @property
    def assets(self) -> list[str]:
        return sorted({*self.producers, *self.consumers, *self.triggers, *self.checks})


def asset_graph(workflows: Mapping[str, WorkflowSpec]) -> AssetGraph:
    """The asset graph of these workflows (by name)."""
    graph = AssetGraph()
    for name, spec in sorted(workflows.items()):
        for task in spec.tasks:
            where = f"{name}/{task.name}"
            for ref in task.produces or []:
                graph.producers.setdefault(ref.name, []).append(where)
            for ref in task.consumes or []:
                graph.consumers.setdefault(ref.name, []).append(where)
                graph.inputs.setdefault(where, []).append(ref.name)
            if task.check is not None and task.check.asset:
                graph.checks.setdefault(task.check.asset, []).append(
                    f"{where} ({CheckSeverity(task.check.severity).value})")
        for trigger in (spec.triggers.assets or []) if spec.triggers else []:
            graph.triggers.setdefault(trigger.name, []).append(name)
    return graph
