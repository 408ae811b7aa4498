"""`RunReconciler`: one pass of one WorkflowRun — snapshot, plan, carry out, write.

The wiring between the pure planner and the API calls, and nothing else: data flows one way,
watch → `RunStore`/`JobIndex` → `RunSnapshot` → `plan_run` → `Dispatcher` (Jobs) →
`StatusWriter` (status, at most one write in flight) and `EventSink`. Every decision about a
run — admission, invalid specs, conditions, phases — is taken in `planner/`. A transient API
failure skips the status write and requeues the run, so the status never claims a Job that
does not exist.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from dagwright.api.frozen import thaw_spec
from dagwright.api.models import API_VERSION, FINISHED_RUN_PHASES, RunPhase, WorkflowRunSpec, WorkflowRunStatus, WorkflowSpec
from dagwright.api.specmemo import spec_traits
from dagwright.api.timefmt import format_time, parse_time
from dagwright.controller import metrics
from dagwright.controller.assets import AssetRecorder
from dagwright.controller.children import ChildRuns, parent_key
from dagwright.controller.dispatch import Dispatcher, Outcome
from dagwright.controller.events import EventSink
from dagwright.controller.mergepatch import merge_patch
from dagwright.controller.notify import Notifier
from dagwright.controller.pools import PoolBook
from dagwright.controller.progress import ProgressEvents
from dagwright.controller.specs import RUNS, InvalidRun, SpecResolver
from dagwright.controller.statuswriter import FIRST_LINGER_SECONDS, StatusWriter
from dagwright.controller.store import RunKey, RunStore, is_finished, run_key, run_phase, workflow_name_of
from dagwright.controller.workqueue import WorkQueue
from dagwright.kube import resources
from dagwright.kube.errors import ApiError, NotFound
from dagwright.kube.http import KubeHttp
from dagwright.kube.jobindex import JobIndex
from dagwright.planner.admission import RunInLine, assess_admission
from dagwright.planner.conditions import build_run_conditions
from dagwright.planner.invalid import plan_invalid_run
from dagwright.planner.lateness import keep_deadline_records
from dagwright.planner.lineage import LineageEvent, lineage_events
from dagwright.planner.past import PastRun, assess_past
from dagwright.planner.run import is_reported_with_progress, plan_run
from dagwright.planner.snapshot import DEFAULT_START_GRACE_SECONDS, RunPlan, RunSnapshot
from dagwright.render.outputs import output_context

log = logging.getLogger("dagwright.runs")

TRANSIENT_RETRY_SECONDS = 2.0
CONFIRM_ROUNDS = 2  # plan, look up Jobs the cache lacks, plan again — at most this often per pass
_WAITING = (None, RunPhase.QUEUED.value, RunPhase.PENDING.value)

Pending = tuple[str, WorkflowRunStatus]  # (uid of the run, the status decided for it)


class LineageSink(Protocol):
    """Where OpenLineage events go (controller/lineage.py:LineageEmitter)."""

    def emit(self, events: list[LineageEvent]) -> None: ...


class RunReconciler:
    """Reconciles one run per call, from the store and the Job index it is given."""

    def __init__(self, http: KubeHttp, store: RunStore, jobs: JobIndex, events: EventSink, queue: WorkQueue,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.http = http
        self.store = store
        self.jobs = jobs
        self.events = events
        self.queue = queue
        self.clock = clock
        self.start_grace_seconds = DEFAULT_START_GRACE_SECONDS  # `dagwright operator --pod-start-grace`
        self.on_finished: list[Callable[[dict[str, Any]], None]] = []
        self.specs = SpecResolver(http, store, clock)
        self.dispatch = Dispatcher(http, jobs, clock)
        self.children = ChildRuns(http, store)
        self.pools = PoolBook(http, jobs, queue.add)
        self.assets = AssetRecorder(http)
        self.lineage: LineageSink | None = None  # `dagwright operator --openlineage-url`
        self.lineage_namespace = "dagwright"
        self.notifier = Notifier(http, events, clock, workflow_name_of, self._record_notified)
        # statuses decided but not yet written, by run key, with the uid of the run they are for
        self.statuses: StatusWriter[RunKey, Pending] = StatusWriter(self._write_pending, first_linger=FIRST_LINGER_SECONDS)
        self.progress = ProgressEvents(events)  # a run's start, progress and end: one Event for a short run

    # ----------------------------------------------------------------- watch events

    def observe_run(self, body: dict[str, Any], deleted: bool = False, listed: bool = False) -> None:
        """A run was added, changed or deleted (from the watch); `listed`: seen by a (re-)list."""
        key = run_key(body)
        if deleted:
            self.store.forget_run(key)
            self.dispatch.forget_run(key)
            self.statuses.forget(key)
            self.progress.forget(body["metadata"].get("uid", ""))
            self.jobs.forget_run(key)
            self.pools.forget_run(key)
            self._wake_waiting_siblings(body)
        elif self.store.observe_run(body, listed):
            self.queue.add(key)
        if (parent := parent_key(body)) is not None:  # a child run changed: its parent task follows it
            self.queue.add(parent)

    # ----------------------------------------------------------------- one pass

    async def reconcile(self, key: RunKey) -> None:
        body = self.store.run(key)
        if body is None:
            return
        status = self._newest_status(key, body)
        if status.phase in FINISHED_RUN_PHASES:
            self.notifier.notify_if_due(body, status)
            self.notifier.notify_deadline_if_due(body, status)  # missed just before it finished
            if status.frozen_spec:  # a crash may have come between its last status write and this
                await self._record_assets(body, thaw_spec(status.frozen_spec), status)
            return
        now = self.clock()
        try:
            spec, run_spec, status = await self.specs.frozen(body, status)
        except InvalidRun as problem:
            await self._carry_out_invalid(body, status, str(problem), now)
            return
        started = time.perf_counter()
        try:
            await self.dispatch.fetch_pod_details(key, spec, body["metadata"].get("uid", ""))
            await self.pools.look_up(key[0], spec)
            snapshot, plan = await self._plan(key, body, spec, status, run_spec, now)
        except ApiError as error:
            self._retry_later(key, error)
            return
        # Synchronously after planning, before any await: no other pass can take these slots.
        held = self.pools.reserve(key, spec, plan.create)
        self.pools.set_waiting(key, plan.pool_waiting)
        outcome = Outcome.DONE
        if plan.create or plan.stop or plan.fail or plan.create_runs or plan.cancel_runs:
            # the run's identity and templates only when Jobs (or child runs) are touched
            identity = self.specs.identity(body, run_spec, spec)
            try:
                if plan.create or plan.create_runs:
                    tasks = plan.status.tasks or {}
                    identity.template_context.update(output_context(tasks))
                    identity.template_context.update(await self.dispatch.large_outputs.context(key[0], tasks))
                outcome = await self.dispatch.carry_out(key, identity, spec, plan.create, plan.stop, plan.fail)
                if outcome != Outcome.RETRY and (plan.create_runs or plan.cancel_runs):
                    for trouble in await self.children.carry_out(body, identity, spec, plan.create_runs,
                                                                 plan.cancel_runs):
                        log.warning("run %s/%s: %s", *key, trouble)
            except ApiError as error:
                self._retry_later(key, error)
                return
            finally:
                self.pools.release(held)
        if outcome == Outcome.RETRY:
            self.queue.add_after(key, TRANSIENT_RETRY_SECONDS)
            return
        metrics.record_plan(snapshot, plan, self.clock())
        await self._store(key, body, status, plan, now, wake_later_runs=bool(spec_traits(spec).depends_on_past))
        await self._record_assets(body, spec, plan.status)
        if self.lineage is not None:
            meta = body["metadata"]
            self.lineage.emit(lineage_events(spec, status, plan.status, meta["name"], meta["uid"], workflow_name_of(body),
                                             meta["namespace"], self.lineage_namespace, format_time(now)))
        if outcome == Outcome.REPLAN:
            self.queue.add(key)
        metrics.RECONCILE_SECONDS.observe(time.perf_counter() - started)
        metrics.QUEUE_DEPTH.set(self.queue.depth())

    async def _plan(self, key: RunKey, body: dict[str, Any], spec: WorkflowSpec, status: WorkflowRunStatus,
                    run_spec: WorkflowRunSpec, now: datetime) -> tuple[RunSnapshot, RunPlan]:
        """Plan; if the plan names Jobs the cache lacks, ask the API server and plan again."""
        context = self._conditions_context(body, run_spec, spec)  # the same in both rounds
        for _round in range(CONFIRM_ROUNDS):
            snapshot = RunSnapshot(
                run_name=body["metadata"]["name"], spec=spec, status=status, jobs=self.jobs.jobs_of(key),
                now=now, cancel=run_spec.cancel, admitted=self._admitted(key, body, spec, status),
                confirmed_missing=self.dispatch.confirmed_missing(key), start_grace_seconds=self.start_grace_seconds,
                pools=self.pools.views(key, spec), run_order=_in_line(body).order,
                context=context,
                children=self.children.views(key[0], status) if spec_traits(spec).calls_workflows else {},
                past_waiting=self._past_waiting(key, body, spec),
                **(_deadline_inputs(body) if spec.deadline else {}))
            plan = plan_run(snapshot)
            if not plan.confirm:
                break
            await self.dispatch.confirm(key, plan.confirm, spec)
        return snapshot, plan

    def _conditions_context(self, body: dict[str, Any], run_spec: WorkflowRunSpec, spec: WorkflowSpec) -> dict[str, str]:
        """Params and run fields for `when:` and `forEach.from` (built only for workflows that have one)."""
        if not spec_traits(spec).reads_run_context:
            return {}
        return self.specs.identity(body, run_spec, spec).template_context

    async def _store(self, key: RunKey, body: dict[str, Any], status: WorkflowRunStatus,
                     plan: RunPlan, now: datetime, wake_later_runs: bool = False) -> None:
        """Hand the new status to the writer, post Events, and schedule the next look.

        `wake_later_runs`: the workflow has dependsOnPast tasks, so a run that finishes wakes
        its workflow's other unfinished runs (one may wait for it)."""
        generation = body["metadata"].get("generation")
        new_status = plan.status.model_copy(update={"observed_generation": generation})
        new_status.conditions = build_run_conditions(new_status, generation, format_time(now))
        finished = new_status.phase in FINISHED_RUN_PHASES
        self._post_news(body, plan)
        if new_status != status:
            self.statuses.submit(key, (body["metadata"]["uid"], new_status))
        if finished:
            await self.statuses.flush(key)  # stored before anyone is told the run finished
        if plan.requeue_after is not None:
            self.queue.add_after(key, plan.requeue_after + 0.05)
        if plan.confirm:  # the API server could not tell yet: look again soon
            self.queue.add_after(key, TRANSIENT_RETRY_SECONDS)
        if finished:
            self._finished(self.store.run(key) or body)
            if wake_later_runs:
                self._wake_unfinished_siblings(body)
            self.queue.add(key)  # for its notifications
        else:
            self.notifier.notify_deadline_if_due(body, new_status)

    def _post_news(self, body: dict[str, Any], plan: RunPlan) -> None:
        """Post the plan's news now (failures, retries, queueing), before its status is stored;
        the run's start, end and routine progress go out with the status writes (`ProgressEvents`)."""
        for transition in plan.transitions:
            if not is_reported_with_progress(transition):
                self.events.post(body, transition.reason, transition.message, transition.type.value)

    def _retry_later(self, key: RunKey, error: ApiError) -> None:
        metrics.API_ERRORS.labels("reconcile").inc()
        log.warning("run %s/%s: cannot plan now, will retry: %s", *key, error)
        self.queue.add_after(key, TRANSIENT_RETRY_SECONDS)

    async def _carry_out_invalid(self, body: dict[str, Any], status: WorkflowRunStatus, message: str,
                                 now: datetime) -> None:
        plan = plan_invalid_run(status, message, now, body["metadata"].get("generation"))
        self._post_news(body, plan)
        await self._write_now(body, plan.status)  # RunFailed: `ProgressEvents`, with the write
        self._finished(self.store.run(run_key(body)) or body)

    # ----------------------------------------------------------------- siblings

    def _admitted(self, key: RunKey, body: dict[str, Any], spec: WorkflowSpec, status: WorkflowRunStatus) -> bool:
        if spec.max_active_runs is None:
            return True
        line = [_in_line(b) for _k, b in self.store.runs_of(key[0], workflow_name_of(body))]
        return assess_admission(_in_line(body, bool(status.started_at)), line, spec.max_active_runs)

    async def _record_assets(self, body: dict[str, Any], spec: WorkflowSpec, status: WorkflowRunStatus) -> None:
        """Materializations of the run's Succeeded producing tasks onto their DataAssets (idempotent)."""
        await self.assets.record_run(body, spec, status, workflow_name_of(body), _logical_date(body))

    def _past_waiting(self, key: RunKey, body: dict[str, Any], spec: WorkflowSpec) -> dict[str, str]:
        """dependsOnPast tasks that must wait, judged from the workflow's other runs (planner/past.py)."""
        tasks = list(spec_traits(spec).depends_on_past)
        if not tasks:
            return {}
        others = [PastRun(b["metadata"]["name"], _logical_date(b), is_finished(b),
                          {name: str(t.phase) for name, t in (self.store.status_of(b).tasks or {}).items()})
                  for other_key, b in self.store.runs_of(key[0], workflow_name_of(body)) if other_key != key]
        return assess_past(tasks, body["metadata"]["name"], _logical_date(body), others)

    def _wake_waiting_siblings(self, body: dict[str, Any]) -> None:
        for other_key, other in self.store.runs_of(body["metadata"]["namespace"], workflow_name_of(body)):
            if run_phase(other) in _WAITING:
                self.queue.add(other_key)

    def _wake_unfinished_siblings(self, body: dict[str, Any]) -> None:
        """A run finished: its workflow's later runs may have tasks waiting for it (dependsOnPast)."""
        for other_key, other in self.store.runs_of(body["metadata"]["namespace"], workflow_name_of(body)):
            if not is_finished(other):
                self.queue.add(other_key)

    def _finished(self, body: dict[str, Any]) -> None:
        self.dispatch.forget_run(run_key(body))
        self.pools.forget_run(run_key(body))
        self.progress.forget(body["metadata"]["uid"])
        self._wake_waiting_siblings(body)
        for callback in self.on_finished:
            callback(body)

    # ----------------------------------------------------------------- status

    def _newest_status(self, key: RunKey, body: dict[str, Any]) -> WorkflowRunStatus:
        """The newest status of the run: the one handed to the writer if not yet written."""
        pending = self.statuses.pending(key)
        if pending is not None and pending[0] == body["metadata"].get("uid"):
            return keep_deadline_records(pending[1], self.store.status_of(body))
        return self.store.status_of(body)

    async def _record_notified(self, body: dict[str, Any],
                               update: Callable[[WorkflowRunStatus], WorkflowRunStatus]) -> None:
        latest = self.store.run(run_key(body)) or body
        await self._write_now(latest, update(self._newest_status(run_key(body), latest)))

    async def _write_now(self, body: dict[str, Any], status: WorkflowRunStatus) -> None:
        """Hand `status` to the writer and wait until it is stored (after earlier writes)."""
        key = run_key(body)
        self.statuses.submit(key, (body["metadata"]["uid"], status))
        await self.statuses.flush(key)

    async def _write_pending(self, key: RunKey, pending: Pending) -> None:
        """The writer's call: patch the cached run, if it is still the run the status is for."""
        uid, status = pending
        body = self.store.run(key)
        if body is None or body["metadata"].get("uid") != uid:
            return
        stored = self.store.status_of(body)
        status = keep_deadline_records(status, stored)  # planned from an older status: keep the records
        if await self._write_status(body, status):
            self.progress.written(body, stored, status)

    async def _write_status(self, body: dict[str, Any], status: WorkflowRunStatus) -> bool:
        """Patch what changed; False when nothing did or the run is gone."""
        patch = merge_patch(body.get("status") or {}, status.to_wire())
        if not patch:
            return False
        meta = body["metadata"]
        try:
            updated = await asyncio.to_thread(resources.patch_status, self.http, meta["namespace"], RUNS, meta["name"], patch)
        except NotFound:
            return False
        self.store.observe_written({**updated, "apiVersion": updated.get("apiVersion", API_VERSION),
                                    "kind": updated.get("kind", "WorkflowRun")})
        return True


def _logical_date(body: dict[str, Any]) -> datetime:
    """A run's logical date: spec.logicalDate, else its creation time."""
    return parse_time((body.get("spec") or {}).get("logicalDate") or body["metadata"]["creationTimestamp"])


def _deadline_inputs(body: dict[str, Any]) -> dict[str, datetime | None]:
    """The times a deadline is measured from (parsed only for workflows that have one)."""
    logical, created = (body.get("spec") or {}).get("logicalDate"), body["metadata"].get("creationTimestamp")
    return {"logical_date": parse_time(logical) if logical else None,
            "created_at": parse_time(created) if created else None}


def _in_line(body: dict[str, Any], started: bool | None = None) -> RunInLine:
    """How admission sees a run: its place in line, whether it started or finished."""
    status = body.get("status") or {}
    return RunInLine(
        name=body["metadata"]["name"],
        order=(body.get("spec") or {}).get("logicalDate") or body["metadata"].get("creationTimestamp", ""),
        started=bool(status.get("startedAt")) if started is None else started,
        finished=is_finished(body),
    )
