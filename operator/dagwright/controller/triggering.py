"""Carrying out `spec.triggers`: runs started by other Workflows' runs.

Wiring only: builds a `TriggerSnapshot` from the Workflow and the runs cache, asks the pure
`plan_triggers`, creates the triggered runs (named from the event, so a restarted operator or
a second replica gets 409 AlreadyExists and creates nothing), cancels replaced runs, posts the
plan's Events and returns the Workflow status with the new watermark. Runs are created
*before* the events are recorded as handled: a crash in between re-plans the same names.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from dagwright.api.assets import CheckState, DataAssetStatus
from dagwright.api.models import WorkflowSpec, WorkflowStatus
from dagwright.api.timefmt import format_time, parse_time
from dagwright.api.triggers import TriggerStatus
from dagwright.controller.assets import ASSETS
from dagwright.controller.events import EventSink
from dagwright.controller.runs import RunReconciler
from dagwright.controller.specs import RUNS
from dagwright.controller.store import RunStore, is_finished
from dagwright.kube import resources
from dagwright.kube.errors import AlreadyExists
from dagwright.kube.http import KubeHttp
from dagwright.planner.assets import asset_object_name
from dagwright.schedule.triggers import (
    OwnRun,
    TriggerParamSource,
    TriggerPlan,
    TriggerSnapshot,
    Upstream,
    UpstreamRun,
    plan_triggers,
)

ANNOTATION_UPSTREAM_RUNS = "dagwright.io/upstream-runs"
RECHECK_SECONDS = 300.0
RunBuilder = Callable[..., dict[str, Any]]  # the watermark moves with the clock: look again now and then


def upstreams_of(workflow: dict[str, Any]) -> set[str]:
    """Names of the Workflows (and `asset:NAME` of the assets) `workflow`'s triggers listen to (cheap)."""
    triggers = (workflow.get("spec") or {}).get("triggers") or {}
    return ({entry.get("name", "") for entry in triggers.get("workflows") or []}
            | {ASSET_PREFIX + entry.get("name", "") for entry in triggers.get("assets") or []})


def _upstream_run(body: dict[str, Any], workflow: str, keys: set[tuple[str, str]]) -> UpstreamRun:
    spec, status, meta = body.get("spec") or {}, body.get("status") or {}, body["metadata"]
    interval = spec.get("dataInterval")
    outputs = {}
    for task, key in keys:
        value = ((status.get("tasks") or {}).get(task) or {}).get("outputs", {}).get(key)
        if value is not None:
            outputs[(task, key)] = value
    return UpstreamRun(
        name=meta["name"], workflow=workflow, phase=status.get("phase"),
        logical_date=parse_time(spec.get("logicalDate") or meta["creationTimestamp"]),
        finished_at=parse_time(status["finishedAt"]) if status.get("finishedAt") else None,
        data_interval=(parse_time(interval["start"]), parse_time(interval["end"])) if interval else None,
        outputs=outputs,
    )


def _start_watermark(workflow: dict[str, Any], status: WorkflowStatus, now: datetime) -> datetime:
    """The recorded watermark; else the creation time for a workflow born with triggers, else now."""
    if status.triggers is not None and status.triggers.watermark:
        return parse_time(status.triggers.watermark)
    meta = workflow["metadata"]
    if meta.get("generation", 1) == 1 and meta.get("creationTimestamp"):
        # times have whole seconds: an upstream run that ended in the second the workflow was
        # created counts (the watermark excludes what is at or before it)
        return parse_time(meta["creationTimestamp"]) - timedelta(seconds=1)
    return now


ASSET_PREFIX = "asset:"  # an asset's key among the upstreams (workflow names have no colon)


def _day(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def _asset_runs(name: str, status: DataAssetStatus) -> list[UpstreamRun]:
    """An asset's materializations as upstream "runs": one per (run, task), Failed when its checks failed."""
    runs = []
    for m in status.materializations or []:
        if m.checks == CheckState.PENDING:
            continue  # not verified yet: counts once its checks have spoken
        logical = parse_time(m.logical_date) if m.logical_date else parse_time(m.at)
        runs.append(UpstreamRun(name=f"{m.run}/{m.task}", workflow=ASSET_PREFIX + name,
                                phase="Failed" if m.checks == CheckState.FAILED else "Succeeded",
                                logical_date=_day(logical), finished_at=parse_time(m.at)))
    return runs


def build_trigger_snapshot(workflow: dict[str, Any], spec: WorkflowSpec, status: WorkflowStatus,
                           store: RunStore, own_runs: list[dict[str, Any]], now: datetime,
                           assets: dict[str, DataAssetStatus] | None = None) -> TriggerSnapshot:
    """The decider's view of one triggered workflow, from the cache and the DataAssets it listens to."""
    assert spec.triggers is not None
    namespace = workflow["metadata"]["namespace"]
    params = tuple(TriggerParamSource(p.name, p.from_output.workflow, p.from_output.task, p.from_output.key)
                   for p in spec.triggers.params or [])
    by_day = bool(spec.triggers.assets)  # assets join on the day of the logical date
    upstreams = [Upstream(entry.name, entry.when) for entry in spec.triggers.workflows or []]
    upstream_runs = []
    for entry in spec.triggers.workflows or []:
        keys = {(p.task, p.key) for p in params if p.workflow == entry.name}
        for _key, body in store.runs_of(namespace, entry.name):
            if is_finished(body):
                run = _upstream_run(body, entry.name, keys)
                upstream_runs.append(replace(run, logical_date=_day(run.logical_date)) if by_day else run)
    for asset in spec.triggers.assets or []:
        upstreams.append(Upstream(ASSET_PREFIX + asset.name))
        upstream_runs += _asset_runs(asset.name, (assets or {}).get(asset.name) or DataAssetStatus())
    return TriggerSnapshot(
        workflow_name=workflow["metadata"]["name"],
        upstreams=tuple(upstreams),
        now=now,
        watermark=_start_watermark(workflow, status, now),
        upstream_runs=tuple(upstream_runs),
        own_runs=tuple(OwnRun(body["metadata"]["name"], not is_finished(body) and not (body.get("spec") or {}).get(
            "cancel")) for body in own_runs),
        handled=frozenset((status.triggers.handled or []) if status.triggers else []),
        params=params,
        concurrency_policy=spec.concurrency_policy,
        suspend=spec.suspend,
    )


class Triggers:
    """Applies trigger plans for the workflow reconciler."""

    def __init__(self, http: KubeHttp, store: RunStore, runs: RunReconciler, events: EventSink,
                 build: RunBuilder) -> None:
        self.build = build  # `workflows.build_scheduled_run`: one builder for every kind of run
        self.http = http
        self.store = store
        self.runs = runs
        self.events = events

    async def reconcile(self, workflow: dict[str, Any], spec: WorkflowSpec, status: WorkflowStatus,
                        own_runs: list[dict[str, Any]], now: datetime) -> tuple[WorkflowStatus, float]:
        """Create the runs the events ask for; the status to write and when to look again."""
        namespace = workflow["metadata"]["namespace"]
        assets = {}
        for asset in (spec.triggers.assets or []) if spec.triggers else []:
            body = await asyncio.to_thread(resources.get_custom, self.http, namespace, ASSETS,
                                           asset_object_name(asset.name))
            assets[asset.name] = _asset_status(body)
        plan = plan_triggers(build_trigger_snapshot(workflow, spec, status, self.store, own_runs, now, assets))
        for run in plan.create:
            body = self.build(workflow, run.name, run.logical_date, run.data_interval,
                                       dict(run.params) or None, trigger="workflow")
            body["metadata"]["annotations"][ANNOTATION_UPSTREAM_RUNS] = ",".join(run.upstream_runs)
            try:
                created = await asyncio.to_thread(resources.create_custom, self.http, namespace, RUNS, body)
                self.runs.observe_run(created)
            except AlreadyExists:
                pass  # an earlier pass (or another replica) created it: the event is done
        for name in plan.cancel:
            await asyncio.to_thread(resources.patch_custom, self.http, namespace, RUNS, name, {"spec": {"cancel": True}})
        for event in plan.events:
            self.events.post(workflow, event.reason.value, event.message, event.type.value)
        return status.model_copy(update={"triggers": _status(plan, status)}), RECHECK_SECONDS


def _asset_status(body: dict[str, Any] | None) -> DataAssetStatus:
    try:
        return DataAssetStatus.model_validate((body or {}).get("status") or {})
    except ValidationError:
        return DataAssetStatus()


def _status(plan: TriggerPlan, status: WorkflowStatus) -> TriggerStatus:
    last = plan.create[-1].name if plan.create else (status.triggers.last_triggered_run if status.triggers else None)
    return TriggerStatus(watermark=format_time(plan.watermark), handled=list(plan.handled) or None,
                         waiting_for=plan.waiting_for or None, last_triggered_run=last)
