"""Pydantic models of the `dagwright.io/v1alpha1` kinds: the single source of truth.

`crds/*.yaml` are generated from these classes (`make crds`), and the controller parses every
object it reads through them. Field descriptions become `kubectl explain` text. Cross-field rules
that a CRD schema cannot express (cycles, unknown dependencies) live in `api.validation`.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any

from pydantic import ConfigDict, Field, JsonValue, model_validator

from dagwright.api.assets import AssetRef
from dagwright.api.base import ApiModel
from dagwright.api.checks import CheckResult, CheckSpec
from dagwright.api.triggers import TriggerStatus, WorkflowTriggers

GROUP = "dagwright.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"

DNS_LABEL_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
PARAM_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"

DnsLabel = Annotated[str, Field(min_length=1, max_length=63, pattern=DNS_LABEL_PATTERN)]
PodTemplateDict = Annotated[
    dict[str, Any],
    Field(json_schema_extra={"x-kubernetes-preserve-unknown-fields": True}),
]

MAX_TASKS = 5000
"""Most tasks in one workflow; the CRD needs a bound to keep its CEL rules' cost in budget."""


def _cel_rules(*rules: dict[str, str]) -> ConfigDict:
    """Model config carrying CEL rules (`x-kubernetes-validations`) into the generated CRD.

    The API server enforces them at apply time; `api.validation` checks the same in Python.
    """
    validations: list[JsonValue] = [dict(rule) for rule in rules]
    return ConfigDict(json_schema_extra={"x-kubernetes-validations": validations})


def _list_map_by_name() -> dict[str, Any]:
    """CRD list markers: items keyed by `name`, so the API server refuses duplicate names."""
    return {"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]}


class TriggerRule(str, Enum):
    """When a task may start, judged from the final phases of its dependencies."""

    ALL_SUCCEEDED = "AllSucceeded"
    ALL_DONE = "AllDone"
    ANY_FAILED = "AnyFailed"
    ALL_FAILED = "AllFailed"
    NONE_FAILED = "NoneFailed"


class EventType(str, Enum):
    """The type of a Kubernetes Event the operator posts."""

    NORMAL = "Normal"
    WARNING = "Warning"


class ConcurrencyPolicy(str, Enum):
    """What a scheduled fire does while an earlier run of the workflow is still active."""

    ALLOW = "Allow"
    FORBID = "Forbid"
    REPLACE = "Replace"


class TaskResource(str, Enum):
    """What the operator creates for each task attempt."""

    JOB = "Job"
    POD = "Pod"


# What a workflow without `taskResource` gets; written into each run's frozen spec when the run
# starts, so a run keeps the kind it started with whatever a later operator's default is (a
# frozen spec without it is from before the field: Job).
DEFAULT_TASK_RESOURCE = TaskResource.POD


class RunPhase(str, Enum):
    """Phase of a WorkflowRun."""

    PENDING = "Pending"
    QUEUED = "Queued"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    CANCELLED = "Cancelled"


FINISHED_RUN_PHASES = frozenset({RunPhase.SUCCEEDED, RunPhase.FAILED, RunPhase.CANCELLED})


class TaskPhase(str, Enum):
    """Phase of one task inside a run."""

    PENDING = "Pending"
    RUNNING = "Running"
    RETRYING = "Retrying"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    SKIPPED = "Skipped"
    CANCELLED = "Cancelled"


FINISHED_TASK_PHASES = frozenset(
    {TaskPhase.SUCCEEDED, TaskPhase.FAILED, TaskPhase.SKIPPED, TaskPhase.CANCELLED}
)


# --------------------------------------------------------------------------- shared pieces


class EnvVar(ApiModel):
    """An environment variable with a literal value (use podTemplate for valueFrom)."""

    name: str = Field(min_length=1, description="Variable name.")
    value: str = Field("", description="Literal value; may use {{ params.x }} templates.")


class RetryPolicy(ApiModel):
    """How often a failed task is tried again, and how long to wait in between."""

    limit: int = Field(0, ge=0, le=100, description="Retries after the first attempt (0: none).")
    backoff_seconds: float = Field(
        10, ge=0, le=86400, description="Wait before the first retry, in seconds."
    )
    backoff_factor: float = Field(
        2, ge=1, le=100, description="Each further retry waits this many times longer."
    )
    max_backoff_seconds: float = Field(
        600, ge=0, le=86400 * 7, description="Upper bound of the wait between attempts."
    )
    on_disruption: int = Field(
        3, ge=0, le=100,
        description="Attempts Kubernetes took away (pod condition DisruptionTarget: eviction, "
        "preemption, node shutdown) tried again at once without using `limit`; beyond this "
        "many, a disruption counts as an ordinary failure.",
    )
    no_retry_on_exit_codes: list[Annotated[int, Field(ge=1, le=255)]] | None = Field(
        None, max_length=32,
        description="Exit codes of the main container that fail the task at once, whatever "
        "retries remain.",
    )


class TaskDefaults(ApiModel):
    """Settings applied to every task unless the task sets its own."""

    retries: RetryPolicy | None = Field(None, description="Default retry policy.")
    timeout_seconds: int | None = Field(
        None, ge=1, description="Default per-attempt timeout (the Job's activeDeadlineSeconds)."
    )
    service_account_name: str | None = Field(
        None, description="ServiceAccount the task pods run as (default: the namespace default)."
    )
    pod_template: PodTemplateDict | None = Field(
        None,
        description="Partial pod template (metadata + spec) merged into every task pod.",
    )


# --------------------------------------------------------------------------- task kinds


class ContainerTask(ApiModel):
    """Any container image, with its own command."""

    image: str = Field(min_length=1, description="Container image.")
    command: list[str] | None = Field(
        None, description="Entrypoint override (default: the image's ENTRYPOINT); may use templates."
    )
    args: list[str] | None = Field(
        None, description="Arguments of the command (default: the image's CMD); may use templates."
    )
    env: list[EnvVar] | None = Field(None, description="Environment variables.")
    working_dir: str | None = Field(None, description="Working directory.")


class PythonTask(ApiModel):
    """A Python script (inline) or module run with the image's python."""

    model_config = _cel_rules(
        {
            "rule": "has(self.script) != has(self.module)",
            "message": "python: exactly one of script, module must be set",
        }
    )

    image: str = Field(min_length=1, description="Image with a python interpreter.")
    script: str | None = Field(None, description="Inline Python source. Exclusive with module.")
    module: str | None = Field(None, description="Module run as `python -m MODULE`.")
    args: list[str] | None = Field(None, description="Arguments for the script or module.")
    env: list[EnvVar] | None = Field(None, description="Environment variables.")


SPARK_MEMORY_PATTERN = r"^[1-9][0-9]*([kKmMgGtT][bB]?)?$"
"""Spark's memory strings: a number with an optional k/m/g/t suffix (no suffix: MiB)."""


class SparkMode(str, Enum):
    """Where a Spark application's executors run."""

    LOCAL = "local"
    KUBERNETES = "kubernetes"


class SparkResources(ApiModel):
    """Cores and memory of the Spark driver or of each executor."""

    cores: int | None = Field(None, ge=1, le=256, description="CPU cores.")
    memory: str | None = Field(
        None,
        pattern=SPARK_MEMORY_PATTERN,
        max_length=16,
        description="JVM heap, in Spark's notation: 512m, 4g (no suffix: MiB).",
    )


class SparkExecutors(ApiModel):
    """How many executors a Spark application on Kubernetes asks for."""

    instances: int = Field(ge=1, le=10000, description="Executor pods (spark.executor.instances).")


class SparkTask(ApiModel):
    """A Spark application started with spark-submit."""

    image: str = Field(min_length=1, description="Spark image (with spark-submit).")
    main_application_file: str = Field(min_length=1, description="Application jar or .py.")
    main_class: str | None = Field(None, description="Main class (JVM applications).")
    args: list[str] | None = Field(None, description="Application arguments.")
    conf: dict[str, str] | None = Field(None, description="Spark configuration (--conf).")
    mode: SparkMode = Field(
        SparkMode.LOCAL,
        description="local: driver and executors in the task pod (--master local[N]); kubernetes: "
        "the task pod is the driver (client mode) and executors are pods it owns.",
    )
    packages: list[str] | None = Field(
        None, description="Maven coordinates fetched at start (--packages), e.g. "
        "org.apache.iceberg:iceberg-spark-runtime-3.5_2.12:1.6.1."
    )
    driver: SparkResources | None = Field(
        None, description="Driver cores and memory; they also size the task pod."
    )
    executor: SparkResources | None = Field(
        None, description="Cores and memory of each executor (kubernetes mode)."
    )
    executors: SparkExecutors | None = Field(
        None, description="Number of executors (kubernetes mode)."
    )


class DbtCommand(str, Enum):
    """The dbt commands a task may run."""

    BUILD = "build"
    RUN = "run"
    TEST = "test"
    SEED = "seed"
    SNAPSHOT = "snapshot"
    SOURCE_FRESHNESS = "source freshness"
    COMPILE = "compile"
    DOCS_GENERATE = "docs generate"


DBT_FULL_REFRESH_COMMANDS = (DbtCommand.BUILD, DbtCommand.RUN, DbtCommand.SEED)

DbtVars = Annotated[
    dict[str, Any],
    Field(json_schema_extra={"x-kubernetes-preserve-unknown-fields": True}),
]


class DbtTask(ApiModel):
    """A dbt command against a project baked into the image."""

    model_config = _cel_rules(
        {
            "rule": "!has(self.fullRefresh) || !self.fullRefresh || "
            "self.command in ['build', 'run', 'seed']",
            "message": "dbt: fullRefresh needs command build, run or seed",
        }
    )

    image: str = Field(min_length=1, description="dbt image.")
    command: DbtCommand = Field(
        DbtCommand.BUILD,
        description="dbt command: build, run, test, seed, snapshot, source freshness, compile, "
        "docs generate.",
    )
    select: list[str] | None = Field(None, description="--select arguments.")
    exclude: list[str] | None = Field(None, description="--exclude arguments.")
    project_dir: str | None = Field(None, description="--project-dir.")
    target: str | None = Field(None, description="--target.")
    vars: DbtVars | None = Field(
        None, description="Project variables, passed as --vars JSON."
    )
    full_refresh: bool | None = Field(
        None, description="--full-refresh (build, run and seed only)."
    )
    threads: int | None = Field(None, ge=1, le=256, description="--threads.")
    profiles_from: str | None = Field(
        None,
        min_length=1,
        max_length=253,
        description="Secret holding profiles.yml, mounted read-only as --profiles-dir "
        "(default: the project dir).",
    )

    @model_validator(mode="after")
    def _full_refresh_needs_a_building_command(self) -> DbtTask:
        if self.full_refresh and DbtCommand(self.command) not in DBT_FULL_REFRESH_COMMANDS:
            raise ValueError("fullRefresh needs command build, run or seed")
        return self


MAX_FOR_EACH_ITEMS = 5000
"""Most items one forEach fans out over; a longer list fails the task, saying so."""
FOR_EACH_FROM_PATTERN = r"^\{\{\s*(params\.[A-Za-z_][A-Za-z0-9_]*|tasks\.[a-z0-9-]+\.outputs\.[A-Za-z0-9_.-]+)\s*\}\}$"


class EmptyForEach(str, Enum):
    """The phase of a forEach task whose list is empty."""

    SUCCEEDED = "Succeeded"
    SKIPPED = "Skipped"


class ForEach(ApiModel):
    """Fan-out: one instance of the task per item (its own Jobs, retries and phase). Exactly one of
    items, from (checked by the webhook and the controller: CEL cannot see the untyped items)."""

    items: list[JsonValue] | None = Field(
        None, max_length=MAX_FOR_EACH_ITEMS,
        description="A literal list: strings, numbers or objects (read as {{ item.KEY }}).",
        json_schema_extra={"items": {"x-kubernetes-preserve-unknown-fields": True}},
    )
    from_: str | None = Field(
        None, alias="from", pattern=FOR_EACH_FROM_PATTERN, max_length=300,
        description="A JSON list held by a run parameter ('{{ params.NAME }}') or by an upstream "
        "task's output ('{{ tasks.TASK.outputs.KEY }}'), read when the task starts.",
    )
    max_parallel: int | None = Field(
        None, ge=1, le=MAX_FOR_EACH_ITEMS,
        description="Instances running at once (default: as many as maxParallelTasks allows).",
    )
    allowed_failures: int | None = Field(
        None, ge=0,
        description="Instances that may fail (after their retries) with the task still Succeeded.",
    )
    allowed_failure_percent: float | None = Field(
        None, ge=0, le=100,
        description="The same as a share of the items, in percent (both set: the larger allowance).",
    )
    on_empty: EmptyForEach = Field(
        EmptyForEach.SUCCEEDED, description="Phase of the task when the list is empty: Succeeded or Skipped.",
    )


MAX_WORKFLOW_NESTING = 5
"""Deepest chain of workflows calling workflows (a run, its child, the child's child, ...)."""


class WorkflowCall(ApiModel):
    """Another Workflow of the run's namespace, run as a child WorkflowRun owned by this run."""

    name: str = Field(min_length=1, max_length=253, description="The Workflow to run.")
    params: dict[str, str] | None = Field(
        None, description="Parameters of the child run; values may use templates ({{ params.NAME }}, "
        "{{ tasks.TASK.outputs.KEY }} of upstream tasks).",
    )


WORKFLOW_OUTPUT_PATTERN = r"^\{\{\s*tasks\.[a-z0-9-]+\.outputs\.[A-Za-z0-9_.-]+\s*\}\}$"


class WorkflowOutput(ApiModel):
    """A value a run of the workflow publishes when it succeeds (a calling task's outputs)."""

    name: str = Field(pattern=PARAM_NAME_PATTERN, description="Output name.")
    value: str = Field(
        pattern=WORKFLOW_OUTPUT_PATTERN, max_length=300,
        description="'{{ tasks.TASK.outputs.KEY }}': an output of one of the workflow's tasks.",
    )


TASK_KINDS = ("python", "spark", "dbt", "container", "workflow")


class Task(ApiModel):
    """One node of the DAG: exactly one of python, spark, dbt, container or workflow."""

    model_config = _cel_rules(
        {
            "rule": "[has(self.python), has(self.spark), has(self.dbt), has(self.container), has(self.workflow)]"
            ".filter(k, k).size() == 1",
            "message": "exactly one of python, spark, dbt, container, workflow must be set",
            "messageExpression": "'task ' + self.name + ': exactly one of python, spark, dbt, "
            "container, workflow must be set'",
        }
    )

    name: DnsLabel = Field(description="Task name, a DNS label unique in the workflow.")
    depends_on: list[DnsLabel] | None = Field(
        None, description="Tasks that must finish (per triggerRule) before this one starts."
    )
    trigger_rule: TriggerRule = Field(
        TriggerRule.ALL_SUCCEEDED, description="When the task may start, given its dependencies."
    )
    retries: RetryPolicy | None = Field(None, description="Retry policy (over defaults).")
    timeout_seconds: int | None = Field(
        None, ge=1, description="Per-attempt timeout in seconds (over defaults)."
    )
    service_account_name: str | None = Field(None, description="ServiceAccount (over defaults).")
    pod_template: PodTemplateDict | None = Field(
        None, description="Partial pod template merged over defaults.podTemplate."
    )
    python: PythonTask | None = Field(None, description="Run a Python script or module.")
    spark: SparkTask | None = Field(None, description="Run a Spark application.")
    dbt: DbtTask | None = Field(None, description="Run a dbt command.")
    container: ContainerTask | None = Field(None, description="Run any container.")
    workflow: WorkflowCall | None = Field(
        None, description="Run another Workflow as a child WorkflowRun; the task follows its phase and "
        "gets its outputs (docs/sub-workflows.md).",
    )
    pool: DnsLabel | None = Field(
        None,
        description="Pool (a Pool in the run's namespace) the task takes a slot of while an "
        "attempt runs; the task waits while the pool is full or missing.",
    )
    priority: int = Field(
        0, ge=-1000, le=1000,
        description="Order among pool users of equally old runs: higher goes first.",
    )
    large_outputs: bool = Field(
        False,
        description="The task writes its outputs (one JSON object, up to 256 KiB) to the file "
        "$DAGWRIGHT_OUTPUTS, and Dagwright collects it from the pod's log into a ConfigMap owned "
        "by the run (instead of the 4 KiB termination message). Needs /bin/sh and coreutils in "
        "the image, and `command` on a container task.",
    )
    for_each: ForEach | None = Field(
        None, alias="forEach",
        description="Run one instance per item of a list; {{ item }}, {{ item.KEY }} and {{ itemIndex }} "
        "work in the task's strings (docs/for-each.md).",
    )
    when: str | None = Field(
        None, min_length=1, max_length=1024,
        description="Condition judged when the task could start (its trigger rule is met): false "
        "makes it Skipped, with the expression and its values in the message. Names: "
        "params.NAME, run.name, run.namespace, run.logicalDate, run.dataIntervalStart, "
        "run.dataIntervalEnd, workflow.name, tasks.TASK.outputs.KEY (TASK upstream); operators "
        "== != < <= > >= in, not in, and, or, not; quoted strings, numbers, true, false, [lists]. "
        "Parsed, never evaluated as code (docs/conditions.md).",
    )
    depends_on_past: bool = Field(
        False,
        description="Start only once this task Succeeded (or was Skipped) in the run of the previous "
        "logical date of this workflow (Airflow's depends_on_past); the first run does not wait.",
    )
    produces: list[AssetRef] | None = Field(
        None, max_length=32,
        description="Data assets the task writes: a Succeeded task records a materialization on each "
        "(DataAsset objects, `kubectl get dataassets`).",
    )
    consumes: list[AssetRef] | None = Field(
        None, max_length=32, description="Data assets the task reads (for the asset graph and lineage).",
    )
    check: CheckSpec | None = Field(
        None,
        description="Make the task a data quality check: its outputs `passed`, `rows`, `message` are "
        "its verdict, and `severity` says what a failed check does to the tasks after it.",
    )
    publish_outputs: bool = Field(
        False,
        description="Keep this task's outputs on the run's status even when no later task reads "
        "them, so Workflows triggered by this one can take parameters from them.",
    )

    def kind(self) -> str | None:
        """The task kind that is set, or None when none or several are."""
        kinds = [k for k in TASK_KINDS if getattr(self, k) is not None]
        return kinds[0] if len(kinds) == 1 else None


class Param(ApiModel):
    """A run parameter with a default, templated into tasks as {{ params.NAME }}."""

    name: str = Field(pattern=PARAM_NAME_PATTERN, description="Parameter name.")
    default: str | None = Field(None, description="Value when the run does not set one.")
    description: str | None = Field(None, description="What the parameter is for.")


class SecretKeyRef(ApiModel):
    """A key of a Secret in the workflow's namespace."""

    name: str = Field(min_length=1, description="Secret name.")
    key: str = Field(min_length=1, description="Key in the Secret.")


class ValueFrom(ApiModel):
    """Where a value comes from."""

    secret_key_ref: SecretKeyRef = Field(description="A Secret key.")


class Webhook(ApiModel):
    """An HTTP endpoint that receives a JSON POST."""

    model_config = _cel_rules(
        {
            "rule": "has(self.url) != has(self.urlFrom)",
            "message": "webhook: exactly one of url, urlFrom must be set",
        }
    )

    url: str | None = Field(None, description="Literal URL (prefer urlFrom for secrets).")
    url_from: ValueFrom | None = Field(None, description="URL read from a Secret.")


class NotifyOn(str, Enum):
    """What a notification is sent for: a run phase, or a missed deadline."""

    PENDING = "Pending"
    QUEUED = "Queued"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    CANCELLED = "Cancelled"
    DEADLINE_MISSED = "DeadlineMissed"


class Notification(ApiModel):
    """A webhook called when a run ends in one of the listed phases (or misses its deadline)."""

    on: list[NotifyOn] = Field(
        default_factory=lambda: [NotifyOn.FAILED, NotifyOn.SUCCEEDED],
        description="Run phases that trigger the notification, or DeadlineMissed (sent the moment "
        "a run misses spec.deadline, while it still runs).",
    )
    webhook: Webhook = Field(description="Where to send it.")


class DeadlineFrom(str, Enum):
    """What a deadline counts from."""

    LOGICAL_DATE = "logicalDate"
    START = "start"


DURATION_PATTERN = r"^([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?$"


class Deadline(ApiModel):
    """When a run should have finished by: `after` this long from its logical date or start."""

    after: str = Field(
        min_length=2, pattern=DURATION_PATTERN,
        description="How long after `from`, as 1d2h30m10s (any of d, h, m, s, in that order).",
    )
    from_: DeadlineFrom = Field(
        DeadlineFrom.LOGICAL_DATE, alias="from",
        description="logicalDate (the data time the run is for) or start (when the run started). "
        "A run created after its logicalDate deadline had passed (a backfill) is not late.",
    )


class WorkflowSpec(ApiModel):
    """A DAG of tasks, optionally run on a cron schedule."""

    schedule: str | None = Field(None, description="Cron expression (5 fields).")
    timezone: str = Field("UTC", description="IANA time zone of the schedule.")
    concurrency_policy: ConcurrencyPolicy = Field(
        ConcurrencyPolicy.ALLOW, description="Allow, Forbid or Replace (as CronJob)."
    )
    starting_deadline_seconds: int | None = Field(
        None, ge=0, description="A missed fire older than this is skipped, with an Event."
    )
    catchup: bool = Field(False, description="Create runs for every missed interval (bounded).")
    suspend: bool = Field(False, description="Stop new scheduled runs; running runs go on.")
    successful_runs_history_limit: int = Field(
        5, ge=0, description="Finished successful runs kept."
    )
    failed_runs_history_limit: int = Field(5, ge=0, description="Finished failed runs kept.")
    max_active_runs: int | None = Field(
        None, ge=1, description="Runs of this workflow at once; more wait as Queued."
    )
    max_parallel_tasks: int | None = Field(
        None, ge=1, description="Tasks of one run running at once."
    )
    timeout_seconds: int | None = Field(
        None, ge=1, description="Whole-run timeout; the run fails and its tasks are stopped."
    )
    job_ttl_seconds_after_finished: int | None = Field(
        None,
        ge=0,
        description="Delete each task Job this long after it finishes (default: keep while "
        "the run exists).",
    )
    task_resource: TaskResource | None = Field(
        None,
        description="What each task attempt is (default Pod). Pod: a Pod the operator creates "
        "itself, without the Job controller's hop and writes. Job: a batch/v1 Job with one pod, "
        "run by the Job controller, for clusters whose RBAC, quotas or tools expect Jobs (retries, "
        "timeouts, cancel, disruptions and pools work the same; jobTtlSecondsAfterFinished "
        "applies to Jobs only: pods stay while the run exists). A run keeps the kind it started with.",
    )
    params: list[Param] | None = Field(
        None,
        description="Run parameters with defaults; names are unique.",
        json_schema_extra=_list_map_by_name(),
    )
    defaults: TaskDefaults | None = Field(None, description="Defaults for every task.")
    tasks: list[Task] = Field(
        min_length=1,
        max_length=MAX_TASKS,
        description="The DAG's tasks; names are unique.",
        json_schema_extra=_list_map_by_name(),
    )
    notifications: list[Notification] | None = Field(
        None, description="Webhooks called when a run finishes (or misses its deadline)."
    )
    deadline: Deadline | None = Field(
        None,
        description="A run not finished by then gets the DeadlineMissed condition and Event at "
        "that moment, and notifications with on: [DeadlineMissed] are sent.",
    )
    outputs: list[WorkflowOutput] | None = Field(
        None, description="What a succeeded run publishes (status.outputs): the outputs of a task that "
        "calls this workflow.",
        json_schema_extra=_list_map_by_name(),
    )
    triggers: WorkflowTriggers | None = Field(
        None,
        description="Start a run when other Workflows' runs end (exactly once per event); "
        "concurrencyPolicy and suspend apply as for the schedule.",
    )


class WorkflowRef(ApiModel):
    """A Workflow in the run's namespace."""

    name: str = Field(min_length=1, description="Workflow name.")


class RunRef(ApiModel):
    """A WorkflowRun in the same namespace."""

    name: str = Field(min_length=1, description="WorkflowRun name.")


class DataInterval(ApiModel):
    """The span of data a run processes, as Airflow's data interval: (start, end]."""

    start: str = Field(
        description="Start of the data interval (RFC 3339), exclusive; a scheduled run's previous "
        "fire time. Tasks read it as {{ run.dataIntervalStart }}."
    )
    end: str = Field(
        description="End of the data interval (RFC 3339), inclusive; a scheduled run's own fire "
        "time. Tasks read it as {{ run.dataIntervalEnd }}."
    )


class WorkflowRunSpec(ApiModel):
    """One execution of a DAG."""

    model_config = _cel_rules(
        {
            "rule": "has(self.workflowRef) != has(self.workflowSpec)",
            "message": "exactly one of workflowRef, workflowSpec must be set",
        }
    )

    workflow_ref: WorkflowRef | None = Field(None, description="The Workflow to run.")
    workflow_spec: WorkflowSpec | None = Field(
        None, description="An inline workflow (instead of workflowRef)."
    )
    params: dict[str, str] | None = Field(None, description="Parameter values for this run.")
    logical_date: str | None = Field(
        None, description="The data time this run is for (RFC 3339); default creation time."
    )
    data_interval: DataInterval | None = Field(
        None,
        description="The data this run processes. Set by schedule fires, catch-up and backfill "
        "(previous fire -> this fire) and copied by `dagwright retry`; without it both "
        "{{ run.dataIntervalStart }} and {{ run.dataIntervalEnd }} are the logical date.",
    )
    cancel: bool = Field(False, description="True stops running tasks and starts no more.")
    retry_of: RunRef | None = Field(
        None,
        description="Retry-from-failure: run the DAG frozen by this earlier run, reusing its "
        "succeeded tasks (and their outputs) and running only the others.",
    )


# --------------------------------------------------------------------------- status


class TaskStatus(ApiModel):
    """What happened to one task; kept short so 5,000-task runs stay small."""

    phase: TaskPhase = Field(description="Task phase.")
    attempts: int = Field(0, ge=0, description="Attempts started so far.")
    disruptions: int | None = Field(
        None, ge=1, description="Attempts Kubernetes took away (DisruptionTarget), retried without "
        "using `retries.limit` while within `retries.onDisruption`; absent when none."
    )
    job: str | None = Field(None, description="Job of the latest attempt.")
    started_at: str | None = Field(None, description="When the first attempt started.")
    finished_at: str | None = Field(None, description="When the task reached its final phase.")
    next_attempt_at: str | None = Field(None, description="When a Retrying task starts again.")
    message: str | None = Field(None, description="Why the task is in this phase.")
    outputs: dict[str, str] | None = Field(
        None,
        description="The JSON object the task wrote to its termination message, when a later "
        "task uses it as {{ tasks.NAME.outputs.KEY }} (at most 1 KiB). For a forEach task, each key "
        "holds the JSON list of the instances' values, in item order.",
    )
    for_each: ForEachStatus | None = Field(
        None, alias="forEach", description="A forEach task's instances, counted (bounded status)."
    )
    run: str | None = Field(None, description="The child WorkflowRun of a workflow task.")
    outputs_ref: str | None = Field(
        None,
        description="With largeOutputs: the ConfigMap (owned by the run, key outputs.json) that "
        "holds the task's outputs; they are never copied into the status.",
    )


MAX_LISTED_INSTANCE_FAILURES = 20
"""Most failed instances a forEach task's status lists by name (the counts are always complete)."""


class InstanceFailure(ApiModel):
    """One failed instance of a forEach task."""

    index: int = Field(ge=0, description="The item's index in the list.")
    attempts: int = Field(ge=1, description="Attempts the instance made.")
    job: str = Field(description="Job of its last attempt.")
    message: str | None = Field(None, description="Why its last attempt failed.")


class ForEachStatus(ApiModel):
    """A forEach task's instances in aggregate: bounded, whatever the number of items."""

    items: int = Field(ge=0, description="Items in the list (instances).")
    pending: int = Field(0, ge=0, description="Instances not started.")
    running: int = Field(0, ge=0, description="Instances with an attempt running.")
    retrying: int = Field(0, ge=0, description="Instances waiting for their next attempt.")
    succeeded: int = Field(0, ge=0, description="Instances that succeeded.")
    failed: int = Field(0, ge=0, description="Instances that failed for good.")
    cancelled: int = Field(0, ge=0, description="Instances stopped by a cancel or the run's timeout.")
    states: str = Field(
        "", description="One character per instance, in item order: . pending, R running, r retrying, "
        "S succeeded, F failed, C cancelled (1 byte per item).",
    )
    digest: str | None = Field(None, description="Hash of the list, so a list that changes mid-run is noticed.")
    failures: list[InstanceFailure] | None = Field(
        None, max_length=MAX_LISTED_INSTANCE_FAILURES,
        description=f"The first {MAX_LISTED_INSTANCE_FAILURES} failed instances (the count is complete).",
    )


class Condition(ApiModel):
    """A Kubernetes-style condition."""

    type: str = Field(description="Condition type: Ready, Reconciling, Stalled, Valid, Notified, "
                      "DeadlineMissed or DeadlineNotified.")
    status: str = Field(description="True, False or Unknown.")
    reason: str | None = Field(None, description="CamelCase reason.")
    message: str | None = Field(None, description="Human message.")
    last_transition_time: str | None = Field(None, description="When status last changed.")
    observed_generation: int | None = Field(None, description="Generation observed.")


class WorkflowRunStatus(ApiModel):
    """Observed state of a run."""

    phase: RunPhase | None = Field(None, description="Run phase.")
    progress: str | None = Field(None, description="Finished tasks / all tasks, e.g. 3/7.")
    started_at: str | None = Field(None, description="When the run started.")
    finished_at: str | None = Field(None, description="When the run finished.")
    duration: str | None = Field(None, description="How long the run took, once finished.")
    message: str | None = Field(None, description="Why the run is in this phase.")
    workflow_generation: int | None = Field(
        None, description="Generation of the Workflow the run froze at its start."
    )
    frozen_spec: str | None = Field(
        None,
        description="The workflow spec this run executes (gzip + base64 of its JSON), frozen "
        "at start so editing the Workflow never changes a started run.",
    )
    tasks: dict[str, TaskStatus] | None = Field(
        None,
        description="Per-task status, by task name.",
        # atomic: field ownership is tracked for the map as a whole, not per task, which keeps
        # managedFields (and so the object) small for runs of thousands of tasks.
        json_schema_extra={"x-kubernetes-map-type": "atomic"},
    )
    checks: dict[str, CheckResult] | None = Field(
        None,
        description="Results of the run's check tasks (spec.tasks[].check), by task name.",
        json_schema_extra={"x-kubernetes-map-type": "atomic"},
    )
    conditions: list[Condition] | None = Field(
        None,
        description="Ready (True once Succeeded), Reconciling (while Pending, Queued or Running), "
        "Stalled (Failed or Cancelled); Valid (False for an invalid spec), Notified, DeadlineMissed "
        "(True from the moment the run missed spec.deadline), DeadlineNotified, and Warning (True while a "
        "Warning-severity check failed) when relevant.",
    )
    observed_generation: int | None = Field(None, description="Last generation reconciled.")
    outputs: dict[str, str] | None = Field(
        None, description="The workflow's declared outputs (spec.outputs), once the run succeeded.",
    )


class PoolSpec(ApiModel):
    """A concurrency limit shared by every task that names the pool, across workflows."""

    size: int = Field(ge=0, le=10000, description="Task attempts holding a slot at once (1: a mutex).")


MAX_POOL_HOLDERS = 20
"""Most holders a Pool's status lists (the count is always complete)."""


class PoolHolder(ApiModel):
    """One task attempt holding a slot of the pool."""

    run: str = Field(description="WorkflowRun name.")
    task: str = Field(description="Task name.")
    job: str = Field(description="The attempt's Job.")


class PoolStatus(ApiModel):
    """Observed use of a pool, written by the operator (at most once a second)."""

    in_use: int | None = Field(None, ge=0, description="Slots held by unfinished task attempts.")
    waiting: int | None = Field(None, ge=0, description="Tasks waiting for a slot.")
    holders: list[PoolHolder] | None = Field(
        None, max_length=MAX_POOL_HOLDERS,
        description=f"Who holds the slots (at most {MAX_POOL_HOLDERS} listed).",
    )


class WorkflowStatus(ApiModel):
    """Observed state of a Workflow: its schedule and its latest runs."""

    last_schedule_time: str | None = Field(None, description="Latest fire time that made a run.")
    next_schedule_time: str | None = Field(None, description="Next fire time.")
    last_run: str | None = Field(None, description="Name of the latest run.")
    last_run_phase: RunPhase | None = Field(None, description="Phase of the latest run.")
    active_runs: list[str] | None = Field(
        None, description="Runs not finished yet, by name; at most the first 10 (`activeRunCount` counts them all)."
    )
    active_run_count: int | None = Field(None, ge=0, description="How many runs are not finished yet.")
    conditions: list[Condition] | None = Field(
        None, description="Valid (False for an invalid cron expression or time zone)."
    )
    observed_generation: int | None = Field(None, description="Last generation reconciled.")
    triggers: TriggerStatus | None = Field(None, description="What spec.triggers has handled and waits for.")
