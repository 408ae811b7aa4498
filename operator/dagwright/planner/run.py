"""`plan_run`: the one pure function that decides what a run does next.

Input: a `RunSnapshot` (frozen spec, current status, observed Jobs, now). Output: a `RunPlan`
(Jobs to create or stop, the new status, transitions for Events, when to look again).
No clock, no API, no logging. Level-triggered: the same snapshot always gives the same plan,
and a plan whose Jobs already exist changes nothing — that is what makes a crash between
any two API calls harmless.

Each task's phase is derived from its newest Job when one exists, else from the status written
earlier (which remembers Jobs that were deleted or garbage-collected). Tasks are walked in
topological order, so a dependency's phase of this pass is known before its dependents are
judged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from dagwright.api.models import (
    FINISHED_RUN_PHASES,
    FINISHED_TASK_PHASES,
    EventType,
    RunPhase,
    Task,
    TaskPhase,
    TaskStatus,
    WorkflowRunStatus,
)
from dagwright.api.names import child_run_name, job_name
from dagwright.api.timefmt import format_duration, format_time, parse_time
from dagwright.api.vocabulary import EventReason
from dagwright.planner.checks import apply_verdict, blocked_by_check, check_transitions, with_check_results
from dagwright.planner.child import ChildRunToCreate, judge_child, run_outputs
from dagwright.planner.dag import topological_order
from dagwright.planner.fanout import FanOutInput, plan_fan_out, resolve_items
from dagwright.planner.lateness import assess_lateness, deadline_of, missed_message, with_deadline_missed
from dagwright.planner.podwait import judge_wait
from dagwright.planner.pools import POOL_MISSING_REASON, PoolClaim, PoolView, admit_own, waiting_message
from dagwright.planner.retry import RetryVerdict, effective_retry_policy, judge_failure, retry_delay
from dagwright.planner.snapshot import (
    FailureKind,
    JobState,
    JobToCreate,
    ObservedJob,
    RunPlan,
    RunSnapshot,
    Transition,
)
from dagwright.planner.triggers import Readiness, assess_trigger
from dagwright.planner.when import WhenVerdict, assess_when

GROUPED_EVENT_NAMES = 10
# Jobs one pass creates at most; the rest follow in an immediate next pass, so a huge fan-out
# neither delays its first Jobs nor holds back the dependents of tasks finishing meanwhile.
MAX_CREATES_PER_PASS = 1000
# A task waiting for the previous logical date's run (dependsOnPast) is looked at again this often,
# besides the wake-up the controller gives a workflow's runs whenever one of them finishes.
PAST_RECHECK_SECONDS = 30.0


@dataclass
class _Pass:
    """Mutable scratch state of one planning pass (never leaves this module)."""

    snapshot: RunSnapshot
    tasks: dict[str, TaskStatus]
    plan: RunPlan
    free_slots: float
    stopping: bool
    requeue: list[float]
    # pool -> tasks ready to start that need its slot: (claim, attempt, status so far)
    claims: dict[str, list[tuple[PoolClaim, int, TaskStatus]]] = field(default_factory=dict)


def plan_run(snapshot: RunSnapshot) -> RunPlan:
    """Decide the next step of the run in `snapshot` (see the module docstring)."""
    status = snapshot.status
    if status.phase in FINISHED_RUN_PHASES:
        return RunPlan(status=status)
    if not snapshot.admitted and not status.started_at:
        queued = status.model_copy(
            update={"phase": RunPhase.QUEUED, "message": "waiting for a slot (maxActiveRuns)"}
        )
        plan = RunPlan(status=queued, transitions=_run_transitions(status, queued))
        plan.requeue_after = _judge_deadline(snapshot, None, plan)  # a queued run can be late too
        return plan
    now = snapshot.now
    started_at = status.started_at or format_time(now)
    started = parse_time(started_at)
    run_timed_out = _run_timed_out(snapshot, started)
    stopping = snapshot.cancel or run_timed_out
    work = _Pass(
        snapshot=snapshot,
        tasks={},
        plan=RunPlan(status=status),
        free_slots=_free_slots(snapshot),
        stopping=stopping,
        requeue=[],
    )
    by_name = {t.name: t for t in snapshot.spec.tasks}
    for name in topological_order(snapshot.spec):
        work.tasks[name] = _plan_task(work, by_name[name])
    pool_transitions = _admit_pool_claims(work)
    new_status = with_check_results(snapshot.spec, _run_status(work, started_at, run_timed_out), format_time(now))
    work.plan.status = new_status
    work.plan.transitions = _run_transitions(status, new_status) + _task_transitions(
        status, new_status
    ) + pool_transitions + check_transitions(status, new_status)
    if new_status.phase not in FINISHED_RUN_PHASES:
        due = _judge_deadline(snapshot, started, work.plan)
        if due is not None:
            work.requeue.append(due)
        deadline = _run_deadline(snapshot, started)
        if deadline is not None:
            work.requeue.append((deadline - now).total_seconds())
        if len(work.plan.create) >= MAX_CREATES_PER_PASS:
            work.requeue.append(0.0)
        if work.requeue:
            work.plan.requeue_after = max(min(work.requeue), 0.0)
    return work.plan


def _judge_deadline(snapshot: RunSnapshot, started_at: datetime | None, plan: RunPlan) -> float | None:
    """Mark an unfinished run that reached spec.deadline (once); else the seconds until it."""
    deadline = snapshot.spec.deadline
    if deadline is None:
        return None
    due = deadline_of(deadline, snapshot.logical_date or snapshot.created_at, snapshot.created_at, started_at)
    lateness = assess_lateness(due, snapshot.now, plan.status)
    if lateness.missed_now and due is not None:
        message = missed_message(due, deadline)
        plan.status = with_deadline_missed(plan.status, message, snapshot.now)
        plan.transitions.append(Transition(reason=EventReason.DEADLINE_MISSED.value, message=f"run {message}",
                                           type=EventType.WARNING))
    return lateness.recheck_after


# --------------------------------------------------------------------------- per task


def _plan_task(work: _Pass, task: Task) -> TaskStatus:
    previous = (work.snapshot.status.tasks or {}).get(task.name)
    if previous is not None and previous.phase in FINISHED_TASK_PHASES:
        return previous  # a finished task's phase never changes (its dependents were judged on it)
    if task.for_each is not None:
        return _plan_for_each(work, task, previous)
    if task.workflow is not None:
        return _plan_child(work, task, previous)
    latest = _latest_job(work.snapshot.jobs.get(task.name, []))
    recorded_attempts = previous.attempts if previous else 0
    if latest is not None and latest.attempt >= recorded_attempts:
        return _from_job(work, task, previous, latest)
    if previous is not None and recorded_attempts > 0:
        return _job_not_seen(work, task, previous)
    return _not_started(work, task, previous)


def _from_job(
    work: _Pass, task: Task, previous: TaskStatus | None, job: ObservedJob
) -> TaskStatus:
    now = work.snapshot.now
    if previous is not None and previous.attempts == job.attempt:
        # Nothing new about this attempt: keep the entry as it is (the hot path of big runs).
        # A final phase stays final, even when the run is cancelled or times out later.
        if (job.state == JobState.ACTIVE and previous.phase == TaskPhase.RUNNING and not work.stopping
                and job.waiting is None):
            return previous
        if job.state != JobState.ACTIVE and previous.phase in FINISHED_TASK_PHASES:
            return previous
    started_at = (previous.started_at if previous else None) or format_time(job.started_at or now)
    base = TaskStatus(
        phase=TaskPhase.RUNNING,
        attempts=job.attempt,
        disruptions=previous.disruptions if previous else None,
        job=job.name,
        started_at=started_at,
        message=previous.message if previous and previous.attempts == job.attempt else None,
    )
    if job.state == JobState.ACTIVE:
        if work.stopping:
            work.plan.stop.append(job.name)
            return _cancelled(work, base, "stopped: " + _stop_reason(work))
        if job.waiting is not None:
            verdict = judge_wait(job.waiting, now, work.snapshot.start_grace_seconds)
            if verdict.failure is not None:
                work.plan.fail.append((job.name, verdict.failure))
                message = f"attempt {job.attempt} failed: {verdict.failure}"
                return _after_failure(work, task, base, previous, job.attempt, message, now,
                                      FailureKind.NOT_STARTED)
            if verdict.recheck_after is not None:
                work.requeue.append(verdict.recheck_after)
        return base
    finished_at = format_time(job.finished_at or now)
    if job.state == JobState.SUCCEEDED and not job.outputs_error:
        outputs = dict(job.outputs) if job.outputs else None
        succeeded = base.model_copy(
            update={"phase": TaskPhase.SUCCEEDED, "finished_at": finished_at, "message": None,
                    "outputs": outputs, "outputs_ref": job.outputs_ref}
        )
        return succeeded if task.check is None else apply_verdict(task.check, succeeded)
    failure = job.outputs_error or job.failure or "failed"
    if job.stopped:
        return _cancelled(work, base, previous.message if previous and previous.message else "stopped")
    message = f"attempt {job.attempt} failed: {failure}"
    kind = None if job.outputs_error else job.failure_kind
    return _after_failure(work, task, base, previous, job.attempt, message, job.finished_at or now,
                          kind, job.exit_code)


def _job_not_seen(work: _Pass, task: Task, previous: TaskStatus) -> TaskStatus:
    """The status says an attempt ran, but its Job is not in the cache.

    Only the API server's word (`confirmed_missing`) makes it a deleted Job; until then the
    task keeps its phase and the plan asks for a look (`confirm`).
    """
    if previous.phase == TaskPhase.RETRYING:
        return _after_failure(
            work, task, previous, previous, previous.attempts, previous.message or "", work.snapshot.now
        )
    if previous.job is not None and previous.job not in work.snapshot.confirmed_missing:
        work.plan.confirm.append(previous.job)
        return previous
    message = f"attempt {previous.attempts} failed: its Job {previous.job} was deleted"
    return _after_failure(
        work, task, previous, previous, previous.attempts, message, work.snapshot.now
    )


def _after_failure(
    work: _Pass,
    task: Task,
    base: TaskStatus,
    previous: TaskStatus | None,
    attempt: int,
    message: str,
    failed_at: datetime,
    kind: FailureKind | None = None,
    exit_code: int | None = None,
) -> TaskStatus:
    now = work.snapshot.now
    policy = effective_retry_policy(work.snapshot.spec, task)
    if (previous is not None and previous.phase == TaskPhase.RETRYING and previous.next_attempt_at
            and previous.attempts == attempt):
        # Judged by an earlier pass: keep its verdict, its disruption count and its time.
        next_at = parse_time(previous.next_attempt_at)
        retrying = base.model_copy(update={"phase": TaskPhase.RETRYING, "message": previous.message,
                                           "disruptions": previous.disruptions,
                                           "next_attempt_at": previous.next_attempt_at})
    else:
        disruptions = (previous.disruptions or 0) if previous is not None else 0
        judgement = judge_failure(policy, attempt, disruptions, kind, exit_code)
        if judgement.note:
            message = f"{message} {judgement.note}"
        if judgement.verdict is RetryVerdict.FAIL:
            # Failed for good, whether or not the run is stopping: the outcome must not depend on
            # whether the status write of the pass that saw the failure landed before a cancel.
            return base.model_copy(
                update={
                    "phase": TaskPhase.FAILED,
                    "finished_at": format_time(failed_at),
                    "message": message,
                    "next_attempt_at": None,
                }
            )
        if judgement.verdict is RetryVerdict.RETRY_NOW:
            next_at = failed_at
        else:
            next_at = failed_at + timedelta(seconds=retry_delay(policy, judgement.charged))
        retrying = base.model_copy(
            update={
                "phase": TaskPhase.RETRYING,
                "message": message,
                "disruptions": (disruptions + (1 if judgement.disruption else 0)) or None,
                "next_attempt_at": format_time(next_at, precise=True),
            }
        )
    if work.stopping:
        return _cancelled(work, base, retrying.message or message)
    if now < next_at or work.free_slots < 1:
        if now < next_at:
            work.requeue.append((next_at - now).total_seconds())
        return retrying
    return _start_or_claim(work, task, attempt + 1, retrying)


def _not_started(work: _Pass, task: Task, previous: TaskStatus | None) -> TaskStatus:
    pending = previous or TaskStatus(phase=TaskPhase.PENDING, attempts=0)
    held = _held_back(work, task, pending)
    if held is not None:
        return held
    if work.free_slots < 1:
        return pending
    if task.depends_on_past and pending.message:
        pending = pending.model_copy(update={"message": None})  # no longer waiting for the past
    return _start_or_claim(work, task, 1, pending)


def _held_back(work: _Pass, task: Task, pending: TaskStatus) -> TaskStatus | None:
    """The status of a task that may not start (stopping, trigger rule, `when:`), else None."""
    if work.stopping:
        return _cancelled(work, pending, "not started: " + _stop_reason(work))
    upstream = {dep: work.tasks[dep].phase for dep in task.depends_on or []}
    readiness, reason = assess_trigger(task.trigger_rule, upstream)
    if readiness == Readiness.SKIP:
        return pending.model_copy(
            update={
                "phase": TaskPhase.SKIPPED,
                "message": blocked_by_check(work.snapshot.spec, task.depends_on or [], work.tasks) or reason,
                "finished_at": format_time(work.snapshot.now),
            }
        )
    if readiness == Readiness.WAIT:
        return pending
    if task.when is not None:
        judgement = assess_when(task.when, work.snapshot.context, work.tasks)
        if judgement.verdict != WhenVerdict.RUN:
            phase = TaskPhase.SKIPPED if judgement.verdict == WhenVerdict.SKIP else TaskPhase.FAILED
            return pending.model_copy(update={"phase": phase, "message": judgement.message,
                                              "finished_at": format_time(work.snapshot.now)})
    waiting_for_past = work.snapshot.past_waiting.get(task.name)
    if waiting_for_past is not None:
        work.requeue.append(PAST_RECHECK_SECONDS)  # the previous run is woken on its own changes too
        return pending.model_copy(update={"message": waiting_for_past})
    return None


def _plan_child(work: _Pass, task: Task, previous: TaskStatus | None) -> TaskStatus:
    """A workflow task: held back like any task, then its child run is created and followed."""
    assert task.workflow is not None
    current = previous or TaskStatus(phase=TaskPhase.PENDING, attempts=0)
    name = child_run_name(work.snapshot.run_name, task.name)
    if current.run is None:
        held = _held_back(work, task, current)
        if held is not None or work.free_slots < 1:
            return held or current
        work.free_slots -= 1
        work.plan.create_runs.append(ChildRunToCreate(task=task.name, name=name, workflow=task.workflow.name))
        return current.model_copy(update={"phase": TaskPhase.RUNNING, "attempts": 1, "run": name,
                                          "started_at": format_time(work.snapshot.now), "message": f"child run {name}"})
    child = work.snapshot.children.get(current.run)
    if child is None and not work.stopping:
        # Not in the cache (yet, or any more): ask for it again — 409 adopts it, a lost one is made.
        work.plan.create_runs.append(ChildRunToCreate(task=task.name, name=current.run, workflow=task.workflow.name))
    status, cancel = judge_child(current, child, work.snapshot.now, work.stopping)
    if cancel:
        work.plan.cancel_runs.append(current.run)
    return status


def _plan_for_each(work: _Pass, task: Task, previous: TaskStatus | None) -> TaskStatus:
    """A forEach task: held back like any task until it may start, then its instances (planner/fanout.py)."""
    assert task.for_each is not None
    current = previous or TaskStatus(phase=TaskPhase.PENDING, attempts=0)
    if current.phase == TaskPhase.PENDING and current.for_each is None:
        held = _held_back(work, task, current)
        if held is not None:
            return held
    items, problem = resolve_items(task.for_each, work.snapshot.context, work.tasks)
    if items is None:
        return current.model_copy(update={"phase": TaskPhase.FAILED, "message": problem,
                                          "finished_at": format_time(work.snapshot.now)})
    fan = plan_fan_out(FanOutInput(
        run_name=work.snapshot.run_name, task=task.name, items=items, previous=current,
        jobs=work.snapshot.jobs.get(task.name, []), policy=effective_retry_policy(work.snapshot.spec, task),
        for_each=task.for_each, free_slots=work.free_slots, now=work.snapshot.now, stopping=work.stopping,
        stop_reason=_stop_reason(work) if work.stopping else "", start_grace_seconds=work.snapshot.start_grace_seconds))
    work.plan.create += fan.create
    work.plan.stop += fan.stop
    work.plan.fail += fan.fail
    work.requeue += fan.requeue
    work.free_slots -= len(fan.create)
    return fan.status


def _start_or_claim(work: _Pass, task: Task, attempt: int, current: TaskStatus) -> TaskStatus:
    """Start the attempt, or, for a pool user, claim a slot (decided after every task is seen)."""
    if not task.pool:
        return _start(work, task.name, attempt, current)
    claim = PoolClaim(work.snapshot.run_order, task.priority, work.snapshot.run_name, task.name)
    work.claims.setdefault(task.pool, []).append((claim, attempt, current))
    work.free_slots -= 1  # held for the claim, so maxParallelTasks counts it either way
    return current


def _admit_pool_claims(work: _Pass) -> list[Transition]:
    """Start the claims that get a slot (planner/pools.py's order); the others wait, saying why."""
    transitions: list[Transition] = []
    for pool, claims in sorted(work.claims.items()):
        view = work.snapshot.pools.get(pool, PoolView(size=None, in_use=0))
        admitted = set(admit_own([c for c, _a, _s in claims], view))
        for claim, attempt, current in claims:
            work.free_slots += 1
            if claim in admitted:
                work.tasks[claim.task] = _start(work, claim.task, attempt, current)
                continue
            work.plan.pool_waiting.setdefault(pool, []).append(claim)
            message = waiting_message(pool, view)
            if current.phase == TaskPhase.PENDING:
                work.tasks[claim.task] = current.model_copy(update={"message": message})
            if view.size is None and current.phase == TaskPhase.PENDING and current.message != message:
                transitions.append(Transition(
                    reason=POOL_MISSING_REASON, type=EventType.WARNING, task=claim.task,
                    message=f"task {claim.task}: pool {pool} does not exist; it waits until it does"))
    return transitions


def _start(work: _Pass, task: str, attempt: int, current: TaskStatus) -> TaskStatus:
    name = job_name(work.snapshot.run_name, task, attempt)
    work.plan.create.append(JobToCreate(task=task, attempt=attempt, name=name))
    work.free_slots -= 1
    return current.model_copy(
        update={
            "phase": TaskPhase.RUNNING,
            "attempts": attempt,
            "job": name,
            "started_at": current.started_at or format_time(work.snapshot.now),
            "next_attempt_at": None,
            "finished_at": None,
        }
    )


def _cancelled(work: _Pass, current: TaskStatus, message: str) -> TaskStatus:
    return current.model_copy(
        update={
            "phase": TaskPhase.CANCELLED,
            "message": message,
            "finished_at": format_time(work.snapshot.now),
            "next_attempt_at": None,
        }
    )


def _latest_job(jobs: list[ObservedJob]) -> ObservedJob | None:
    return max(jobs, key=lambda j: j.attempt) if jobs else None


# --------------------------------------------------------------------------- whole run


def _free_slots(snapshot: RunSnapshot) -> float:
    limit = snapshot.spec.max_parallel_tasks
    if limit is None:
        return float(MAX_CREATES_PER_PASS)
    active = sum(_active_attempts(jobs) for jobs in snapshot.jobs.values())
    return float(min(limit - active, MAX_CREATES_PER_PASS))


def _active_attempts(jobs: list[ObservedJob]) -> int:
    """Running attempts of one task: its newest Job's, or each forEach instance's newest."""
    if not jobs or jobs[0].item is None:
        latest = _latest_job(jobs)
        return 1 if latest is not None and latest.state == JobState.ACTIVE else 0
    newest: dict[int | None, ObservedJob] = {}
    for job in jobs:
        if job.item not in newest or job.attempt > newest[job.item].attempt:
            newest[job.item] = job
    return sum(1 for job in newest.values() if job.state == JobState.ACTIVE)


def _run_deadline(snapshot: RunSnapshot, started_at: datetime) -> datetime | None:
    if snapshot.spec.timeout_seconds is None:
        return None
    return started_at + timedelta(seconds=snapshot.spec.timeout_seconds)


def _run_timed_out(snapshot: RunSnapshot, started_at: datetime) -> bool:
    deadline = _run_deadline(snapshot, started_at)
    return deadline is not None and snapshot.now >= deadline and not snapshot.cancel


def _stop_reason(work: _Pass) -> str:
    if work.snapshot.cancel:
        return "the run was cancelled"
    return f"the run timed out after {work.snapshot.spec.timeout_seconds}s"


def _run_status(work: _Pass, started_at: str, run_timed_out: bool) -> WorkflowRunStatus:
    tasks = work.tasks
    finished = sum(1 for t in tasks.values() if t.phase in FINISHED_TASK_PHASES)
    failed = [n for n, t in tasks.items() if t.phase == TaskPhase.FAILED]
    previous = work.snapshot.status
    outputs: dict[str, str] | None = None
    phase, message = RunPhase.RUNNING, None
    if work.snapshot.cancel:
        phase, message = RunPhase.CANCELLED, "cancelled by spec.cancel"
    elif run_timed_out:
        phase, message = RunPhase.FAILED, _stop_reason(work)
    elif finished == len(tasks):
        if failed:
            phase = RunPhase.FAILED
            message = f"{len(failed)} task(s) failed: " + ", ".join(failed[:GROUPED_EVENT_NAMES])
        else:
            phase, message = RunPhase.SUCCEEDED, "all tasks finished"
            outputs = run_outputs(work.snapshot.spec, tasks)
    update: dict[str, object] = {
        "phase": phase,
        "message": message,
        "progress": f"{finished}/{len(tasks)}",
        "started_at": started_at,
        "tasks": tasks,
    }
    if outputs is not None:
        update["outputs"] = outputs
    if phase in FINISHED_RUN_PHASES:
        finished_at = previous.finished_at or format_time(work.snapshot.now)
        update["finished_at"] = finished_at
        update["duration"] = format_duration(parse_time(finished_at) - parse_time(started_at))
    return previous.model_copy(update=update)


# --------------------------------------------------------------------------- transitions

_RUN_REASONS = {
    RunPhase.RUNNING: ("RunStarted", EventType.NORMAL),
    RunPhase.SUCCEEDED: ("RunSucceeded", EventType.NORMAL),
    RunPhase.FAILED: ("RunFailed", EventType.WARNING),
    RunPhase.CANCELLED: ("RunCancelled", EventType.WARNING),
    RunPhase.QUEUED: ("RunQueued", EventType.NORMAL),
}

_TASK_REASONS = {
    TaskPhase.RUNNING: ("TaskStarted", EventType.NORMAL),
    TaskPhase.SUCCEEDED: ("TaskSucceeded", EventType.NORMAL),
    TaskPhase.FAILED: ("TaskFailed", EventType.WARNING),
    TaskPhase.RETRYING: ("TaskRetrying", EventType.WARNING),
    TaskPhase.SKIPPED: ("TaskSkipped", EventType.NORMAL),
    TaskPhase.CANCELLED: ("TaskCancelled", EventType.WARNING),
}

# An attempt Kubernetes took away (eviction, preemption), retried without using retries.limit.
TASK_DISRUPTED = "TaskDisrupted"

# Routine transitions of many tasks in one pass share one Event (API economy).
_GROUPED = {"TaskStarted", "TaskSucceeded", "TaskSkipped", "TaskCancelled"}


# A run's start and end are told with its progress (`progress_report`), not the moment they are
# planned; only its queueing is posted at once.
_REPORTED_RUN_REASONS = {reason for phase, (reason, _) in _RUN_REASONS.items() if phase != RunPhase.QUEUED}


def is_routine(transition: Transition) -> bool:
    """Routine task progress (started, succeeded, skipped, cancelled), as opposed to failures,
    retries and run transitions, which each deserve an Event of their own the moment they happen."""
    return transition.reason in _GROUPED


def is_reported_with_progress(transition: Transition) -> bool:
    """Told by `progress_report` when the status is stored: routine task progress and the run's
    start and end. Everything else (failures, retries, queueing, checks) is posted at once."""
    return transition.reason in _GROUPED or transition.reason in _REPORTED_RUN_REASONS


def progress_report(reported: WorkflowRunStatus, now: WorkflowRunStatus) -> list[Transition]:
    """The Events telling what happened since the status last reported (pure).

    One Event for the run's end, its message carrying the routine task progress ("run succeeded:
    all tasks finished (after 3s); succeeded: a, b, c, d"); before the end, the routine progress,
    led by the run's start if that was not told yet ("run started with 4 task(s); succeeded: a").
    A run that ends before its start was told has a single Event.
    """
    routine = routine_transitions(reported, now)
    lead = [t for t in _run_transitions(reported, now) if t.reason in _REPORTED_RUN_REASONS]
    if not lead:
        return routine
    told = "; ".join([lead[0].message] + [t.message for t in routine])
    return [Transition(reason=lead[0].reason, message=told, type=lead[0].type)]


def routine_transitions(old: WorkflowRunStatus, new: WorkflowRunStatus) -> list[Transition]:
    """The routine task progress between two stored statuses, one Event's worth (pure).

    The controller posts these when it stores a status, so several passes between two status
    writes share one Event ("succeeded: a, b; started: c").
    """
    return [t for t in _task_transitions(old, new) if is_routine(t)]


def _run_transitions(old: WorkflowRunStatus, new: WorkflowRunStatus) -> list[Transition]:
    if old.phase == new.phase or new.phase not in _RUN_REASONS:
        return []
    if new.phase == RunPhase.RUNNING and old.phase not in (None, RunPhase.PENDING, RunPhase.QUEUED):
        return []
    reason, kind = _RUN_REASONS[RunPhase(new.phase)]
    message = f"run {new.phase.lower() if isinstance(new.phase, str) else new.phase}"
    if new.phase == RunPhase.RUNNING:
        message = f"run started with {len(new.tasks or {})} task(s)"
    elif new.message:
        message = f"run {RunPhase(new.phase).value.lower()}: {new.message}"
        if new.duration:
            message += f" (after {new.duration})"
    return [Transition(reason=reason, message=message, type=kind)]


def _task_transitions(old: WorkflowRunStatus, new: WorkflowRunStatus) -> list[Transition]:
    grouped: dict[str, list[str]] = {}
    single: list[Transition] = []
    old_tasks = old.tasks or {}
    for name, task in (new.tasks or {}).items():
        before = old_tasks.get(name)
        if (task.disruptions or 0) > ((before.disruptions or 0) if before else 0):
            single.append(Transition(reason=TASK_DISRUPTED, message=f"task {name}: {task.message}",
                                     type=EventType.WARNING, task=name))
        changed = before is None or before.phase != task.phase or before.attempts != task.attempts
        if not changed or task.phase not in _TASK_REASONS:
            continue
        reason, kind = _TASK_REASONS[TaskPhase(task.phase)]
        if reason in _GROUPED:
            label = f"{name} (attempt {task.attempts})" if task.attempts > 1 else name
            grouped.setdefault(reason, []).append(label)
            continue
        single.append(Transition(reason=reason, message=_task_message(name, task), type=kind, task=name))
    messages = {reason: _listing(reason, names) for reason, names in grouped.items()}
    host = next((r for r in ("TaskSucceeded", "TaskSkipped", "TaskCancelled") if r in messages), None)
    if host is not None and "TaskStarted" in messages:
        # One Event per pass for routine progress: "succeeded: a; started: b" (API economy).
        messages[host] += "; " + messages.pop("TaskStarted")
        grouped[host] = grouped[host] + grouped.pop("TaskStarted")
    for reason, message in messages.items():
        kind = _TASK_REASONS[_phase_of(reason)][1]
        names = grouped[reason]
        only = names[0] if len(names) == 1 else None
        single.insert(0, Transition(reason=reason, message=message, type=kind, task=only))
    return single


def _listing(reason: str, names: list[str]) -> str:
    shown = ", ".join(names[:GROUPED_EVENT_NAMES])
    more = f" and {len(names) - GROUPED_EVENT_NAMES} more" if len(names) > GROUPED_EVENT_NAMES else ""
    return f"{reason.removeprefix('Task').lower()}: {shown}{more}"


def _phase_of(reason: str) -> TaskPhase:
    return next(p for p, (r, _) in _TASK_REASONS.items() if r == reason)


def _task_message(name: str, task: TaskStatus) -> str:
    if task.phase == TaskPhase.RETRYING:
        return f"task {name}: {task.message}; retrying at {task.next_attempt_at}"
    return f"task {name}: {task.message}" if task.message else f"task {name} {task.phase}"
