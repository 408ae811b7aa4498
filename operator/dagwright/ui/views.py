"""What the web view shows, as plain JSON-ready dicts: runs table rows, a run's graph and timeline,
a workflow's schedule. Pure: functions take API objects (dicts), observed attempts and `now`, and
return data; no I/O, no clock, no logging. The browser only lays out and draws what these return.

The graph is compacted before the browser lays it out: tasks with the same dependencies and the
same dependents (a fan-out) become one group node once there are `GROUP_MIN` of them, and a graph
still larger than `MAX_GRAPH_NODES` is drawn one node per rank (depth from the roots). So a
2,000-task fan-out is three nodes, and the layout library never gets more nodes than it lays out
in well under a second.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from dagwright.api.frozen import thaw_spec
from dagwright.api.models import FINISHED_RUN_PHASES, FINISHED_TASK_PHASES
from dagwright.api.timefmt import format_duration, format_time, parse_time
from dagwright.planner.dag import topological_order
from dagwright.planner.snapshot import JobState, ObservedJob
from dagwright.schedule.cron import ScheduleError, compile_schedule

PHASE_COLOURS: dict[str, str] = {
    "Succeeded": "#2e9e5b",
    "Failed": "#d64545",
    "Running": "#2f7fd8",
    "Retrying": "#e08a1e",
    "Pending": "#9aa5b1",
    "Queued": "#9aa5b1",
    "Skipped": "#c8ced6",
    "Cancelled": "#8e5bd0",
}
"""One colour per run or task phase, shared by the graph, the tables and the timeline."""

ATTEMPT_COLOURS: dict[str, str] = {
    JobState.ACTIVE.value: PHASE_COLOURS["Running"],
    JobState.SUCCEEDED.value: PHASE_COLOURS["Succeeded"],
    JobState.FAILED.value: PHASE_COLOURS["Failed"],
}

# Which phase a group node shows: the first of these that any member has.
GROUP_PHASE_PRECEDENCE = ("Failed", "Retrying", "Running", "Pending", "Queued", "Cancelled", "Skipped", "Succeeded")
# Failing tasks first in the task list, then what is moving, then the rest in DAG order.
TASK_LIST_PRECEDENCE = {"Failed": 0, "Retrying": 1, "Running": 2}

GROUP_MIN = 6
"""Tasks with identical dependencies and dependents are drawn as one node from this many on."""
MAX_GRAPH_NODES = 300
"""A graph with more nodes than this after grouping is drawn one node per rank."""
FINISHED_TASK = frozenset(phase.value for phase in FINISHED_TASK_PHASES)
FINISHED_RUN = frozenset(phase.value for phase in FINISHED_RUN_PHASES)
RECENT_RUNS = 20
NEXT_FIRES = 5


def colour(phase: str | None) -> str:
    """The colour of a phase (Pending's for an unknown or missing one)."""
    return PHASE_COLOURS.get(phase or "Pending", PHASE_COLOURS["Pending"])


# ------------------------------------------------------------------------------------ runs table


@dataclass(frozen=True)
class RunFilter:
    """The runs table's filters; an empty field matches everything."""

    namespace: str = ""
    workflow: str = ""
    phase: str = ""

    def matches(self, row: Mapping[str, Any]) -> bool:
        return all(not want or row.get(field) == want
                   for field, want in (("namespace", self.namespace), ("workflow", self.workflow), ("phase", self.phase)))


def workflow_of(run: Mapping[str, Any]) -> str:
    """The run's workflow name: its workflowRef, its workflow label, or '' for an inline spec."""
    ref = ((run.get("spec") or {}).get("workflowRef") or {}).get("name")
    labels = (run.get("metadata") or {}).get("labels") or {}
    return str(ref or labels.get("dagwright.io/workflow") or "")


def run_duration(status: Mapping[str, Any], now: datetime) -> str:
    """How long the run took, or, while it runs, how long it has been running."""
    if status.get("duration"):
        return str(status["duration"])
    if not status.get("startedAt") or status.get("phase") in FINISHED_RUN:
        return ""
    return format_duration(now - parse_time(status["startedAt"]))


def run_row(run: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """One line of the runs table."""
    meta, status = run.get("metadata") or {}, run.get("status") or {}
    phase = status.get("phase") or "Pending"
    return {
        "namespace": meta.get("namespace", ""),
        "name": meta.get("name", ""),
        "workflow": workflow_of(run),
        "phase": phase,
        "colour": colour(phase),
        "progress": status.get("progress") or "",
        "startedAt": status.get("startedAt") or "",
        "duration": run_duration(status, now),
        "logicalDate": (run.get("spec") or {}).get("logicalDate") or "",
        "created": meta.get("creationTimestamp") or "",
        "message": status.get("message") or "",
    }


def run_rows(runs: Iterable[Mapping[str, Any]], now: datetime, keep: RunFilter = RunFilter()) -> list[dict[str, Any]]:
    """The runs table: rows that pass the filter, newest first (creation time, then name)."""
    rows = [row for row in (run_row(run, now) for run in runs) if keep.matches(row)]
    rows.sort(key=lambda row: (row["created"], row["namespace"], row["name"]), reverse=True)
    return rows


def filter_choices(rows: Iterable[Mapping[str, Any]]) -> dict[str, list[str]]:
    """The values each filter can take, from the rows there are."""
    rows = list(rows)
    return {field: sorted({str(row[field]) for row in rows if row[field]}) for field in ("namespace", "workflow", "phase")}


# ------------------------------------------------------------------------------------ a run's DAG


Dag = tuple[tuple[str, ...], dict[str, list[str]]]


@lru_cache(maxsize=64)
def _frozen_dag(frozen: str) -> Dag:
    spec = thaw_spec(frozen)
    return topological_order(spec), {t.name: list(t.depends_on or []) for t in spec.tasks}


def spec_dag(spec: Mapping[str, Any]) -> Dag:
    """Task order (as written) and dependencies of a workflow spec as the API server holds it."""
    tasks = [t for t in spec.get("tasks") or [] if isinstance(t, Mapping) and t.get("name")]
    return tuple(str(t["name"]) for t in tasks), {str(t["name"]): [str(d) for d in t.get("dependsOn") or []] for t in tasks}


def run_dag(run: Mapping[str, Any], workflow: Mapping[str, Any] | None = None) -> Dag:
    """The run's DAG: its frozen spec, else its inline spec, else its workflow's, else its status."""
    status = run.get("status") or {}
    if status.get("frozenSpec"):
        try:
            return _frozen_dag(status["frozenSpec"])
        except Exception:  # noqa: BLE001 - a frozen spec this version cannot read: fall back
            pass
    inline = (run.get("spec") or {}).get("workflowSpec") or {}
    if inline.get("tasks"):
        return spec_dag(inline)
    if workflow and (workflow.get("spec") or {}).get("tasks"):
        return spec_dag(workflow["spec"])
    return tuple(status.get("tasks") or {}), {}


def task_phases(run: Mapping[str, Any], order: Iterable[str]) -> dict[str, str]:
    """Each task's phase; a task the status does not name yet is Pending."""
    tasks = (run.get("status") or {}).get("tasks") or {}
    return {name: str((tasks.get(name) or {}).get("phase") or "Pending") for name in order}


def dependents_of(order: Iterable[str], depends: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {name: [] for name in order}
    for name, deps in depends.items():
        for dep in deps:
            if dep in result and name in result:
                result[dep].append(name)
    return result


def ranks(order: tuple[str, ...], depends: Mapping[str, Sequence[str]]) -> dict[str, int]:
    """Each task's depth: 0 for a task without dependencies, else one more than its deepest one.

    Tolerates cycles (an invalid spec): a task on a cycle gets the rank it had when first reached.
    """
    known = set(order)
    rank: dict[str, int] = {}
    visiting: set[str] = set()

    def depth(name: str) -> int:
        if name in rank:
            return rank[name]
        if name in visiting:
            return 0
        visiting.add(name)
        deps = [d for d in depends.get(name, []) if d in known]
        rank[name] = max((depth(d) + 1 for d in deps), default=0)
        visiting.discard(name)
        return rank[name]

    for name in order:
        depth(name)
    return rank


def group_phase(phases: Iterable[str]) -> str:
    """The phase a group node shows: failed if any failed, else retrying, running, ... succeeded."""
    present = set(phases)
    return next((p for p in GROUP_PHASE_PRECEDENCE if p in present), "Pending")


@dataclass(frozen=True)
class GraphNode:
    """One node to lay out: a task, or a group of tasks drawn as one."""

    id: str
    label: str
    tasks: tuple[str, ...]
    phase: str

    def as_json(self, phases: Mapping[str, str]) -> dict[str, Any]:
        counts = Counter(phases[t] for t in self.tasks)
        return {"id": self.id, "label": self.label, "tasks": list(self.tasks), "phase": self.phase,
                "colour": colour(self.phase), "group": len(self.tasks) > 1, "counts": dict(sorted(counts.items()))}


@dataclass(frozen=True)
class Graph:
    """Nodes and edges (node id pairs) for the layout library, and which node holds each task."""

    nodes: tuple[GraphNode, ...]
    edges: tuple[tuple[str, str], ...]
    node_of: dict[str, str]


def _collapse(order: tuple[str, ...], key_of: Mapping[str, Any],
              group_min: int, label_of: Any) -> tuple[list[tuple[str, ...]], dict[str, str]]:
    """Members by class (classes smaller than `group_min` split into single tasks), in DAG order."""
    classes: dict[Any, list[str]] = {}
    for name in order:
        classes.setdefault(key_of[name], []).append(name)
    groups: list[tuple[str, ...]] = []
    seen: set[Any] = set()
    for name in order:
        key = key_of[name]
        members = classes[key]
        if len(members) >= group_min:
            if key not in seen:
                seen.add(key)
                groups.append(tuple(members))
        else:
            groups.append((name,))
    node_of = {}
    for group in groups:
        node_id = group[0] if len(group) == 1 else f"group:{label_of(group)}"
        for member in group:
            node_of[member] = node_id
    return groups, node_of


def compact_graph(order: tuple[str, ...], depends: Mapping[str, Sequence[str]], phases: Mapping[str, str],
                  group_min: int = GROUP_MIN, max_nodes: int = MAX_GRAPH_NODES) -> Graph:
    """The graph the page lays out: fan-outs grouped, and one node per rank if still too large."""
    known = set(order)
    deps = {name: tuple(sorted(d for d in depends.get(name, []) if d in known)) for name in order}
    after = dependents_of(order, deps)
    siblings = {name: (deps[name], tuple(sorted(after[name]))) for name in order}
    groups, node_of = _collapse(order, siblings, group_min, lambda members: members[0])
    labels = {node_of[m[0]]: (m[0] if len(m) == 1 else f"{m[0]} … {m[-1]} ({len(m)} tasks)") for m in groups}
    if len(groups) > max_nodes:
        rank = ranks(order, deps)
        groups, node_of = _collapse(order, {n: rank[n] for n in order}, 2, lambda m: f"rank-{rank[m[0]]}")
        labels = {node_of[m[0]]: (m[0] if len(m) == 1 else f"step {rank[m[0]] + 1} ({len(m)} tasks)") for m in groups}
    nodes = tuple(GraphNode(node_of[m[0]], labels[node_of[m[0]]], m, group_phase(phases.get(t, "Pending") for t in m))
                  for m in groups)
    edges: dict[tuple[str, str], None] = {}
    for name in order:
        for dep in deps[name]:
            pair = (node_of[dep], node_of[name])
            if pair[0] != pair[1]:
                edges[pair] = None
    return Graph(nodes, tuple(edges), node_of)


# ------------------------------------------------------------------------------------ attempts


def attempt_json(job: ObservedJob, now: datetime) -> dict[str, Any]:
    """One attempt as the task panel and the timeline show it."""
    end = job.finished_at or (now if job.state is JobState.ACTIVE and job.started_at else None)
    return {
        "attempt": job.attempt,
        "job": job.name,
        "state": job.state.value,
        "colour": ATTEMPT_COLOURS.get(job.state.value, PHASE_COLOURS["Pending"]),
        "startedAt": format_time(job.started_at) if job.started_at else "",
        "finishedAt": format_time(job.finished_at) if job.finished_at else "",
        "duration": format_duration(end - job.started_at) if end and job.started_at else "",
        "failure": job.failure or job.outputs_error or "",
        "exitCode": job.exit_code,
        "stopped": job.stopped,
    }


def gantt_bars(attempts: Mapping[str, list[ObservedJob]], order: Iterable[str], now: datetime) -> dict[str, Any]:
    """The timeline: one row per task that has started, one bar per attempt, in seconds from the
    first attempt's start. A running attempt's bar ends at `now`; rows are ordered by first start."""
    started = [(task, sorted((j for j in jobs if j.started_at), key=lambda j: j.attempt))
               for task, jobs in attempts.items()]
    started = [(task, jobs) for task, jobs in started if jobs]
    if not started:
        return {"origin": "", "span": 0.0, "rows": []}
    position = {name: i for i, name in enumerate(order)}
    origin = min(j.started_at for _, jobs in started for j in jobs if j.started_at)
    rows = []
    span = 0.0
    for task, jobs in sorted(started, key=lambda tj: (min(j.started_at for j in tj[1] if j.started_at),
                                                      position.get(tj[0], len(position)), tj[0])):
        bars = []
        for job in jobs:
            assert job.started_at is not None
            end = job.finished_at or (now if job.state is JobState.ACTIVE else job.started_at)
            start_s = (job.started_at - origin).total_seconds()
            end_s = max((end - origin).total_seconds(), start_s)
            span = max(span, end_s)
            bars.append({"attempt": job.attempt, "start": start_s, "end": end_s, "state": job.state.value,
                         "colour": ATTEMPT_COLOURS.get(job.state.value, PHASE_COLOURS["Pending"])})
        rows.append({"task": task, "bars": bars})
    return {"origin": format_time(origin), "span": span, "rows": rows}


# ------------------------------------------------------------------------------------ a run


def _condition(obj: Mapping[str, Any], kind: str) -> Mapping[str, Any] | None:
    for condition in (obj.get("status") or {}).get("conditions") or []:
        if condition.get("type") == kind:
            return condition
    return None


def task_list(order: tuple[str, ...], depends: Mapping[str, Sequence[str]], status_tasks: Mapping[str, Any],
              attempts: Mapping[str, list[ObservedJob]], node_of: Mapping[str, str], now: datetime) -> list[dict[str, Any]]:
    """Every task with what its panel shows; failing tasks first, then retrying and running ones,
    then the rest in DAG order (failed ones by when they failed)."""
    position = {name: i for i, name in enumerate(order)}
    rows: list[dict[str, Any]] = []
    for name in order:
        task = status_tasks.get(name) or {}
        phase = str(task.get("phase") or "Pending")
        rows.append({
            "name": name,
            "phase": phase,
            "colour": colour(phase),
            "node": node_of.get(name, name),
            "dependsOn": list(depends.get(name, [])),
            "attempts": int(task.get("attempts") or 0),
            "disruptions": int(task.get("disruptions") or 0),
            "message": task.get("message") or "",
            "outputs": dict(task.get("outputs") or {}),
            "startedAt": task.get("startedAt") or "",
            "finishedAt": task.get("finishedAt") or "",
            "nextAttemptAt": task.get("nextAttemptAt") or "",
            "job": task.get("job") or "",
            "attemptList": [attempt_json(j, now) for j in sorted(attempts.get(name, []), key=lambda j: j.attempt)],
        })
    rows.sort(key=lambda r: (TASK_LIST_PRECEDENCE.get(r["phase"], 3),
                             r["finishedAt"] if r["phase"] == "Failed" else "", position[r["name"]]))
    return rows


def run_view(run: Mapping[str, Any], attempts: Mapping[str, list[ObservedJob]], now: datetime,
             workflow: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Everything the run page shows: header, graph, task list (failing first), timeline."""
    order, depends = run_dag(run, workflow)
    status = run.get("status") or {}
    status_tasks = status.get("tasks") or {}
    extra = tuple(sorted(set(status_tasks) - set(order)))  # tasks the status knows and the DAG does not
    order = order + extra
    phases = task_phases(run, order)
    graph = compact_graph(order, depends, phases)
    tasks = task_list(order, depends, status_tasks, attempts, graph.node_of, now)
    failing = [t["name"] for t in tasks if t["phase"] == "Failed"]
    valid = _condition(run, "Valid")
    row = run_row(run, now)
    return {
        **row,
        "params": dict((run.get("spec") or {}).get("params") or {}),
        "dataInterval": (run.get("spec") or {}).get("dataInterval") or {},
        "invalid": (valid or {}).get("message") or "" if (valid or {}).get("status") == "False" else "",
        "finished": row["phase"] in FINISHED_RUN,
        "failingTask": failing[0] if failing else "",
        "graph": {"nodes": [n.as_json(phases) for n in graph.nodes], "edges": [list(e) for e in graph.edges]},
        "tasks": tasks,
        "counts": dict(sorted(Counter(phases.values()).items())),
        "gantt": gantt_bars({t: attempts[t] for t in attempts if t in phases}, order, now),
    }


# ------------------------------------------------------------------------------------ workflows


def invalid_message(workflow: Mapping[str, Any]) -> str:
    """The Valid=False condition's message, or '' for a valid (or not yet checked) workflow."""
    valid = _condition(workflow, "Valid")
    if valid and valid.get("status") == "False":
        return str(valid.get("message") or valid.get("reason") or "invalid")
    return ""


def next_fires(schedule: str, timezone: str, now: datetime, count: int = NEXT_FIRES) -> tuple[list[dict[str, str]], str]:
    """The next `count` fire times after `now`, in the schedule's zone and in UTC; or an error."""
    try:
        compiled = compile_schedule(schedule, timezone)
        fires = compiled.between(now, now + timedelta(days=3660), count)
    except ScheduleError as error:
        return [], str(error)
    return [{"local": fire.astimezone(compiled.zone).isoformat(), "utc": format_time(fire)} for fire in fires], ""


def workflow_row(workflow: Mapping[str, Any]) -> dict[str, Any]:
    """One line of the workflows table."""
    meta, spec, status = workflow.get("metadata") or {}, workflow.get("spec") or {}, workflow.get("status") or {}
    return {
        "namespace": meta.get("namespace", ""),
        "name": meta.get("name", ""),
        "schedule": spec.get("schedule") or "",
        "timezone": spec.get("timezone") or "UTC",
        "suspend": bool(spec.get("suspend")),
        "tasks": len(spec.get("tasks") or []),
        "lastRun": status.get("lastRun") or "",
        "lastRunPhase": status.get("lastRunPhase") or "",
        "lastRunColour": colour(status.get("lastRunPhase")) if status.get("lastRunPhase") else "",
        "nextScheduleTime": status.get("nextScheduleTime") or "",
        "invalid": invalid_message(workflow),
    }


def workflow_rows(workflows: Iterable[Mapping[str, Any]], namespace: str = "") -> list[dict[str, Any]]:
    rows = [workflow_row(w) for w in workflows]
    return sorted((r for r in rows if not namespace or r["namespace"] == namespace),
                  key=lambda r: (r["namespace"], r["name"]))


def workflow_view(workflow: Mapping[str, Any], runs: Iterable[Mapping[str, Any]], now: datetime) -> dict[str, Any]:
    """The workflow page: schedule and its next fires, parameters, recent runs, validity."""
    row = workflow_row(workflow)
    spec = workflow.get("spec") or {}
    fires: list[dict[str, str]] = []
    schedule_error = ""
    if row["schedule"]:
        fires, schedule_error = next_fires(row["schedule"], row["timezone"], now)
    mine = [r for r in runs if (r.get("metadata") or {}).get("namespace") == row["namespace"]
            and workflow_of(r) == row["name"]]
    order, depends = spec_dag(spec)
    return {
        **row,
        "nextFires": [] if row["suspend"] else fires,
        "scheduleError": schedule_error,
        "concurrencyPolicy": spec.get("concurrencyPolicy") or "Allow",
        "maxActiveRuns": spec.get("maxActiveRuns"),
        "params": [{"name": p.get("name", ""), "default": p.get("default"), "description": p.get("description") or ""}
                   for p in spec.get("params") or []],
        "taskNames": list(order),
        "dependsOn": {name: deps for name, deps in depends.items() if deps},
        "lastScheduleTime": (workflow.get("status") or {}).get("lastScheduleTime") or "",
        "activeRuns": (workflow.get("status") or {}).get("activeRuns") or [],
        "runs": run_rows(mine, now)[:RECENT_RUNS],
    }
