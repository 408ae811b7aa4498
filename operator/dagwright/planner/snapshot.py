"""The planner's inputs and outputs: immutable snapshots, no API objects.

The controller fills a `RunSnapshot` from what the API server holds; `plan_run` returns a
`RunPlan`; the controller carries it out. Times are timezone-aware UTC datetimes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

from dagwright.api.models import EventType, WorkflowRunStatus, WorkflowSpec
from dagwright.planner.child import ChildRunToCreate, ChildView
from dagwright.planner.pools import PoolClaim, PoolView

# Default of RunSnapshot.start_grace_seconds (`dagwright operator --pod-start-grace`).
DEFAULT_START_GRACE_SECONDS = 180.0


class JobState(str, Enum):
    """What a task attempt's Job is doing, as observed."""

    ACTIVE = "Active"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"


class FailureKind(str, Enum):
    """What told us a task attempt failed; decides whether its pod can still say more."""

    EXIT = "Exit"  # its pod's main container: exit code (OOMKilled, termination message)
    POD = "Pod"  # its pod, without an exit code (evicted, never started)
    JOB = "Job"  # the Job controller's Failed condition; the pod may say more
    TIMED_OUT = "TimedOut"  # activeDeadlineSeconds passed (condition reason DeadlineExceeded)
    STOPPED = "Stopped"  # suspended by the operator (cancel or run timeout)
    REFUSED = "Refused"  # never created: the API server refused it, or it could not be rendered
    NOT_STARTED = "NotStarted"  # failed by the operator: its pod could not start (the kubelet's reason)
    DISRUPTED = "Disrupted"  # Kubernetes took the pod away (condition DisruptionTarget: eviction, preemption)


@dataclass(frozen=True)
class PodWaiting:
    """Why an attempt's pod has not started: the main container's waiting reason and message
    from the kubelet (or `Unschedulable` from the scheduler), and when the pod was created."""

    reason: str
    message: str
    since: datetime


@dataclass(frozen=True)
class ObservedJob:
    """The parts of a task attempt's Job that decisions depend on."""

    name: str
    task: str
    attempt: int
    state: JobState
    started_at: datetime | None = None
    finished_at: datetime | None = None
    failure: str | None = None  # e.g. "exit code 2", "timed out after 30s"
    stopped: bool = False  # suspended by the operator (cancel or run timeout)
    outputs: tuple[tuple[str, str], ...] | None = None  # read from the pod when a later task needs them
    outputs_error: str | None = None  # the outputs could not be read: the attempt counts as failed
    outputs_ref: str | None = None  # largeOutputs: the ConfigMap holding them (never in the status)
    failure_kind: FailureKind | None = None  # what `failure` came from, when failed
    waiting: PodWaiting | None = None  # an active attempt whose pod has not started (real nodes)
    exit_code: int | None = None  # the main container's exit code, when its pod said (kind EXIT)
    pool: str | None = None  # the pool whose slot the attempt holds while unfinished (its label)
    item: int | None = None  # the forEach instance (item index) the attempt belongs to (its label)


@dataclass(frozen=True)
class RunSnapshot:
    """Everything `plan_run` may look at for one run, captured at `now`."""

    run_name: str
    spec: WorkflowSpec
    status: WorkflowRunStatus
    jobs: dict[str, list[ObservedJob]]  # task name -> its attempts' Jobs
    now: datetime
    cancel: bool = False
    admitted: bool = True  # False while maxActiveRuns holds the run back (phase Queued)
    # Jobs the status names that the API server itself said do not exist (a GET answered 404).
    # Absence from the watch cache alone proves nothing: a re-list racing a create drops new Jobs.
    confirmed_missing: frozenset[str] = frozenset()
    # How long a pod may wait to start (pulling, ContainerCreating, unschedulable) before its
    # attempt fails; reasons that cannot resolve fail at once (planner/podwait.py).
    start_grace_seconds: float = DEFAULT_START_GRACE_SECONDS
    # Pools the run's tasks name, by name: size, slots in use, other runs' waiting claims.
    pools: dict[str, PoolView] = field(default_factory=dict)
    run_order: str = ""  # the run's place in pool lines: its logical date, else creation time
    # The run's logical date and creation time, for spec.deadline (planner/lateness.py);
    # without them a logicalDate deadline is not judged.
    logical_date: datetime | None = None
    created_at: datetime | None = None
    # The run's params and fields by template name ('params.day', 'run.logicalDate'), for
    # `when:` conditions; filled only for workflows that have one.
    context: Mapping[str, str] = field(default_factory=dict)
    # Child WorkflowRuns of workflow tasks, by name, as the cache holds them (planner/child.py).
    children: Mapping[str, ChildView] = field(default_factory=dict)
    # dependsOnPast tasks that may not start yet, with the message naming the run they wait for
    # (planner/past.py decides it from the workflow's other runs).
    past_waiting: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Transition:
    """A change someone would look for in `kubectl describe`: becomes one Event."""

    reason: str
    message: str
    type: EventType = EventType.NORMAL
    task: str | None = None


@dataclass(frozen=True)
class JobToCreate:
    """One task attempt to start."""

    task: str
    attempt: int
    name: str
    item: int | None = None  # a forEach instance: the item's index
    item_values: tuple[tuple[str, str], ...] = ()  # its template names: item, item.KEY, itemIndex


@dataclass
class RunPlan:
    """What to do for one run: Jobs to create and stop, the new status, Events, next look."""

    status: WorkflowRunStatus
    create: list[JobToCreate] = field(default_factory=list)
    stop: list[str] = field(default_factory=list)
    # Active Jobs whose attempt failed before its pod started: (Job name, why). The Job is
    # marked failed and suspended (its pod is stopped, the Job stays as the attempt's record).
    fail: list[tuple[str, str]] = field(default_factory=list)
    transitions: list[Transition] = field(default_factory=list)
    requeue_after: float | None = None
    # Jobs the status names but the cache lacks: ask the API server before deciding anything
    # about their tasks (then plan again with `confirmed_missing`).
    confirm: list[str] = field(default_factory=list)
    # Tasks ready to start that wait for a pool slot, by pool (the controller tells other runs).
    pool_waiting: dict[str, list[PoolClaim]] = field(default_factory=dict)
    # Child WorkflowRuns of workflow tasks to create, and to ask to cancel (by name).
    create_runs: list[ChildRunToCreate] = field(default_factory=list)
    cancel_runs: list[str] = field(default_factory=list)
