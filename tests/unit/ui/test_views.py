"""The web view's view models: runs table, compacted graph, task list, timeline, workflow page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dagwright.planner.snapshot import JobState, ObservedJob
from dagwright.ui.views import (
    GROUP_MIN,
    PHASE_COLOURS,
    RunFilter,
    compact_graph,
    filter_choices,
    gantt_bars,
    group_phase,
    next_fires,
    ranks,
    run_rows,
    run_view,
    workflow_view,
)

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def run(name: str, *, ns: str = "data", workflow: str = "etl", phase: str = "Running", created: str = "2026-12-06T10:00:00Z",
        tasks: dict | None = None, spec_tasks: list | None = None, conditions: list | None = None) -> dict:
    status = {"phase": phase, "startedAt": "2026-12-06T11:00:00Z", "progress": "0/1", "tasks": tasks or {}}
    if conditions:
        status["conditions"] = conditions
    spec: dict = {"workflowRef": {"name": workflow}} if workflow else {}
    if spec_tasks is not None:
        spec = {"workflowSpec": {"tasks": spec_tasks}}
    return {"metadata": {"namespace": ns, "name": name, "creationTimestamp": created}, "spec": spec, "status": status}


def task(name: str, *deps: str) -> dict:
    return {"name": name, "container": {"image": "busybox"}, **({"dependsOn": list(deps)} if deps else {})}


class TestRunsTable:
    def test_rows_are_newest_first(self):
        rows = run_rows([run("old", created="2026-12-01T00:00:00Z"), run("new", created="2026-12-06T00:00:00Z"),
                         run("mid", created="2026-12-03T00:00:00Z")], NOW)
        assert [r["name"] for r in rows] == ["new", "mid", "old"]

    @pytest.mark.parametrize(("keep", "names"), [
        (RunFilter(), ["c", "b", "a"]),
        (RunFilter(namespace="ops"), ["c"]),
        (RunFilter(workflow="etl"), ["b", "a"]),
        (RunFilter(phase="Failed"), ["b"]),
        (RunFilter(namespace="data", workflow="etl", phase="Failed"), ["b"]),
        (RunFilter(namespace="data", phase="Cancelled"), []),
    ], ids=["no filter keeps every run", "by namespace", "by workflow", "by phase", "all three at once",
            "a filter nothing matches keeps nothing"])
    def test_filters(self, keep, names):
        runs = [run("a", created="2026-12-01T00:00:00Z"), run("b", phase="Failed", created="2026-12-02T00:00:00Z"),
                run("c", ns="ops", workflow="sync", created="2026-12-03T00:00:00Z")]
        assert [r["name"] for r in run_rows(runs, NOW, keep)] == names

    def test_filter_choices_come_from_the_rows(self):
        rows = run_rows([run("a"), run("b", ns="ops", workflow="", phase="Failed")], NOW)
        assert filter_choices(rows) == {"namespace": ["data", "ops"], "workflow": ["etl"], "phase": ["Failed", "Running"]}

    def test_a_running_run_shows_its_elapsed_time_and_phase_colour(self):
        row = run_rows([run("a")], NOW)[0]
        assert (row["duration"], row["colour"]) == ("1h0m", PHASE_COLOURS["Running"])


class TestGraph:
    def test_small_dag_is_one_node_per_task_with_dependson_edges(self):
        order = ("a", "b", "c")
        graph = compact_graph(order, {"b": ["a"], "c": ["a", "b"]}, {"a": "Succeeded", "b": "Failed", "c": "Pending"})
        assert [(n.id, n.phase) for n in graph.nodes] == [("a", "Succeeded"), ("b", "Failed"), ("c", "Pending")]
        assert set(graph.edges) == {("a", "b"), ("a", "c"), ("b", "c")}

    def test_a_fan_out_becomes_one_group_node(self):
        shards = tuple(f"shard-{i:04d}" for i in range(2000))
        order = ("start", *shards, "merge")
        depends = {**{s: ["start"] for s in shards}, "merge": list(shards)}
        phases = {name: "Succeeded" for name in order} | {"shard-0100": "Failed"}
        graph = compact_graph(order, depends, phases)
        assert [len(n.tasks) for n in graph.nodes] == [1, 2000, 1]
        group = graph.nodes[1]
        assert group.phase == "Failed" and group.as_json(phases)["counts"] == {"Failed": 1, "Succeeded": 1999}
        assert set(graph.edges) == {("start", group.id), (group.id, "merge")}
        assert graph.node_of["shard-1999"] == group.id

    def test_fewer_siblings_than_the_group_minimum_stay_separate(self):
        kids = [f"k{i}" for i in range(GROUP_MIN - 1)]
        graph = compact_graph(("root", *kids), {k: ["root"] for k in kids}, {})
        assert len(graph.nodes) == GROUP_MIN

    def test_a_graph_too_large_after_grouping_is_drawn_one_node_per_rank(self):
        chains = [(f"a{i}", f"b{i}") for i in range(400)]  # 400 two-task chains: nothing groups by siblings
        order = tuple(t for chain in chains for t in chain)
        depends = {b: [a] for a, b in chains}
        graph = compact_graph(order, depends, {}, max_nodes=300)
        assert [len(n.tasks) for n in graph.nodes] == [400, 400]
        assert graph.edges == ((graph.nodes[0].id, graph.nodes[1].id),)

    @pytest.mark.parametrize(("phases", "shown"), [
        (["Succeeded", "Failed", "Running"], "Failed"),
        (["Succeeded", "Retrying", "Running"], "Retrying"),
        (["Succeeded", "Running", "Pending"], "Running"),
        (["Succeeded", "Skipped"], "Skipped"),
        (["Succeeded"], "Succeeded"),
    ], ids=["any failed member makes the group red", "retrying before running", "running before pending",
            "skipped before succeeded", "all succeeded"])
    def test_group_phase(self, phases, shown):
        assert group_phase(phases) == shown

    def test_ranks_survive_a_cycle(self):
        assert ranks(("a", "b", "c"), {"a": ["c"], "b": ["a"], "c": ["b"]}) == {"a": 3, "b": 1, "c": 2}
        assert ranks(("a", "b"), {"b": ["a"]}) == {"a": 0, "b": 1}


def job(task: str, attempt: int, state: JobState, start: int, end: int | None = None, **extra) -> ObservedJob:
    base = datetime(2026, 12, 6, 11, 0, tzinfo=UTC)
    return ObservedJob(name=f"r-{task}-{attempt}", task=task, attempt=attempt, state=state,
                       started_at=base + timedelta(seconds=start),
                       finished_at=base + timedelta(seconds=end) if end is not None else None, **extra)


class TestTimeline:
    def test_bars_are_seconds_from_the_first_start_and_a_running_one_ends_now(self):
        attempts = {"load": [job("load", 1, JobState.FAILED, 10, 20), job("load", 2, JobState.ACTIVE, 30)],
                    "extract": [job("extract", 1, JobState.SUCCEEDED, 0, 10)]}
        now = datetime(2026, 12, 6, 11, 1, tzinfo=UTC)
        gantt = gantt_bars(attempts, ("extract", "load"), now)
        assert [r["task"] for r in gantt["rows"]] == ["extract", "load"]
        assert [(b["attempt"], b["start"], b["end"], b["state"]) for b in gantt["rows"][1]["bars"]] == [
            (1, 10.0, 20.0, "Failed"), (2, 30.0, 60.0, "Active")]
        assert gantt["span"] == 60.0 and gantt["origin"] == "2026-12-06T11:00:00Z"

    def test_no_started_attempt_no_rows(self):
        assert gantt_bars({}, (), NOW)["rows"] == []


class TestRunView:
    def test_a_failed_run_lists_its_failing_task_first_with_exit_code_and_message(self):
        r = run("r", phase="Failed", spec_tasks=[task("a"), task("b", "a"), task("c", "b")], tasks={
            "a": {"phase": "Succeeded", "attempts": 1},
            "b": {"phase": "Failed", "attempts": 2, "message": "attempt 2 failed: exit code 3", "finishedAt": "x"},
            "c": {"phase": "Skipped"}})
        attempts = {"b": [job("b", 1, JobState.FAILED, 0, 5, failure="exit code 3", exit_code=3),
                          job("b", 2, JobState.FAILED, 10, 15, failure="exit code 3", exit_code=3)]}
        view = run_view(r, attempts, NOW)
        assert view["failingTask"] == "b"
        assert [t["name"] for t in view["tasks"]] == ["b", "a", "c"]
        b = view["tasks"][0]
        assert [(a["attempt"], a["exitCode"], a["failure"]) for a in b["attemptList"]] == [
            (1, 3, "exit code 3"), (2, 3, "exit code 3")]
        assert b["colour"] == PHASE_COLOURS["Failed"]
        assert [n["colour"] for n in view["graph"]["nodes"]] == [PHASE_COLOURS[p] for p in ("Succeeded", "Failed", "Skipped")]
        assert view["graph"]["edges"] == [["a", "b"], ["b", "c"]]

    def test_a_run_without_frozen_spec_takes_its_dag_from_the_workflow_and_tasks_are_pending(self):
        workflow = {"metadata": {"namespace": "data", "name": "etl"}, "spec": {"tasks": [task("x"), task("y", "x")]}}
        view = run_view(run("r", phase="Pending"), {}, NOW, workflow)
        assert [(n["id"], n["phase"]) for n in view["graph"]["nodes"]] == [("x", "Pending"), ("y", "Pending")]

    def test_an_invalid_run_shows_its_valid_false_message(self):
        r = run("r", phase="Failed", conditions=[{"type": "Valid", "status": "False", "message": "cycle: a -> a"}])
        assert run_view(r, {}, NOW)["invalid"] == "cycle: a -> a"


class TestWorkflowView:
    def wf(self, **spec) -> dict:
        return {"metadata": {"namespace": "data", "name": "etl"}, "spec": {"tasks": [task("a")], **spec}, "status": {}}

    def test_next_fires_are_in_the_schedule_zone_and_in_utc(self):
        fires, error = next_fires("0 2 * * *", "Europe/Berlin", datetime(2026, 12, 6, 12, 0, tzinfo=UTC), 2)
        assert error == ""
        assert fires == [{"local": "2026-12-07T02:00:00+01:00", "utc": "2026-12-07T01:00:00Z"},
                         {"local": "2026-12-08T02:00:00+01:00", "utc": "2026-12-08T01:00:00Z"}]

    def test_a_bad_schedule_gives_its_error_not_fires(self):
        fires, error = next_fires("61 * * * *", "UTC", NOW)
        assert fires == [] and error

    def test_page_has_recent_runs_params_and_the_invalid_message(self):
        workflow = self.wf(schedule="0 * * * *", params=[{"name": "day", "default": "x"}])
        workflow["status"]["conditions"] = [{"type": "Valid", "status": "False", "message": "unknown task 'ghost'"}]
        runs = [run("etl-1", created="2026-12-01T00:00:00Z"), run("etl-2", created="2026-12-02T00:00:00Z"),
                run("other", workflow="sync"), run("etl-x", ns="ops")]
        view = workflow_view(workflow, runs, NOW)
        assert view["invalid"] == "unknown task 'ghost'"
        assert [r["name"] for r in view["runs"]] == ["etl-2", "etl-1"]
        assert view["params"] == [{"name": "day", "default": "x", "description": ""}]
        assert [f["utc"] for f in view["nextFires"]][:2] == ["2026-12-06T13:00:00Z", "2026-12-06T14:00:00Z"]

    def test_a_suspended_workflow_has_no_next_fires(self):
        assert workflow_view(self.wf(schedule="0 * * * *", suspend=True), [], NOW)["nextFires"] == []
