"""`Dispatcher`: carries out a plan's Job calls — create, adopt on 409, stop, fail — and reads pods.

A "Job" here is a task attempt: a batch/v1 Job, or a bare Pod with `taskResource: Pod`; the
calls for each kind are in `controller/attempts.py`, chosen per run from its spec.

The only place that creates or stops task Jobs. Names are deterministic, so a create that
answers 409 AlreadyExists means "carry on": the Job is adopted when this run owns it. A
refusal that retrying cannot cure (invalid manifest, forbidden) becomes a failed attempt; a
transient error makes the whole pass fail so that nothing is written about Jobs that may
not exist. What the watch cache lacks is looked up here before anyone calls a Job deleted.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from enum import Enum
from typing import Any

from dagwright.api.models import Task, WorkflowSpec
from dagwright.api.vocabulary import ANNOTATION_LOG_TAIL
from dagwright.controller import metrics
from dagwright.controller.attempts import AttemptCalls, attempts_for
from dagwright.controller.largeoutputs import LargeOutputs
from dagwright.kube import resources
from dagwright.kube.errors import AlreadyExists, ApiError, BadRequest, Conflict, Forbidden, Invalid
from dagwright.kube.http import KubeHttp
from dagwright.kube.jobindex import JobIndex, RunKey
from dagwright.kube.observe import (
    PodFailure,
    is_timed_out,
    needs_pod_detail,
    read_pod_failure,
    read_termination_message,
)
from dagwright.planner.snapshot import FailureKind, JobState, JobToCreate, ObservedJob
from dagwright.render.job import RunIdentity
from dagwright.render.large_outputs import parse_manifest
from dagwright.render.outputs import parse_outputs, tasks_with_read_outputs
from dagwright.render.templating import TemplateError

log = logging.getLogger("dagwright.dispatch")
# What a timed-out attempt keeps of its log (on its Job, annotation dagwright.io/log-tail).
LOG_TAIL_LINES = 20
LOG_TAIL_BYTES = 4096


class Outcome(str, Enum):
    """How carrying out a plan's Job calls went."""

    DONE = "done"
    RETRY = "retry"  # a call failed in a way worth retrying: write nothing, look again soon
    REPLAN = "replan"  # done, but some attempts failed at once (refused, unrenderable): plan again now


class Dispatcher:
    """Job calls for the runs, with the bookkeeping they need (pods read, Jobs confirmed gone)."""

    def __init__(self, http: KubeHttp, jobs: JobIndex, clock: Callable[[], datetime]) -> None:
        self.http = http
        self.jobs = jobs
        self.clock = clock
        self.large_outputs = LargeOutputs(http)
        self._pod_checked: dict[RunKey, set[str]] = {}  # Jobs whose pod we read, per unfinished run
        self._missing: dict[RunKey, set[str]] = {}  # Jobs the API server said do not exist
        self._log_kept: dict[RunKey, set[str]] = {}  # timed-out Jobs whose log tail we kept

    def forget_run(self, key: RunKey) -> None:
        self._pod_checked.pop(key, None)
        self._missing.pop(key, None)
        self._log_kept.pop(key, None)

    def confirmed_missing(self, key: RunKey) -> frozenset[str]:
        return frozenset(self._missing.get(key, ()))

    # ----------------------------------------------------------------- looking

    async def confirm(self, key: RunKey, names: list[str], spec: WorkflowSpec) -> None:
        """Ask the API server for Jobs the cache lacks: adopt the ones that exist, note the rest.

        Raises ApiError when it cannot tell (the pass is retried; nothing is decided meanwhile).
        """
        calls = attempts_for(spec)
        found = await asyncio.gather(*(asyncio.to_thread(calls.get, self.http, key[0], n) for n in names))
        now = self.clock()
        for name, job in zip(names, found, strict=True):
            observed = calls.observe(job, now) if job is not None else None
            if observed is None:
                self._missing.setdefault(key, set()).add(name)
            else:
                self.jobs.record(key, observed, pod=calls.pods)

    async def fetch_pod_details(self, key: RunKey, spec: WorkflowSpec, run_uid: str) -> None:
        """What only pods know — exit codes, outputs later tasks use — when the pod watch missed it."""
        wants_outputs = tasks_with_read_outputs(spec)
        checked = self._pod_checked.setdefault(key, set())
        kept = self._log_kept.setdefault(key, set())
        for jobs in self.jobs.jobs_of(key).values():
            for job in jobs:
                if is_timed_out(job) and job.name not in kept and not attempts_for(spec).pods:  # a Pod keeps its log
                    kept.add(job.name)
                    await asyncio.to_thread(self._keep_log_tail, key[0], job.name)
                wants_detail = needs_pod_detail(job)
                reads_outputs = (job.state == JobState.SUCCEEDED and job.task in wants_outputs
                                 and job.outputs is None and job.outputs_error is None)
                if not reads_outputs and (job.name in checked or not wants_detail):
                    continue
                checked.add(job.name)
                facts = self.jobs.pod_facts(key, job.name)
                message = facts.message if facts else None
                failure = (PodFailure(facts.failure_kind, facts.failure, facts.exit_code)
                           if facts and facts.failure and facts.failure_kind else None)
                if facts is None:
                    try:
                        pods = await asyncio.to_thread(resources.attempt_pods, self.http, key[0], job.name)
                    except ApiError as error:
                        log.warning("could not read the pod of %s: %s", job.name, error)
                        continue
                    message, failure = read_termination_message(pods), read_pod_failure(pods)
                if reads_outputs:
                    await self._read_outputs(key, job, message, run_uid)
                elif failure:
                    self.jobs.enrich(key, job.name, failure_kind=failure.kind, failure=failure.text,
                                     exit_code=failure.exit_code)

    async def _read_outputs(self, key: RunKey, job: ObservedJob, message: str | None, run_uid: str) -> None:
        """A finished attempt's outputs: from its termination message, or collected from its
        log when the message is a `largeOutputs` manifest (then only the ConfigMap is noted)."""
        manifest = parse_manifest(message)
        if manifest is None:
            outputs, outputs_error = parse_outputs(message)
            self.jobs.enrich(key, job.name, outputs=tuple(sorted((outputs or {}).items())),
                             outputs_error=outputs_error)
            return
        collected = await self.large_outputs.collect(key[0], key[1], run_uid, job.task, job.name, manifest)
        if collected.ref is not None:
            self.jobs.enrich(key, job.name, outputs=(), outputs_ref=collected.ref)
        else:
            self.jobs.enrich(key, job.name, outputs_error=collected.error)

    def _keep_log_tail(self, namespace: str, job: str) -> None:
        """A timed-out attempt: the Job controller is deleting its pod (it waits the pod's grace
        period): store the log's last lines on the Job before the pod is gone. Best effort."""
        try:
            pods = resources.list_pods(self.http, namespace, f"job-name={job}")
            if not pods:
                return
            tail = resources.pod_log_tail(self.http, namespace, pods[0]["metadata"]["name"],
                                          LOG_TAIL_LINES, LOG_TAIL_BYTES)
            if tail:
                resources.annotate_job(self.http, namespace, job, {ANNOTATION_LOG_TAIL: tail})
        except Exception as error:  # noqa: BLE001 - best effort: a lost log tail never fails a pass
            log.info("could not keep the log of timed-out %s/%s: %s", namespace, job, error)

    # ----------------------------------------------------------------- acting

    async def carry_out(self, key: RunKey, identity: RunIdentity, spec: WorkflowSpec,
                        create: list[JobToCreate], stop: list[str],
                        fail: list[tuple[str, str]] | None = None) -> Outcome:
        """Create, stop and fail Jobs at once (see `Outcome`)."""
        by_name = {t.name: t for t in spec.tasks}
        kind = attempts_for(spec)
        calls = [asyncio.to_thread(self._create_one, key, identity, spec, by_name[c.task], c) for c in create]
        calls += [asyncio.to_thread(self._stop_one, kind, identity.namespace, name) for name in stop]
        calls += [asyncio.to_thread(self._fail_one, kind, identity.namespace, name, why) for name, why in fail or []]
        results = await asyncio.gather(*calls, return_exceptions=True)
        failures = [r for r in results if isinstance(r, BaseException)]
        for failure in failures:
            metrics.API_ERRORS.labels("carry_out").inc()
            log.warning("run %s/%s: API call failed, will retry: %s", identity.namespace, identity.name, failure)
        if failures:
            return Outcome.RETRY
        return Outcome.REPLAN if any(r is False for r in results) else Outcome.DONE

    def _create_one(self, key: RunKey, identity: RunIdentity, spec: WorkflowSpec, task: Task, job: JobToCreate) -> bool:
        """Create one attempt's Job; 409 means it exists: adopt it if it is this run's.

        False when the attempt failed at once (recorded as a failed Job for the next plan).
        """
        now = self.clock()
        kind = attempts_for(spec)
        try:
            if job.item is not None:
                identity = replace(identity, template_context={**identity.template_context, **dict(job.item_values)})
            manifest = kind.build(identity, spec, task, job.attempt, job.item)
            created = kind.create(self.http, manifest)
        except AlreadyExists:
            return self._adopt(key, identity, job, now, kind)
        except (BadRequest, Invalid, Forbidden) as error:
            if error.transient:
                raise  # a full ResourceQuota: create it on a later pass
            return self._record_failure(key, job, f"the API server refused the Job: {error.message}")
        except (TemplateError, ValueError) as error:
            return self._record_failure(key, job, f"cannot render the Job: {error}")
        self._record(key, created, now, kind)
        return True

    def _stop_one(self, kind: AttemptCalls, namespace: str, name: str) -> bool:
        kind.stop(self.http, namespace, name)
        return True

    def _fail_one(self, kind: AttemptCalls, namespace: str, name: str, reason: str) -> bool:
        """An attempt whose pod cannot start: it records why and its pod is stopped."""
        kind.fail(self.http, namespace, name, reason)
        return True

    def _adopt(self, key: RunKey, identity: RunIdentity, job: JobToCreate, now: datetime, kind: AttemptCalls) -> bool:
        existing = kind.get(self.http, identity.namespace, job.name)
        if existing is None:
            raise Conflict(409, "POST", job.name, "exists, then did not: will look again")
        owners = {o.get("uid") for o in existing["metadata"].get("ownerReferences") or []}
        if identity.uid not in owners:
            return self._record_failure(key, job, f"a Job named {job.name} already exists and is not this run's")
        self._record(key, existing, now, kind)
        return True

    def _record(self, key: RunKey, job: dict[str, Any], now: datetime, kind: AttemptCalls) -> None:
        observed = kind.observe(job, now)
        if observed is not None:
            self.jobs.record(key, observed, pod=kind.pods)

    def _record_failure(self, key: RunKey, job: JobToCreate, reason: str) -> bool:
        """Note an attempt that failed before it had a Job; always False (the attempt failed)."""
        now = self.clock()
        self._pod_checked.setdefault(key, set()).add(job.name)
        self.jobs.record(key, ObservedJob(job.name, job.task, job.attempt, JobState.FAILED, now, now, reason,
                                          failure_kind=FailureKind.REFUSED, item=job.item))
        return False
