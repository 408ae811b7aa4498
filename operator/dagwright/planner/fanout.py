"""Fan-out (`forEach`): one instance per item, each with its own Jobs, retries and phase (pure).

`resolve_items` reads the list (literal, a run parameter, or an upstream task's output list);
`plan_fan_out` decides, for one pass, what each instance does and what the task's phase is. The
instances are recounted on every pass from their Jobs (labelled with the item's index and named
by `api.names.instance_job_name`, so a create after a crash gets 409 and adopts), and from the
one-character-per-instance record in `status.tasks.T.forEach.states`, which keeps an instance
final after its Job is gone (TTL, deletion). So a pass never creates a second Job for an attempt.

The status stays bounded: counts per phase, the states string (one byte per item), and at most
`MAX_LISTED_INSTANCE_FAILURES` failed instances by name. The task succeeds when every instance
finished and at most `allowed_failures` failed; once more have failed, no instance starts (nor
retries) and the task fails when the running ones have ended. Collected outputs — each key of
the instances' outputs as a JSON list in item order — are bounded by `MAX_COLLECTED_OUTPUT_BYTES`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from dagwright.api.models import (
    MAX_FOR_EACH_ITEMS,
    MAX_LISTED_INSTANCE_FAILURES,
    EmptyForEach,
    ForEach,
    ForEachStatus,
    InstanceFailure,
    RetryPolicy,
    TaskPhase,
    TaskStatus,
)
from dagwright.api.names import instance_job_name, short_hash
from dagwright.api.timefmt import format_time
from dagwright.planner.podwait import judge_wait
from dagwright.planner.retry import RetryVerdict, judge_failure, retry_delay
from dagwright.planner.snapshot import FailureKind, JobState, JobToCreate, ObservedJob

MAX_COLLECTED_OUTPUT_BYTES = 64 * 1024
"""Most bytes of collected instance outputs a forEach task keeps on the run's status."""

PENDING, RUNNING, RETRYING, SUCCEEDED, FAILED, CANCELLED = ".", "R", "r", "S", "F", "C"
_FINAL = SUCCEEDED + FAILED + CANCELLED


def allowed_failures(for_each: ForEach, items: int) -> int:
    """How many instances may fail with the task still succeeding (the larger allowance)."""
    by_count = for_each.allowed_failures or 0
    by_share = math.floor(items * (for_each.allowed_failure_percent or 0) / 100 + 1e-9)
    return max(by_count, by_share)


def resolve_items(for_each: ForEach, context: Mapping[str, str],
                  tasks: Mapping[str, TaskStatus]) -> tuple[list[Any] | None, str | None]:
    """(the items, None), or (None, why the list cannot be read) for a message."""
    if for_each.items is not None:
        return list(for_each.items), None
    source = for_each.from_ or ""
    name = source.strip("{} \t")
    parts = name.split(".")
    if parts[0] == "tasks":
        status = tasks.get(parts[1])
        text = ((status.outputs if status is not None else None) or {}).get(parts[3])
    else:
        text = context.get(name)
    if text is None:
        return None, f"forEach: {source} has no value"
    try:
        items = json.loads(text)
    except ValueError:
        return None, f"forEach: {source} is not a JSON list: {_quote(text)}"
    if not isinstance(items, list):
        return None, f"forEach: {source} is not a JSON list: {_quote(text)}"
    if len(items) > MAX_FOR_EACH_ITEMS:
        return None, f"forEach: {source} has {len(items)} items (at most {MAX_FOR_EACH_ITEMS})"
    return items, None


def list_digest(items: Sequence[Any]) -> str:
    """A short hash of the list, recorded so a list that changes while the task runs is noticed."""
    return short_hash(json.dumps(list(items), sort_keys=True, separators=(",", ":")), 16)


def item_values(item: Any, index: int) -> tuple[tuple[str, str], ...]:
    """The template names of one instance: itemIndex, item, and item.KEY for an object."""
    values = [("itemIndex", str(index)), ("item", _text(item))]
    if isinstance(item, dict):
        values += [(f"item.{key}", _text(value)) for key, value in item.items()]
    return tuple(values)


@dataclass(frozen=True)
class FanOutInput:
    """One forEach task in one pass, after its trigger rule and `when:` let it run."""

    run_name: str
    task: str
    items: Sequence[Any]
    previous: TaskStatus
    jobs: Sequence[ObservedJob]
    policy: RetryPolicy
    for_each: ForEach
    free_slots: float
    now: datetime
    stopping: bool = False
    stop_reason: str = ""
    start_grace_seconds: float = 180.0


@dataclass
class FanOutPlan:
    """What the pass does for the task: Jobs to create, stop and fail, when to look again, its status."""

    status: TaskStatus
    create: list[JobToCreate] = field(default_factory=list)
    stop: list[str] = field(default_factory=list)
    fail: list[tuple[str, str]] = field(default_factory=list)
    requeue: list[float] = field(default_factory=list)


@dataclass
class _Instances:
    states: list[str]
    failures: dict[int, InstanceFailure]
    outputs: dict[int, dict[str, str]] = field(default_factory=dict)
    pending: list[int] = field(default_factory=list)
    retries: list[tuple[int, int, datetime]] = field(default_factory=list)  # (item, next attempt, when)


def plan_fan_out(given: FanOutInput) -> FanOutPlan:
    """Decide one pass of a forEach task (see the module docstring)."""
    count = len(given.items)
    digest = list_digest(given.items)
    previous = given.previous
    recorded = previous.for_each
    started = previous.started_at or format_time(given.now)
    if count == 0:
        phase = TaskPhase.SKIPPED if given.for_each.on_empty == EmptyForEach.SKIPPED else TaskPhase.SUCCEEDED
        return FanOutPlan(previous.model_copy(update={
            "phase": phase, "message": "forEach over an empty list", "finished_at": format_time(given.now),
            "for_each": ForEachStatus(items=0, digest=digest)}))
    if recorded is not None and recorded.digest not in (None, digest):
        return FanOutPlan(previous.model_copy(update={
            "phase": TaskPhase.FAILED, "finished_at": format_time(given.now),
            "message": "forEach: the list changed while the task ran (its items are read once; start a new run)"}))
    plan = FanOutPlan(status=previous)
    seen = _observe(given, plan, recorded, count)
    allowed = allowed_failures(given.for_each, count)
    exceeded = seen.states.count(FAILED) > allowed
    if not given.stopping and not exceeded:
        _start(given, plan, seen)
    if exceeded and RUNNING not in seen.states:
        for index, _attempt, _when in seen.retries:  # no more attempts: their last one failed for good
            seen.states[index] = FAILED
    plan.status = _task_status(given, seen, started, digest, allowed, exceeded)
    return plan


def _observe(given: FanOutInput, plan: FanOutPlan, recorded: ForEachStatus | None, count: int) -> _Instances:
    """Each instance's state from its newest Job and the recorded states."""
    states = list(recorded.states) if recorded is not None and len(recorded.states) == count else [PENDING] * count
    failures = {f.index: f for f in ((recorded.failures or []) if recorded is not None else [])}
    by_item: dict[int, list[ObservedJob]] = {}
    for job in given.jobs:
        if job.item is not None and 0 <= job.item < count:
            by_item.setdefault(job.item, []).append(job)
    seen = _Instances(states=states, failures=failures)
    for index in range(count):
        jobs = by_item.get(index, [])
        latest = max(jobs, key=lambda j: j.attempt) if jobs else None
        if states[index] in _FINAL and (latest is None or latest.state != JobState.ACTIVE):
            if states[index] == SUCCEEDED and latest is not None and latest.outputs:
                seen.outputs[index] = dict(latest.outputs)
            continue
        if latest is None:
            states[index] = CANCELLED if given.stopping else PENDING
            if not given.stopping:
                seen.pending.append(index)
            continue
        _judge(given, plan, seen, index, latest, jobs)
    return seen


def _judge(given: FanOutInput, plan: FanOutPlan, seen: _Instances, index: int, latest: ObservedJob,
           jobs: list[ObservedJob]) -> None:
    failure, kind, failed_at = latest.outputs_error or latest.failure or "failed", latest.failure_kind, latest.finished_at
    if latest.state == JobState.ACTIVE:
        if given.stopping:
            plan.stop.append(latest.name)
            seen.states[index] = CANCELLED
            return
        verdict = judge_wait(latest.waiting, given.now, given.start_grace_seconds) if latest.waiting else None
        if verdict is None or verdict.failure is None:
            if verdict is not None and verdict.recheck_after is not None:
                plan.requeue.append(verdict.recheck_after)
            seen.states[index] = RUNNING
            return
        plan.fail.append((latest.name, verdict.failure))
        failure, kind, failed_at = verdict.failure, FailureKind.NOT_STARTED, given.now
    elif latest.state == JobState.SUCCEEDED and not latest.outputs_error:
        seen.states[index] = SUCCEEDED
        if latest.outputs:
            seen.outputs[index] = dict(latest.outputs)
        return
    elif latest.stopped:
        seen.states[index] = CANCELLED
        return
    if latest.outputs_error:
        kind = None
    disruptions = sum(1 for j in jobs if j.attempt < latest.attempt and j.failure_kind is FailureKind.DISRUPTED)
    judgement = judge_failure(given.policy, latest.attempt, min(disruptions, given.policy.on_disruption), kind,
                              latest.exit_code)
    if judgement.verdict is RetryVerdict.FAIL or given.stopping:
        seen.states[index] = FAILED if judgement.verdict is RetryVerdict.FAIL else CANCELLED
        if judgement.verdict is RetryVerdict.FAIL:
            message = f"attempt {latest.attempt} failed: {failure}" + (f" {judgement.note}" if judgement.note else "")
            seen.failures[index] = InstanceFailure(index=index, attempts=latest.attempt, job=latest.name,
                                                   message=message)
        return
    when = failed_at or given.now
    if judgement.verdict is RetryVerdict.RETRY_AFTER_BACKOFF:
        when = when + timedelta(seconds=retry_delay(given.policy, judgement.charged))
    seen.states[index] = RETRYING
    seen.retries.append((index, latest.attempt + 1, when))


def _start(given: FanOutInput, plan: FanOutPlan, seen: _Instances) -> None:
    """Start due retries, then pending instances, in item order, within maxParallel and the free slots."""
    capacity = given.free_slots
    if given.for_each.max_parallel is not None:
        capacity = min(capacity, given.for_each.max_parallel - seen.states.count(RUNNING))
    starts: list[tuple[int, int]] = []
    for index, attempt, when in seen.retries:
        if given.now < when:
            plan.requeue.append((when - given.now).total_seconds())
        elif len(starts) < capacity:
            starts.append((index, attempt))
    for index in seen.pending:
        if len(starts) >= capacity:
            break
        starts.append((index, 1))
    for index, attempt in starts:
        plan.create.append(JobToCreate(
            task=given.task, attempt=attempt, name=instance_job_name(given.run_name, given.task, index, attempt),
            item=index, item_values=item_values(given.items[index], index)))
        seen.states[index] = RUNNING


def _task_status(given: FanOutInput, seen: _Instances, started: str, digest: str, allowed: int,
                 exceeded: bool) -> TaskStatus:
    states = seen.states
    counts = {s: states.count(s) for s in (PENDING, RUNNING, RETRYING, SUCCEEDED, FAILED, CANCELLED)}
    listed = [seen.failures[i] for i in sorted(seen.failures) if states[i] == FAILED][:MAX_LISTED_INSTANCE_FAILURES]
    aggregate = ForEachStatus(
        items=len(states), pending=counts[PENDING], running=counts[RUNNING], retrying=counts[RETRYING],
        succeeded=counts[SUCCEEDED], failed=counts[FAILED], cancelled=counts[CANCELLED], states="".join(states),
        digest=digest, failures=listed or None)
    update: dict[str, Any] = {"for_each": aggregate, "started_at": started, "attempts": 1, "job": None,
                              "next_attempt_at": None}
    finished = format_time(given.now)
    active = counts[RUNNING] + counts[RETRYING] + counts[PENDING]
    tolerated = f" ({counts[FAILED]} failed, {allowed} allowed)" if counts[FAILED] else ""
    if given.stopping and counts[RUNNING] == 0:
        update.update(phase=TaskPhase.CANCELLED, finished_at=finished, message=f"stopped: {given.stop_reason}")
    elif exceeded and counts[RUNNING] == 0:
        not_started = f"; {counts[PENDING]} not started" if counts[PENDING] else ""
        update.update(phase=TaskPhase.FAILED, finished_at=finished,
                      message=f"{counts[FAILED]} of {len(states)} items failed ({allowed} allowed){not_started}")
    elif active == 0:
        outputs, too_big = _collect(seen.outputs, len(states))
        if too_big:
            update.update(phase=TaskPhase.FAILED, finished_at=finished, message=too_big)
        else:
            update.update(phase=TaskPhase.SUCCEEDED, finished_at=finished, outputs=outputs,
                          message=f"{counts[SUCCEEDED]} of {len(states)} items succeeded{tolerated}")
    else:
        update.update(phase=TaskPhase.RUNNING,
                      message=f"{counts[SUCCEEDED]}/{len(states)} items succeeded{tolerated}")
    return given.previous.model_copy(update=update)


def _collect(outputs: dict[int, dict[str, str]], count: int) -> tuple[dict[str, str] | None, str | None]:
    """Each output key as the JSON list of the instances' values (null where an instance has none)."""
    if not outputs:
        return None, None
    keys = sorted({key for values in outputs.values() for key in values})
    collected = {key: json.dumps([_decode(outputs.get(i, {}).get(key)) for i in range(count)], separators=(",", ":"))
                 for key in keys}
    size = sum(len(k) + len(v) for k, v in collected.items())
    if size > MAX_COLLECTED_OUTPUT_BYTES:
        return None, f"collected outputs too large: {size} bytes (limit {MAX_COLLECTED_OUTPUT_BYTES})"
    return collected, None


def _decode(value: str | None) -> Any:
    """An instance's output value: JSON lists and objects decoded (they were encoded to strings)."""
    if value is None or not value.startswith(("[", "{")):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _quote(text: str) -> str:
    return repr(text if len(text) <= 60 else text[:57] + "...")
