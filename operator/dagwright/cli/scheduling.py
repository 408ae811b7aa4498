"""CLI commands around schedules: trigger, backfill, and `schedule next` (thin wiring)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from dagwright.api.models import WorkflowSpec
from dagwright.api.timefmt import parse_time
from dagwright.cli.commands import _http, _namespace, common
from dagwright.controller.workflows import build_scheduled_run
from dagwright.kube import resources
from dagwright.kube.errors import AlreadyExists, ApiError
from dagwright.schedule import ScheduleError, backfill_runs, fire_times, manual_run, scheduled_run_name

BACKFILL_LIMIT = 1000


def _parse_params(pairs: list[str] | None) -> dict[str, str]:
    params = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"dagwright: --param wants KEY=VALUE, got '{pair}'")
        params[key] = value
    return params


def _workflow(args: argparse.Namespace) -> dict[str, Any]:
    workflow = resources.get_custom(_http(args), _namespace(args), "workflows", args.workflow)
    if workflow is None:
        raise SystemExit(f"dagwright: Workflow '{args.workflow}' not found in namespace '{_namespace(args)}'")
    return workflow


def _create(args: argparse.Namespace, body: dict[str, Any]) -> bool:
    try:
        resources.create_custom(_http(args), body["metadata"]["namespace"], "workflowruns", body)
        print(f"workflowrun {body['metadata']['name']} created")
        return True
    except AlreadyExists:
        print(f"workflowrun {body['metadata']['name']} already exists (same workflow and logical date)")
        return False
    except ApiError as error:
        raise SystemExit(f"dagwright: {error.message}") from None


def cmd_trigger(args: argparse.Namespace) -> int:
    workflow = _workflow(args)
    logical = parse_time(args.logical_date) if args.logical_date else datetime.now(UTC).replace(microsecond=0)
    name = scheduled_run_name(workflow["metadata"]["name"], logical)
    spec = workflow.get("spec") or {}
    interval = None
    if spec.get("schedule"):  # the data interval a fire at `logical` gets (it has the same name)
        try:
            run = manual_run(workflow["metadata"]["name"], spec["schedule"], spec.get("timezone", "UTC"), logical)
            interval = (run.data_interval_start, run.data_interval_end)
        except ScheduleError as error:
            raise SystemExit(f"dagwright: Workflow '{args.workflow}': {error}") from None
    body = build_scheduled_run(workflow, name, logical, interval, _parse_params(args.param), trigger="manual")
    return 0 if _create(args, body) else 1


def cmd_backfill(args: argparse.Namespace) -> int:
    workflow = _workflow(args)
    spec = workflow.get("spec") or {}
    if not spec.get("schedule"):
        raise SystemExit(f"dagwright: Workflow '{args.workflow}' has no spec.schedule to backfill")
    runs = backfill_runs(workflow["metadata"]["name"], spec["schedule"], spec.get("timezone", "UTC"),
                         parse_time(args.from_), parse_time(args.to), BACKFILL_LIMIT + 1)
    if len(runs) > BACKFILL_LIMIT:
        raise SystemExit(f"dagwright: the range holds more than {BACKFILL_LIMIT} fire times; narrow it")
    for run in runs:
        body = build_scheduled_run(workflow, run.name, run.logical_date,
                                   (run.data_interval_start, run.data_interval_end),
                                   _parse_params(args.param), trigger="backfill")
        _create(args, body)
    print(f"{len(runs)} fire time(s) in range; runs beyond maxActiveRuns wait as Queued")
    return 0


def cmd_schedule_next(args: argparse.Namespace) -> int:
    source = Path(args.workflow)
    if source.exists():
        document = next(d for d in yaml.safe_load_all(source.read_text()) if d and d.get("kind") == "Workflow")
        spec = WorkflowSpec.model_validate(document["spec"])
        name = document["metadata"]["name"]
    else:
        spec = WorkflowSpec.model_validate(_workflow(args)["spec"])
        name = args.workflow
    if not spec.schedule:
        raise SystemExit(f"dagwright: Workflow '{name}' has no spec.schedule")
    start = parse_time(args.from_) if args.from_ else datetime.now(UTC)
    try:
        times = fire_times(spec.schedule, spec.timezone, start, None, args.count)
    except ScheduleError as error:
        raise SystemExit(f"dagwright: {error}") from None
    zone = ZoneInfo(spec.timezone)
    print(f"{name}: '{spec.schedule}' in {spec.timezone}")
    for moment in times:
        local = moment.astimezone(zone)
        print(f"{local.isoformat()}  {local.tzname():<5}  {moment.strftime('%Y-%m-%dT%H:%M:%SZ')}")
    return 0


def add_schedule_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = common(sub.add_parser("trigger", help="start a run of a workflow now"))
    p.add_argument("workflow")
    p.add_argument("--param", "-p", action="append", help="KEY=VALUE (repeatable)")
    p.add_argument("--logical-date", help="RFC 3339 data time (default: now)")
    p.set_defaults(func=cmd_trigger)
    p = common(sub.add_parser("backfill", help="one run per fire time in [--from, --to]"))
    p.add_argument("workflow")
    p.add_argument("--from", dest="from_", required=True, help="RFC 3339, inclusive")
    p.add_argument("--to", required=True, help="RFC 3339, inclusive")
    p.add_argument("--param", "-p", action="append", help="KEY=VALUE (repeatable)")
    p.set_defaults(func=cmd_backfill)
    schedule = sub.add_parser("schedule", help="inspect schedules")
    schedule_sub = schedule.add_subparsers(dest="schedule_command", required=True)
    p = common(schedule_sub.add_parser("next", help="the next fire times, local and UTC"))
    p.add_argument("workflow", help="a Workflow name, or a YAML file holding one")
    p.add_argument("--from", dest="from_", help="RFC 3339 start (default: now)")
    p.add_argument("--count", type=int, default=5)
    p.set_defaults(func=cmd_schedule_next)

