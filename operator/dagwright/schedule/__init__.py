"""Dagwright schedule layer: pure cron logic for scheduled Workflows.

Next fire times (timezone- and DST-correct), catch-up, starting deadlines,
concurrency policy, deterministic run names and run-history cleanup. Pure: no
Kubernetes API, no clock (``now`` is always a parameter), no logging. Imports
only the API models (for shared enums), nothing from the other layers.
"""

from dagwright.schedule.cron import (
    Schedule,
    ScheduleError,
    compile_schedule,
    fire_times,
    validate_cron,
    validate_timezone,
)
from dagwright.schedule.history import FinishedRun, plan_history_cleanup
from dagwright.schedule.names import scheduled_run_name
from dagwright.schedule.plan import (
    DEFAULT_CATCHUP_LIMIT,
    MAX_CATCHUP_LIMIT,
    ActiveRun,
    ConcurrencyPolicy,
    EventReason,
    EventType,
    RunToCreate,
    ScheduleEvent,
    SchedulePlan,
    ScheduleSnapshot,
    SkippedFires,
    SkipReason,
    backfill_fire_times,
    backfill_runs,
    manual_run,
    plan_schedule,
    requeue_after,
)

__all__ = [
    "DEFAULT_CATCHUP_LIMIT",
    "MAX_CATCHUP_LIMIT",
    "ActiveRun",
    "ConcurrencyPolicy",
    "EventReason",
    "EventType",
    "FinishedRun",
    "RunToCreate",
    "Schedule",
    "ScheduleError",
    "ScheduleEvent",
    "SchedulePlan",
    "ScheduleSnapshot",
    "SkipReason",
    "SkippedFires",
    "backfill_fire_times",
    "backfill_runs",
    "compile_schedule",
    "fire_times",
    "manual_run",
    "plan_history_cleanup",
    "plan_schedule",
    "requeue_after",
    "scheduled_run_name",
    "validate_cron",
    "validate_timezone",
]
