"""`dagwright render`: the Jobs a run of a Workflow would create, without a cluster.

Like `helm template`: reads a file, validates every Workflow in it (the models, then
`validate_workflow_spec` and the template checks the controller runs), and prints attempt 1 of
every task's Job as YAML documents, in task order. Nothing talks to the API server; the run is
a stand-in (uid `00000000-0000-0000-0000-000000000000`) named as a manual trigger would name it.

`render_documents` is the pure core, shared with the golden-file tests of `examples/`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from dagwright.api.models import API_VERSION, WorkflowSpec
from dagwright.api.validation import validate_workflow_spec
from dagwright.planner.fanout import item_values, resolve_items
from dagwright.render.checks import param_default_problems, run_param_problems, template_problems
from dagwright.render.job import RunIdentity, build_job
from dagwright.render.outputs import OutputPlaceholders, ancestors
from dagwright.render.templating import build_template_context
from dagwright.schedule import ScheduleError, manual_run, scheduled_run_name
from dagwright.schedule.plan import format_time

FAKE_UID = "00000000-0000-0000-0000-000000000000"
DEFAULT_NAMESPACE = "default"


class RenderError(Exception):
    """The file cannot be rendered; `problems` says why, each naming a document, task or field."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class RenderOptions:
    """What the command line may set about the stand-in run."""

    params: Mapping[str, str] = field(default_factory=dict)
    run_name: str | None = None
    logical_date: datetime | None = None
    namespace: str | None = None


@dataclass(frozen=True)
class _Source:
    """One renderable document: a Workflow, or a WorkflowRun with an inline workflowSpec."""

    where: str
    workflow: str
    namespace: str | None
    spec: dict[str, Any]
    params: Mapping[str, str]
    run_name: str | None
    logical_date: str | None
    data_interval: tuple[str, str] | None = None


def _describe(doc: Mapping[str, Any], index: int) -> str:
    name = (doc.get("metadata") or {}).get("name") or "?"
    return f"document {index + 1} ({doc.get('kind')} {name})"


def _sources(docs: Iterable[Any]) -> list[_Source]:
    sources = []
    for index, doc in enumerate(docs):
        if not isinstance(doc, dict) or doc.get("apiVersion") != API_VERSION:
            continue
        meta = doc.get("metadata") or {}
        where = _describe(doc, index)
        spec = doc.get("spec") or {}
        if doc.get("kind") == "Workflow":
            sources.append(_Source(where, meta.get("name") or "workflow", meta.get("namespace"), spec, {}, None, None))
        elif doc.get("kind") == "WorkflowRun" and isinstance(spec.get("workflowSpec"), dict):
            raw_interval = spec.get("dataInterval")
            interval: dict[str, Any] = raw_interval if isinstance(raw_interval, dict) else {}
            sources.append(_Source(where, meta.get("name") or "run", meta.get("namespace"), spec["workflowSpec"],
                                   spec.get("params") or {}, meta.get("name"), spec.get("logicalDate"),
                                   (interval["start"], interval["end"]) if {"start", "end"} <= set(interval) else None))
    return sources


def format_validation_error(error: ValidationError, spec: Mapping[str, Any]) -> list[str]:
    """Pydantic errors in manifest terms: `spec.tasks[2] (bronze).spark.driver.memory: …`."""
    raw_tasks = spec.get("tasks")
    tasks: list[Any] = raw_tasks if isinstance(raw_tasks, list) else []
    problems = []
    for item in error.errors():
        loc = list(item["loc"])
        path = "spec"
        if len(loc) >= 2 and loc[0] == "tasks" and isinstance(loc[1], int):
            task = tasks[loc[1]] if loc[1] < len(tasks) and isinstance(tasks[loc[1]], dict) else {}
            path += f".tasks[{loc[1]}] ({task.get('name', '?')})"
            loc = loc[2:]
        path += "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc)
        problems.append(f"{path}: {item['msg']}")
    return problems


def _data_interval(spec: WorkflowSpec, logical: datetime) -> tuple[str, str] | None:
    """(previous fire, logical date) for a scheduled workflow, as `dagwright trigger` sets it."""
    if not spec.schedule:
        return None
    try:
        run = manual_run("workflow", spec.schedule, spec.timezone, logical)
    except ScheduleError:
        return None
    return (format_time(run.data_interval_start), format_time(run.data_interval_end))


def _parse_time(text: str) -> datetime:
    """An RFC 3339 time; without an offset it is UTC."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def build_source_jobs(source: _Source, options: RenderOptions, now: datetime) -> list[dict[str, Any]]:
    """Attempt 1 of every task's Job for a run of one workflow; RenderError if it is invalid."""
    try:
        spec = WorkflowSpec.model_validate(source.spec)
    except ValidationError as error:
        raise RenderError([f"{source.where}: {p}" for p in format_validation_error(error, source.spec)]) from None
    params = {**source.params, **options.params}
    problems = [*validate_workflow_spec(spec), *run_param_problems(spec, params)]
    if default_problems := param_default_problems(spec):  # the context below needs the defaults
        raise RenderError([f"{source.where}: {p}" for p in [*problems, *default_problems]])
    if options.logical_date is not None:
        logical = options.logical_date
    elif source.logical_date:
        logical = _parse_time(source.logical_date)
    else:
        logical = now.replace(microsecond=0)
    run_name = options.run_name or source.run_name or scheduled_run_name(source.workflow, logical)
    namespace = options.namespace or source.namespace or DEFAULT_NAMESPACE
    context = build_template_context(
        run_name=run_name, namespace=namespace, workflow=source.workflow, logical_date=format_time(logical),
        param_defaults={p.name: p.default for p in spec.params or []}, run_params=params,
        data_interval=source.data_interval or _data_interval(spec, logical))
    identity = RunIdentity(name=run_name, namespace=namespace, uid=FAKE_UID, workflow=source.workflow,
                           template_context=context)
    # A task already reported (no kind, two kinds) need not be reported again as unrenderable.
    reported = {p.field for p in problems}
    problems += [p for p in template_problems(spec, identity)
                 if not (p.field in reported and p.message.startswith("cannot render"))]
    if problems:
        raise RenderError([f"{source.where}: {p}" for p in problems])
    jobs = []
    for task in spec.tasks:
        # Outputs of upstream tasks are not known before a run: shown as <tasks.NAME.outputs.KEY>.
        task_context = OutputPlaceholders(context, ancestors(spec, task.name), items=task.for_each is not None)
        if task.workflow is not None:
            continue  # no Job of its own: it starts a child run of its workflow
        if task.for_each is None:
            jobs.append(build_job(replace(identity, template_context=task_context), spec, task, 1))
            continue
        # forEach: one Job per item when the list is known before the run (literal or a parameter),
        # else one Job standing for every instance, its item shown as <item>.
        items, _problem = resolve_items(task.for_each, context, {})
        for index, item in enumerate(items if items is not None else [None]):
            instance = OutputPlaceholders({**task_context, **dict(item_values(item, index))} if items is not None
                                          else task_context, task_context.producers, items=items is None)
            jobs.append(build_job(replace(identity, template_context=instance), spec, task, 1, index))
    return jobs


def render_documents(docs: Iterable[Any], options: RenderOptions, now: datetime) -> list[dict[str, Any]]:
    """The Jobs of every Workflow (and inline-spec WorkflowRun) in `docs`, in document order."""
    sources = _sources(docs)
    if not sources:
        raise RenderError([f"no Workflow (or WorkflowRun with workflowSpec) of {API_VERSION} found"])
    jobs: list[dict[str, Any]] = []
    problems: list[str] = []
    for source in sources:
        try:
            jobs += build_source_jobs(source, options, now)
        except RenderError as error:
            problems += error.problems
    if problems:
        raise RenderError(problems)
    return jobs


class _Dumper(yaml.SafeDumper):  # type: ignore[misc,unused-ignore]
    """Block scalars for multi-line strings (scripts), so the YAML reads like the source."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    if "\n" in value and not any(line != line.rstrip() for line in value.split("\n")):
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(str, _represent_str)


def dump_jobs(jobs: Iterable[Mapping[str, Any]]) -> str:
    """`---`-separated YAML documents, keys in the order they were built."""
    return "".join("---\n" + yaml.dump(dict(job), Dumper=_Dumper, sort_keys=False, width=120,
                                        allow_unicode=True) for job in jobs)


def load_documents(path: str) -> list[Any]:
    """Every YAML document in `path` (`-`: standard input)."""
    text = sys.stdin.read() if path == "-" else Path(path).read_text()
    return [doc for doc in yaml.safe_load_all(text) if doc is not None]


def _parse_params(pairs: list[str] | None) -> dict[str, str]:
    params = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise RenderError([f"--param wants KEY=VALUE, got '{pair}'"])
        params[key] = value
    return params


def cmd_render(args: argparse.Namespace) -> int:
    """Print the Jobs; exit 1 with the problems on a bad file."""
    try:
        docs = load_documents(args.filename)
        options = RenderOptions(
            params=_parse_params(args.param), run_name=args.run_name, namespace=args.namespace,
            logical_date=_parse_time(args.logical_date) if args.logical_date else None)
        jobs = render_documents(docs, options, datetime.now(UTC))
    except (OSError, yaml.YAMLError, ValueError) as error:
        print(f"dagwright render: {args.filename}: {error}", file=sys.stderr)
        return 1
    except RenderError as error:
        print(f"dagwright render: {args.filename} is not valid:", file=sys.stderr)
        for problem in error.problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    sys.stdout.write(dump_jobs(jobs))
    return 0


def add_render_command(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register `dagwright render`."""
    p = sub.add_parser("render", help="print the Jobs a run of a Workflow would create (no cluster)",
                       description="Validate the Workflows in FILE and print attempt 1 of each task's Job as YAML.")
    p.add_argument("-f", "--filename", required=True, help="file with Workflow documents ('-': stdin)")
    p.add_argument("--param", "-p", action="append", metavar="KEY=VALUE", help="run parameter (repeatable)")
    p.add_argument("--run-name", help="name of the run (default: as a trigger at the logical date names it)")
    p.add_argument("--logical-date", metavar="TIME", help="RFC 3339 data time of the run (default: now)")
    p.add_argument("--namespace", "-n", help="namespace (default: the document's, else 'default')")
    p.set_defaults(func=cmd_render)
