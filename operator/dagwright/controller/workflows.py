"""Reconciling one Workflow: its cron schedule, its run history and its status.

Wiring only: builds a `ScheduleSnapshot` from the Workflow and the runs cache, asks the pure
`plan_schedule`, creates the scheduled runs (named by fire time, so a second replica or a
restarted operator gets 409 AlreadyExists), cancels replaced runs, deletes runs beyond the
history limits, then writes the Workflow status once. Runs are created *before* their fire
time is recorded, so a crash in between re-plans the same names, never new ones.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from dagwright.api.models import API_VERSION, WorkflowSpec, WorkflowStatus
from dagwright.api.names import label_value
from dagwright.api.timefmt import format_time, parse_time
from dagwright.api.vocabulary import ANNOTATION_TRIGGER, LABEL_WORKFLOW, MANAGED_BY
from dagwright.controller.events import EventSink
from dagwright.controller.mergepatch import merge_patch
from dagwright.controller.review import review_workflow
from dagwright.controller.runs import RunReconciler
from dagwright.controller.specs import RUNS, WORKFLOWS
from dagwright.controller.store import RunStore, WorkflowKey, is_finished, workflow_name_of
from dagwright.controller.triggering import ASSET_PREFIX, Triggers, upstreams_of
from dagwright.kube import resources
from dagwright.kube.errors import AlreadyExists, NotFound
from dagwright.kube.http import KubeHttp
from dagwright.planner.workflow_status import RunSummary, assess_validity, summarize_runs
from dagwright.schedule import (
    ActiveRun,
    FinishedRun,
    ScheduleSnapshot,
    plan_history_cleanup,
    plan_schedule,
    requeue_after,
)

log = logging.getLogger("dagwright.workflows")
# A run started or finished: the workflow's status follows this much later, so that runs
# starting or ending together cost the workflow one status write, not one each.
RUN_CHANGE_LINGER_SECONDS = 1.0



def build_scheduled_run(workflow: dict[str, Any], name: str, logical: datetime,
                        interval: tuple[datetime, datetime] | None, params: dict[str, str] | None = None,
                        trigger: str = "schedule") -> dict[str, Any]:
    """A WorkflowRun owned by `workflow`, for the data time `logical` and `interval` (pure)."""
    meta = workflow["metadata"]
    annotations = {ANNOTATION_TRIGGER: trigger}
    spec: dict[str, Any] = {"workflowRef": {"name": meta["name"]}, "logicalDate": format_time(logical)}
    if interval is not None:
        spec["dataInterval"] = {"start": format_time(interval[0]), "end": format_time(interval[1])}
    if params:
        spec["params"] = params
    return {
        "apiVersion": API_VERSION,
        "kind": "WorkflowRun",
        "metadata": {
            "name": name,
            "namespace": meta["namespace"],
            "labels": {LABEL_WORKFLOW: label_value(meta["name"]), **MANAGED_BY},
            "annotations": annotations,
            "ownerReferences": [{"apiVersion": API_VERSION, "kind": "Workflow", "name": meta["name"],
                                 "uid": meta["uid"], "controller": True, "blockOwnerDeletion": True}],
        },
        "spec": spec,
    }


def _parse_status(raw: dict[str, Any]) -> WorkflowStatus:
    try:
        return WorkflowStatus.model_validate(raw)
    except ValidationError:
        return WorkflowStatus()


def _summary(run: dict[str, Any]) -> RunSummary:
    return RunSummary(name=run["metadata"]["name"], phase=(run.get("status") or {}).get("phase"),
                      order=(run.get("spec") or {}).get("logicalDate") or run["metadata"].get("creationTimestamp", ""))


def _owned_by(run: dict[str, Any], workflow_uid: str) -> bool:
    return any(o.get("uid") == workflow_uid for o in run["metadata"].get("ownerReferences") or [])


class WorkflowReconciler:
    """Schedules, history and status of Workflows (runs come from the run reconciler's cache)."""

    def __init__(self, http: KubeHttp, store: RunStore, runs: RunReconciler, events: EventSink, queue: Any,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.http = http
        self.store = store
        self.runs = runs
        self.events = events
        self.queue = queue
        self.clock = clock
        self.triggers = Triggers(http, store, runs, events, build_scheduled_run)

    def observe_workflow(self, body: dict[str, Any], deleted: bool = False) -> None:
        if self.store.observe_workflow(body, deleted):
            self.queue.add((body["metadata"]["namespace"], body["metadata"]["name"]))

    def run_changed(self, run: dict[str, Any]) -> None:
        """A run of some workflow finished or appeared: refresh that workflow (soon, coalesced), and
        at once the workflows its runs trigger."""
        namespace, workflow = run["metadata"]["namespace"], workflow_name_of(run)
        self.queue.add_after((namespace, workflow), RUN_CHANGE_LINGER_SECONDS)
        for key, body in self.store.workflows().items():  # workflows triggered by this one's runs
            if key[0] == namespace and workflow in upstreams_of(body):
                self.queue.add(key)

    def asset_changed(self, namespace: str, asset: str) -> None:
        """A DataAsset got a materialization: refresh the workflows its updates trigger."""
        for key, body in self.store.workflows().items():
            if key[0] == namespace and ASSET_PREFIX + asset in upstreams_of(body):
                self.queue.add(key)

    def _runs_of(self, namespace: str, name: str) -> list[dict[str, Any]]:
        return [b for _key, b in self.store.runs_of(namespace, name)]

    async def reconcile(self, key: WorkflowKey) -> None:
        workflow = self.store.workflow(*key)
        if workflow is None:
            return
        now = self.clock()
        meta = workflow["metadata"]
        old_status = workflow.get("status") or {}
        problems = await asyncio.to_thread(review_workflow, workflow)
        spec = None if problems else WorkflowSpec.model_validate(workflow.get("spec") or {})
        runs = self._runs_of(*key)
        generation = meta.get("generation")
        previous = _parse_status(old_status)
        status = summarize_runs(previous, [_summary(r) for r in runs], generation)
        conditions, transitions = assess_validity(previous.conditions or [], problems, now, generation)
        for transition in transitions:
            self.events.post(workflow, transition.reason, transition.message, transition.type.value)
        if problems or spec is None:
            await self._write_status(workflow, status.model_copy(
                update={"next_schedule_time": None, "conditions": conditions}))
            return
        status = status.model_copy(update={"conditions": conditions})
        delay = None
        if spec.schedule:
            status, delay = await self._schedule(workflow, spec, status, runs, now)
        if spec.triggers:
            status, wait = await self.triggers.reconcile(workflow, spec, status, runs, now)
            delay = wait if delay is None else min(delay, wait)
        await self._cleanup_history(workflow, spec, runs)
        await self._write_status(workflow, status)
        if delay is not None:
            self.queue.add_after(key, delay + 0.01)

    async def _schedule(self, workflow: dict[str, Any], spec: WorkflowSpec, status: WorkflowStatus,
                        runs: list[dict[str, Any]], now: datetime) -> tuple[WorkflowStatus, float]:
        meta = workflow["metadata"]
        active = tuple(ActiveRun(r["metadata"]["name"]) for r in runs
                       if not is_finished(r) and not (r.get("spec") or {}).get("cancel"))
        snapshot = ScheduleSnapshot(
            workflow_name=meta["name"], schedule=spec.schedule or "", now=now,
            created_at=parse_time(meta["creationTimestamp"]), timezone=spec.timezone, suspend=spec.suspend,
            catchup=spec.catchup, starting_deadline_seconds=spec.starting_deadline_seconds,
            concurrency_policy=spec.concurrency_policy,
            last_schedule_time=parse_time(status.last_schedule_time) if status.last_schedule_time else None,
            active_runs=active,
        )
        plan = plan_schedule(snapshot)
        for run in plan.create:
            body = build_scheduled_run(workflow, run.name, run.logical_date,
                                       (run.data_interval_start, run.data_interval_end))
            try:
                created = await asyncio.to_thread(resources.create_custom, self.http, meta["namespace"], RUNS, body)
                self.runs.observe_run(created)
            except AlreadyExists:
                pass  # created by an earlier pass (or another replica): the fire is done
        for name in plan.cancel:
            await asyncio.to_thread(resources.patch_custom, self.http, meta["namespace"], RUNS, name,
                                    {"spec": {"cancel": True}})
        for event in plan.events:
            self.events.post(workflow, event.reason.value, event.message, event.type.value)
        update: dict[str, Any] = {
            "next_schedule_time": format_time(plan.next_schedule_time) if plan.next_schedule_time else None}
        if plan.last_schedule_time is not None:
            update["last_schedule_time"] = format_time(plan.last_schedule_time)
        if plan.create:
            update["last_run"] = plan.create[-1].name
            update["last_run_phase"] = None
        return status.model_copy(update=update), requeue_after(plan, now)

    async def _cleanup_history(self, workflow: dict[str, Any], spec: WorkflowSpec, runs: list[dict[str, Any]]) -> None:
        uid = workflow["metadata"]["uid"]
        finished = []
        for run in runs:
            status = run.get("status") or {}
            if _owned_by(run, uid) and is_finished(run):
                at = parse_time(status["finishedAt"]) if status.get("finishedAt") else None
                finished.append(FinishedRun(run["metadata"]["name"], status["phase"], at))
        doomed = plan_history_cleanup(finished, spec.successful_runs_history_limit, spec.failed_runs_history_limit)
        for name in doomed:
            await asyncio.to_thread(resources.delete_custom, self.http, workflow["metadata"]["namespace"], RUNS, name)

    # ----------------------------------------------------------------- status

    async def _write_status(self, workflow: dict[str, Any], status: WorkflowStatus) -> None:
        patch = merge_patch(workflow.get("status") or {}, status.to_wire())
        if not patch:
            return
        meta = workflow["metadata"]
        try:
            updated = await asyncio.to_thread(resources.patch_status, self.http, meta["namespace"], WORKFLOWS,
                                              meta["name"], patch)
        except NotFound:
            return
        self.store.observe_workflow_written(updated)
