"""Recording materializations on DataAsset objects (`kubectl get dataassets`).

Wiring only: after a run's pass, `planner/assets.py:materializations_of` names what its
Succeeded producing tasks wrote; this module reads each asset's object (creating it on first use,
409 = someone else did), folds the materialization in with the pure `record_materialization`
and writes the status with the object's resourceVersion as a precondition, so two writers never
lose each other's update (a 409 Conflict re-reads and retries). Recording is idempotent — a
materialization is identified by (run, task) on the object itself — so a restarted operator that
records again changes nothing. A per-process memo only saves API calls, it decides nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from dagwright.api.assets import DataAssetStatus, Materialization
from dagwright.api.models import API_VERSION, WorkflowRunStatus, WorkflowSpec
from dagwright.api.specmemo import spec_traits
from dagwright.api.vocabulary import MANAGED_BY
from dagwright.kube import resources
from dagwright.kube.errors import AlreadyExists, ApiError, Conflict
from dagwright.kube.http import KubeHttp
from dagwright.planner.assets import asset_object_name, materializations_of, record_materialization

log = logging.getLogger("dagwright.assets")

ASSETS = "dataassets"
CONFLICT_ROUNDS = 5
MEMO_SIZE = 10_000


def build_asset(namespace: str, asset: str) -> dict[str, Any]:
    """A new DataAsset object for `asset` (pure)."""
    return {"apiVersion": API_VERSION, "kind": "DataAsset",
            "metadata": {"name": asset_object_name(asset), "namespace": namespace, "labels": dict(MANAGED_BY)},
            "spec": {"asset": asset}}


def _status_of(body: dict[str, Any]) -> DataAssetStatus:
    try:
        return DataAssetStatus.model_validate(body.get("status") or {})
    except ValidationError:
        return DataAssetStatus()


class AssetRecorder:
    """Writes the materializations of runs onto their DataAssets."""

    def __init__(self, http: KubeHttp) -> None:
        self.http = http
        self.on_changed: list[Callable[[str, str], None]] = []  # (namespace, asset) was updated
        self._done: set[tuple[str, str, str, str, str | None]] = set()  # memo: recorded as it is

    async def record_run(self, body: dict[str, Any], spec: WorkflowSpec, status: WorkflowRunStatus,
                         workflow: str | None, logical_date: datetime | None) -> None:
        """Record every materialization the run's status shows (no-op for what is recorded)."""
        if not spec_traits(spec).produces_assets:
            return
        namespace, run = body["metadata"]["namespace"], body["metadata"]["name"]
        for asset, materialization in materializations_of(spec, status, run, workflow, logical_date):
            memo = (namespace, asset, run, materialization.task, materialization.checks)
            if memo in self._done:
                continue
            try:
                changed = await asyncio.to_thread(self._record, namespace, asset, materialization)
            except ApiError as error:
                log.warning("cannot record %s of %s/%s on DataAsset %s yet: %s", materialization.task,
                            namespace, run, asset, error)
                continue  # the run's next pass tries again
            if len(self._done) > MEMO_SIZE:
                self._done.clear()
            self._done.add(memo)
            if changed:
                for callback in self.on_changed:
                    callback(namespace, asset)

    def _record(self, namespace: str, asset: str, materialization: Materialization) -> bool:
        """Fold one materialization into the asset's status; True when the status changed."""
        name = asset_object_name(asset)
        last: Conflict | None = None
        for _round in range(CONFLICT_ROUNDS):
            body = resources.get_custom(self.http, namespace, ASSETS, name)
            if body is None:
                try:
                    body = resources.create_custom(self.http, namespace, ASSETS, build_asset(namespace, asset))
                except AlreadyExists as error:
                    last = error
                    continue  # created meanwhile: read it
            new = record_materialization(_status_of(body), materialization)
            if new is None:
                return False
            try:
                resources.replace_status(self.http, namespace, ASSETS, {**body, "status": new.to_wire()})
                return True
            except Conflict as error:
                last = error
                continue  # someone wrote in between: read again
        assert last is not None
        raise last  # as many conflicting writes in a row: the run's next pass tries again
