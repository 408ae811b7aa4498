"""Reconciling one WorkflowRun: snapshot -> `plan_run` -> API calls, once per pass.

The wiring between the pure planner and the thin API layer. A pass reads the run from the
cache fed by the watch, its Jobs from the `JobIndex`, freezes the workflow on the first pass,
asks the planner what to do, creates/stops Jobs, writes the status at most once (a merge
patch of what changed) and queues Events. Transient API failures skip the status write and
requeue the run, so the status never claims a Job that does not exist.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from dagwright.api.frozen import freeze_spec, thaw_spec
from dagwright.api.models import (
    API_VERSION,
    FINISHED_RUN_PHASES,
    FINISHED_TASK_PHASES,
    Condition,
    Notification,
    RunPhase,
    TaskPhase,
    TaskStatus,
    WorkflowRunSpec,
    WorkflowRunStatus,
    WorkflowSpec,
)
from dagwright.api.runtime import run_data_interval, run_logical_date
from dagwright.api.validation import Problem, validate_workflow_spec
from dagwright.controller import metrics
from dagwright.controller.events import EventSink
from dagwright.controller.mergepatch import merge_patch
from dagwright.controller.notify import build_payload, deliver, due_notifications
from dagwright.controller.review import validation_messages
from dagwright.controller.statuswriter import StatusWriter
from dagwright.controller.workqueue import WorkQueue
from dagwright.kube import resources
from dagwright.kube.http import ApiError, KubeHttp
from dagwright.kube.jobindex import JobIndex, RunKey
from dagwright.kube.observe import describe_pod_failure, needs_pod_detail, observe_job, read_termination_message
from dagwright.planner.conditions import build_run_conditions
from dagwright.planner.run import is_routine, plan_run, routine_transitions
from dagwright.planner.snapshot import JobState, JobToCreate, ObservedJob, RunSnapshot
from dagwright.planner.timefmt import format_time, parse_time
from dagwright.render.checks import param_default_problems, run_param_problems, template_problems
from dagwright.render.job import LABEL_WORKFLOW, RunIdentity, build_job
from dagwright.render.names import label_value
from dagwright.render.outputs import output_context, parse_outputs, tasks_with_used_outputs
from dagwright.render.templating import TemplateError, build_template_context

log = logging.getLogger("dagwright.runs")

RUNS = "workflowruns"
WORKFLOWS = "workflows"
TRANSIENT_RETRY_SECONDS = 2.0
PARSED_CACHE_SIZE = 10_000


class InvalidRun(Exception):
    """The run cannot start: its message names the offending task or field."""


def run_key(body: dict[str, Any]) -> RunKey:
    """The key of a run: (namespace, its name as a label value), as Jobs are labelled."""
    return body["metadata"]["namespace"], label_value(body["metadata"]["name"])


def workflow_name_of(body: dict[str, Any]) -> str:
    """The workflow a run belongs to (its ref, or its own name for an inline spec)."""
    ref = (body.get("spec") or {}).get("workflowRef") or {}
    return ref.get("name") or body["metadata"].get("labels", {}).get(LABEL_WORKFLOW) or body["metadata"]["name"]


def _resource_version(body: dict[str, Any]) -> int:
    try:
        return int(body["metadata"].get("resourceVersion", 0))
    except (TypeError, ValueError):
        return 0


def format_validation_error(error: ValidationError, prefix: str) -> str:
    """Pydantic errors as one line: `field.path: message; ...`."""
    return "; ".join(validation_messages(error, prefix)[:5])


class RunReconciler:
    """Holds the caches fed by the watches and reconciles one run per call."""

    def __init__(self, http: KubeHttp, jobs: JobIndex, events: EventSink, queue: WorkQueue,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.http = http
        self.jobs = jobs
        self.events = events
        self.queue = queue
        self.clock = clock
        self.runs: dict[RunKey, dict[str, Any]] = {}
        self.workflows: dict[tuple[str, str], dict[str, Any]] = {}
        self.on_finished: list[Callable[[dict[str, Any]], None]] = []
        self._pod_checked: dict[RunKey, set[str]] = {}  # Jobs whose pod we read, per unfinished run
        self._notifying: set[str] = set()
        self._parsed: dict[str, tuple[str, WorkflowRunStatus]] = {}
        # statuses decided but not yet written, by run key, with the uid of the run they are for
        self.statuses: StatusWriter[RunKey, tuple[str, WorkflowRunStatus]] = StatusWriter(self._write_pending)

    # ----------------------------------------------------------------- caches

    def observe_run(self, body: dict[str, Any], deleted: bool = False) -> None:
        """A run was added, changed or deleted (from the watch)."""
        key = run_key(body)
        if deleted:
            self.runs.pop(key, None)
            self._pod_checked.pop(key, None)
            self.statuses.forget(key)
            self.jobs.forget_run(key)
            self._wake_queued_siblings(body)
            return
        current = self.runs.get(key)
        if current is not None and current["metadata"].get("uid") == body["metadata"].get("uid"):
            if _resource_version(body) <= _resource_version(current):
                return  # the echo of our own status write (already cached), or an older event
        self.runs[key] = body
        self.queue.add(key)

    def observe_workflow(self, body: dict[str, Any], deleted: bool = False) -> None:
        key = (body["metadata"]["namespace"], body["metadata"]["name"])
        if deleted:
            self.workflows.pop(key, None)
        else:
            self.workflows[key] = body

    # ----------------------------------------------------------------- one pass

    async def reconcile(self, key: RunKey) -> None:
        body = self.runs.get(key)
        if body is None:
            return
        status = self._status_for_pass(key, body)
        if status.phase in FINISHED_RUN_PHASES:
            self._notify_if_due(body, status)
            return
        now = self.clock()
        try:
            spec, run_spec, status = await self._frozen(body, status)
        except InvalidRun as problem:
            await self._fail_invalid(body, status, str(problem), now)
            return
        identity = self._identity(body, run_spec, spec)
        await self._fetch_pod_details(key, spec)
        snapshot = RunSnapshot(
            run_name=body["metadata"]["name"], spec=spec, status=status, jobs=self.jobs.jobs_of(key),
            now=now, cancel=run_spec.cancel, admitted=self._admitted(key, body, spec, status),
        )
        started = time.perf_counter()
        plan = plan_run(snapshot)
        if plan.create:
            identity.template_context.update(output_context(plan.status.tasks or {}))
        ok = await self._carry_out(key, identity, spec, plan.create, plan.stop)
        if not ok:
            self.queue.add_after(key, TRANSIENT_RETRY_SECONDS)
            return
        record_plan_metrics(snapshot, plan, self.clock())
        generation = body["metadata"].get("generation")
        new_status = plan.status.model_copy(update={"observed_generation": generation})
        new_status.conditions = build_run_conditions(new_status, generation, format_time(now))
        if new_status != status:
            self.statuses.submit(key, (body["metadata"]["uid"], new_status))
        if new_status.phase in FINISHED_RUN_PHASES:
            await self.statuses.flush(key)  # stored before anyone is told the run finished
        for transition in plan.transitions:
            if not is_routine(transition):  # routine progress is posted with the status write
                self.events.post(body, transition.reason, transition.message, transition.type.value)
        if plan.requeue_after is not None:
            self.queue.add_after(key, plan.requeue_after + 0.05)
        if new_status.phase in FINISHED_RUN_PHASES:
            self._finished(self.runs.get(key, body))
            self.queue.add(key)  # for its notifications
        metrics.RECONCILE_SECONDS.observe(time.perf_counter() - started)
        metrics.QUEUE_DEPTH.set(self.queue.depth())

    # ----------------------------------------------------------------- freezing

    def _status_for_pass(self, key: RunKey, body: dict[str, Any]) -> WorkflowRunStatus:
        """The newest status of the run: the one handed to the writer if not yet written."""
        pending = self.statuses.pending(key)
        if pending is not None and pending[0] == body["metadata"].get("uid"):
            return pending[1]
        return self._parse_status(body)

    def _parse_status(self, body: dict[str, Any]) -> WorkflowRunStatus:
        """The run's status as a model; parsed once per resourceVersion (big runs' hot path)."""
        version = body["metadata"].get("resourceVersion")
        cached = self._parsed.get(body["metadata"].get("uid"))
        if cached is not None and version is not None and cached[0] == version:
            return cached[1]
        try:
            status = WorkflowRunStatus.model_validate(body.get("status") or {})
        except ValidationError as error:
            log.warning("run %s has a status we cannot read (%s); starting from empty",
                        body["metadata"]["name"], error.error_count())
            return WorkflowRunStatus()
        if len(self._parsed) > PARSED_CACHE_SIZE:
            self._parsed.clear()
        self._parsed[body["metadata"].get("uid")] = (version, status)
        return status

    async def _frozen(self, body: dict[str, Any], status: WorkflowRunStatus
                      ) -> tuple[WorkflowSpec, WorkflowRunSpec, WorkflowRunStatus]:
        try:
            run_spec = WorkflowRunSpec.model_validate(body.get("spec") or {})
        except ValidationError as error:
            raise InvalidRun(format_validation_error(error, "spec")) from error
        if status.frozen_spec:
            return thaw_spec(status.frozen_spec), run_spec, status
        if run_spec.retry_of is not None:
            return await self._retried(body, run_spec)
        spec, generation = await self._resolve(body, run_spec)
        problems = validate_workflow_spec(spec) + await asyncio.to_thread(self._template_problems, body, run_spec, spec)
        if problems:
            raise InvalidRun("; ".join(str(p) for p in problems[:10]))
        return spec, run_spec, status.model_copy(
            update={"frozen_spec": freeze_spec(spec), "workflow_generation": generation})

    async def _retried(self, body: dict[str, Any], run_spec: WorkflowRunSpec
                       ) -> tuple[WorkflowSpec, WorkflowRunSpec, WorkflowRunStatus]:
        """Start from the run being retried: its frozen DAG and its succeeded tasks."""
        namespace, name = body["metadata"]["namespace"], run_spec.retry_of.name  # type: ignore[union-attr]
        original = self.runs.get((namespace, label_value(name)))
        if original is None or original["metadata"]["name"] != name:
            original = await asyncio.to_thread(resources.get_custom, self.http, namespace, RUNS, name)
        if original is None:
            raise InvalidRun(f"spec.retryOf.name: WorkflowRun '{name}' not found in namespace '{namespace}'")
        previous = self._parse_status(original)
        if not previous.frozen_spec or previous.phase not in FINISHED_RUN_PHASES:
            raise InvalidRun(f"spec.retryOf.name: WorkflowRun '{name}' has not finished")
        status = WorkflowRunStatus(
            frozen_spec=previous.frozen_spec, workflow_generation=previous.workflow_generation,
            tasks=reused_tasks(previous, name))
        return thaw_spec(previous.frozen_spec), run_spec, status

    async def _resolve(self, body: dict[str, Any], run_spec: WorkflowRunSpec) -> tuple[WorkflowSpec, int | None]:
        if (run_spec.workflow_ref is None) == (run_spec.workflow_spec is None):
            raise InvalidRun("spec: exactly one of workflowRef or workflowSpec is required")
        if run_spec.workflow_spec is not None:
            return run_spec.workflow_spec, None
        namespace = body["metadata"]["namespace"]
        name = run_spec.workflow_ref.name  # type: ignore[union-attr]
        workflow = self.workflows.get((namespace, name))
        if workflow is None:
            workflow = await asyncio.to_thread(resources.get_custom, self.http, namespace, WORKFLOWS, name)
        if workflow is None:
            raise InvalidRun(f"spec.workflowRef.name: Workflow '{name}' not found in namespace '{namespace}'")
        try:
            spec = WorkflowSpec.model_validate(workflow.get("spec") or {})
        except ValidationError as error:
            raise InvalidRun(f"Workflow '{name}': " + format_validation_error(error, "spec")) from error
        return spec, workflow["metadata"].get("generation")

    def _template_problems(self, body: dict[str, Any], run_spec: WorkflowRunSpec, spec: WorkflowSpec) -> list[Problem]:
        # Parameters and their defaults first: the task checks need them to render.
        problems = run_param_problems(spec, run_spec.params) + param_default_problems(spec)
        return problems or template_problems(spec, self._identity(body, run_spec, spec))

    def _identity(self, body: dict[str, Any], run_spec: WorkflowRunSpec, spec: WorkflowSpec) -> RunIdentity:
        meta = body["metadata"]
        logical = run_logical_date(run_spec, meta, format_time(self.clock()))
        # spec.dataInterval; runs created by older versions carry it in annotations instead
        interval = run_data_interval(run_spec, meta.get("annotations"))
        defaults = {p.name: p.default for p in spec.params or []}
        context = build_template_context(
            run_name=meta["name"], namespace=meta["namespace"], workflow=workflow_name_of(body),
            logical_date=logical, param_defaults=defaults, run_params=run_spec.params or {},
            data_interval=interval)
        return RunIdentity(name=meta["name"], namespace=meta["namespace"], uid=meta["uid"],
                           workflow=workflow_name_of(body), template_context=context)

    async def _fail_invalid(self, body: dict[str, Any], status: WorkflowRunStatus, message: str, now: datetime) -> None:
        stamp = format_time(now)
        generation = body["metadata"].get("generation")
        failed = status.model_copy(update={
            "phase": RunPhase.FAILED, "message": f"invalid workflow: {message}",
            "started_at": status.started_at or stamp, "finished_at": stamp,
            "conditions": [Condition(type="Valid", status="False", reason="InvalidSpec", message=message,
                                     last_transition_time=stamp,
                                     observed_generation=generation)],
            "observed_generation": generation,
        })
        failed.conditions = build_run_conditions(failed, generation, stamp)
        await self._write_now(body, failed)
        self.events.post(body, "InvalidSpec", message, "Warning")
        self._finished(self.runs.get(run_key(body), body))

    # ----------------------------------------------------------------- admission

    def _admitted(self, key: RunKey, body: dict[str, Any], spec: WorkflowSpec, status: WorkflowRunStatus) -> bool:
        """maxActiveRuns: a run starts when fewer than that many siblings run or wait before it."""
        if spec.max_active_runs is None or status.started_at:
            return True
        namespace, workflow = key[0], workflow_name_of(body)

        def order(b: dict[str, Any]) -> tuple[str, str]:
            return ((b.get("spec") or {}).get("logicalDate") or b["metadata"].get("creationTimestamp", ""),
                    b["metadata"]["name"])

        mine = order(body)
        ahead = 0
        for other_key, other in self.runs.items():
            if other_key == key or other_key[0] != namespace or workflow_name_of(other) != workflow:
                continue
            other_status = other.get("status") or {}
            if other_status.get("phase") in {p.value for p in FINISHED_RUN_PHASES}:
                continue
            if other_status.get("startedAt") or order(other) < mine:
                ahead += 1
        return ahead < spec.max_active_runs

    def _wake_queued_siblings(self, body: dict[str, Any]) -> None:
        namespace, workflow = body["metadata"]["namespace"], workflow_name_of(body)
        for other_key, other in self.runs.items():
            if other_key[0] == namespace and workflow_name_of(other) == workflow and \
                    (other.get("status") or {}).get("phase") in (None, RunPhase.QUEUED.value, RunPhase.PENDING.value):
                self.queue.add(other_key)

    def _finished(self, body: dict[str, Any]) -> None:
        self._pod_checked.pop(run_key(body), None)
        self._wake_queued_siblings(body)
        for callback in self.on_finished:
            try:
                callback(body)
            except Exception:  # noqa: BLE001 - a hook must not break reconciling
                log.exception("on-finished hook failed for %s", body["metadata"]["name"])

    # ----------------------------------------------------------------- notifications

    def _notify_if_due(self, body: dict[str, Any], status: WorkflowRunStatus) -> None:
        """Start delivering the run's notifications once (the Notified condition records it)."""
        if not status.frozen_spec or any(c.type == "Notified" for c in status.conditions or []):
            return
        spec = thaw_spec(status.frozen_spec)
        due = due_notifications(spec.notifications, status.phase)
        uid = body["metadata"]["uid"]
        if not due or uid in self._notifying:
            return
        self._notifying.add(uid)
        task = asyncio.create_task(self._send_notifications(body, status, due))
        task.add_done_callback(lambda _: self._notifying.discard(uid))

    async def _send_notifications(self, body: dict[str, Any], status: WorkflowRunStatus,
                                  due: list[Notification]) -> None:
        payload = build_payload(body, workflow_name_of(body), status)
        errors = []
        for i, notification in enumerate(due):
            try:
                url = await asyncio.to_thread(self._webhook_url, body["metadata"]["namespace"], notification)
                error = await asyncio.to_thread(deliver, url, payload)
            except (ApiError, ValueError) as exc:
                error = f"cannot read the webhook URL: {exc}"
            if error:
                errors.append(f"notification {i}: {error}")
        message = "; ".join(errors) if errors else f"{len(due)} notification(s) delivered"
        self.events.post(body, "NotificationFailed" if errors else "NotificationSent", message,
                         "Warning" if errors else "Normal")
        latest = self.runs.get(run_key(body), body)
        current = self._status_for_pass(run_key(body), latest)
        condition = Condition(type="Notified", status="False" if errors else "True",
                              reason="DeliveryFailed" if errors else "Delivered", message=message,
                              last_transition_time=format_time(self.clock()))
        await self._write_now(latest, current.model_copy(
            update={"conditions": [*(current.conditions or []), condition]}))

    def _webhook_url(self, namespace: str, notification: Notification) -> str:
        webhook = notification.webhook
        if webhook.url:
            return webhook.url
        if webhook.url_from is None:
            raise ValueError("webhook has neither url nor urlFrom")
        ref = webhook.url_from.secret_key_ref
        url = resources.get_secret_value(self.http, namespace, ref.name, ref.key).strip()
        if not url:
            raise ValueError(f"Secret {ref.name} has no key {ref.key}")
        return url

    # ----------------------------------------------------------------- carrying out

    async def _fetch_pod_details(self, key: RunKey, spec: WorkflowSpec) -> None:
        """What only pods know — exit codes, outputs later tasks use — when the pod watch missed it."""
        wants_outputs = tasks_with_used_outputs(spec)
        checked = self._pod_checked.setdefault(key, set())
        for jobs in self.jobs.jobs_of(key).values():
            for job in jobs:
                wants_detail = needs_pod_detail(job) and "exit code" not in (job.failure or "")
                reads_outputs = (job.state == JobState.SUCCEEDED and job.task in wants_outputs
                                 and job.outputs is None and job.outputs_error is None)
                if not reads_outputs and (job.name in checked or not wants_detail):
                    continue
                checked.add(job.name)
                facts = self.jobs.pod_facts(key, job.name)
                message, failure = (facts.message, facts.failure) if facts else (None, None)
                if facts is None:
                    try:
                        pods = await asyncio.to_thread(resources.list_pods, self.http, key[0], f"job-name={job.name}")
                    except ApiError as error:
                        log.warning("could not read the pod of %s: %s", job.name, error)
                        continue
                    message, failure = read_termination_message(pods), describe_pod_failure(pods)
                if reads_outputs:
                    outputs, outputs_error = parse_outputs(message)
                    self.jobs.enrich(key, job.name, outputs=tuple(sorted((outputs or {}).items())),
                                     outputs_error=outputs_error)
                elif failure:
                    self.jobs.enrich(key, job.name, failure=failure)

    async def _carry_out(self, key: RunKey, identity: RunIdentity, spec: WorkflowSpec,
                         create: list[JobToCreate], stop: list[str]) -> bool:
        by_name = {t.name: t for t in spec.tasks}
        calls = [asyncio.to_thread(self._create_one, key, identity, spec, by_name[c.task], c) for c in create]
        calls += [asyncio.to_thread(resources.suspend_job, self.http, identity.namespace, name) for name in stop]
        results = await asyncio.gather(*calls, return_exceptions=True)
        failures = [r for r in results if isinstance(r, BaseException)]
        for failure in failures:
            metrics.API_ERRORS.labels("carry_out").inc()
            log.warning("run %s/%s: API call failed, will retry: %s", identity.namespace, identity.name, failure)
        return not failures

    def _create_one(self, key: RunKey, identity: RunIdentity, spec: WorkflowSpec, task: Any, job: JobToCreate) -> None:
        """Create one attempt's Job; 409 means it exists: adopt it if it is this run's."""
        now = self.clock()
        try:
            manifest = build_job(identity, spec, task, job.attempt)
            created = resources.create_job(self.http, manifest)
        except ApiError as error:
            if error.status == 409:
                existing = resources.get_job(self.http, identity.namespace, job.name)
                if existing is None:
                    raise
                owners = {o.get("uid") for o in existing["metadata"].get("ownerReferences") or []}
                if identity.uid in owners:
                    observed = observe_job(existing, now)
                    if observed is not None:
                        self.jobs.record(key, observed)
                    return
                self._record_failure(key, job, f"a Job named {job.name} already exists and is not this run's")
                return
            if error.status in (400, 422) or (error.status == 403 and "quota" not in error.reason):
                self._record_failure(key, job, f"the API server refused the Job: {error.reason}")
                return
            raise
        except (TemplateError, ValueError) as error:
            self._record_failure(key, job, f"cannot render the Job: {error}")
            return
        observed = observe_job(created, now)
        if observed is not None:
            self.jobs.record(key, observed)

    def _record_failure(self, key: RunKey, job: JobToCreate, reason: str) -> None:
        now = self.clock()
        self._pod_checked.setdefault(key, set()).add(job.name)
        self.jobs.record(key, ObservedJob(job.name, job.task, job.attempt, JobState.FAILED, now, now, reason))

    async def _write_now(self, body: dict[str, Any], status: WorkflowRunStatus) -> None:
        """Hand `status` to the writer and wait until it is stored (after earlier writes)."""
        key = run_key(body)
        self.statuses.submit(key, (body["metadata"]["uid"], status))
        await self.statuses.flush(key)

    async def _write_pending(self, key: RunKey, pending: tuple[str, WorkflowRunStatus]) -> None:
        """The writer's call: patch the cached run, if it is still the run the status is for."""
        uid, status = pending
        body = self.runs.get(key)
        if body is None or body["metadata"].get("uid") != uid:
            return
        stored = self._parse_status(body)
        if await self._write_status(body, status):
            for transition in routine_transitions(stored, status):
                self.events.post(body, transition.reason, transition.message, transition.type.value)

    async def _write_status(self, body: dict[str, Any], status: WorkflowRunStatus) -> bool:
        """Patch what changed; False when nothing did or the run is gone."""
        patch = merge_patch(body.get("status") or {}, status.to_wire())
        if not patch:
            return False
        meta = body["metadata"]
        try:
            updated = await asyncio.to_thread(resources.patch_status, self.http, meta["namespace"], RUNS, meta["name"], patch)
        except ApiError as error:
            if error.status == 404:
                return False
            raise
        updated.setdefault("apiVersion", API_VERSION)
        updated.setdefault("kind", "WorkflowRun")
        self.observe_run_written(updated)
        return True

    def observe_run_written(self, body: dict[str, Any]) -> None:
        """Our own write's answer is the newest state: cache it without re-queueing."""
        key = run_key(body)
        current = self.runs.get(key)
        if current is None or _resource_version(body) >= _resource_version(current):
            self.runs[key] = body


def record_plan_metrics(snapshot: RunSnapshot, plan: Any, now: datetime) -> None:
    """Count what a carried-out plan changed: runs, tasks, Jobs, dispatch latency."""
    old = snapshot.status
    new = plan.status
    if new.phase != old.phase:
        if new.phase == RunPhase.RUNNING:
            metrics.RUNS_STARTED.inc()
        elif new.phase in FINISHED_RUN_PHASES:
            metrics.RUNS_FINISHED.labels(RunPhase(new.phase).value).inc()
    old_tasks = old.tasks or {}
    for name, task in (new.tasks or {}).items():
        before = old_tasks.get(name)
        if task.phase in FINISHED_TASK_PHASES and (before is None or before.phase != task.phase):
            metrics.TASKS_FINISHED.labels(TaskPhase(task.phase).value).inc()
            if task.started_at and task.finished_at:
                metrics.TASK_DURATION.observe(
                    (parse_time(task.finished_at) - parse_time(task.started_at)).total_seconds())
    depends = {t.name: t.depends_on or [] for t in snapshot.spec.tasks}
    for job in plan.create:
        metrics.JOBS_CREATED.inc()
        finished = [j.finished_at for dep in depends.get(job.task, []) for j in snapshot.jobs.get(dep, [])
                    if j.finished_at is not None]
        if job.attempt == 1 and finished:
            metrics.DISPATCH_LATENCY.observe(max((now - max(finished)).total_seconds(), 0.0))


def reused_tasks(previous: WorkflowRunStatus, name: str) -> dict[str, TaskStatus]:
    """The succeeded tasks of run `name`, carried into its retry (pure)."""
    return {
        task: status.model_copy(update={"attempts": 0, "message": f"reused from {name}"})
        for task, status in (previous.tasks or {}).items() if status.phase == TaskPhase.SUCCEEDED
    }
