"""The CLI's run views: the DAG tree (each task once, under its latest dependency), the runs table."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dagwright.api.frozen import freeze_spec
from dagwright.api.models import WorkflowSpec
from dagwright.cli.view import (
    as_text,
    change_lines,
    dag_tree_rows,
    render_run,
    render_run_live,
    render_run_table,
    run_duration,
)

NOW = datetime(2026, 11, 24, 2, 10, tzinfo=UTC)


def tree(order, depends):
    return [(r.prefix + r.task, r.also_after) for r in dag_tree_rows(order, depends)]


@pytest.mark.parametrize(
    ("order", "depends", "expected"),
    [
        pytest.param(["a", "b", "c"], {"b": ["a"], "c": ["b"]},
                     [("└─a", ()), ("  └─b", ()), ("    └─c", ())], id="a chain nests each task under the previous"),
        pytest.param(["a", "b", "c", "d"], {"b": ["a"], "c": ["a"], "d": ["b", "c"]},
                     [("└─a", ()), ("  ├─b", ()), ("  └─c", ()), ("    └─d", ("b",))],
                     id="a diamond join sits under its latest dependency and names the other"),
        pytest.param(["x", "y"], {}, [("├─x", ()), ("└─y", ())], id="independent tasks are siblings at the root"),
        pytest.param(["a", "b", "c"], {"c": ["a"]}, [("├─a", ()), ("│ └─c", ()), ("└─b", ())],
                     id="a branch under a non-last sibling keeps the vertical rule"),
    ],
)
def test_dag_tree_rows(order, depends, expected):
    assert tree(order, depends) == expected


def test_every_task_appears_once_in_the_tree_of_a_wide_dag():
    order = [f"t{i}" for i in range(30)]
    depends = {f"t{i}": [f"t{j}" for j in range(max(0, i - 3), i)] for i in range(30)}
    assert sorted(r.task for r in dag_tree_rows(order, depends)) == sorted(order)


def diamond_run() -> dict:
    spec = WorkflowSpec.model_validate({"tasks": [
        {"name": "a", "container": {"image": "busybox"}},
        {"name": "b", "dependsOn": ["a"], "container": {"image": "busybox"}},
        {"name": "c", "dependsOn": ["a"], "container": {"image": "busybox"}},
        {"name": "d", "dependsOn": ["b", "c"], "container": {"image": "busybox"}},
    ]})
    return {
        "metadata": {"name": "diamond-1", "namespace": "data"},
        "spec": {"workflowRef": {"name": "diamond"}},
        "status": {
            "phase": "Running", "progress": "2/4", "startedAt": "2026-11-24T02:00:00Z",
            "frozenSpec": freeze_spec(spec),
            "tasks": {
                "a": {"phase": "Succeeded", "attempts": 1, "startedAt": "2026-11-24T02:00:00Z",
                      "finishedAt": "2026-11-24T02:00:45Z"},
                "b": {"phase": "Failed", "attempts": 3, "message": "attempt 3 failed: exit code 2"},
                "c": {"phase": "Running", "attempts": 1, "startedAt": "2026-11-24T02:07:00Z"},
                "d": {"phase": "Pending", "attempts": 0},
            },
        },
    }


def test_get_shows_the_header_and_each_task_with_phase_attempts_duration_and_message():
    text = as_text(render_run(diamond_run(), NOW))
    lines = text.splitlines()
    assert any(line.split() == ["Phase:", "●", "Running"] for line in lines)
    assert any(line.split() == ["Progress:", "2/4"] for line in lines)
    assert any(line.split() == ["Duration:", "10m0s"] for line in lines)  # running: time since it started
    row = {line.split()[0].lstrip("├└│─ "): line for line in lines if "─" in line}
    assert row["a"].split()[1:] == ["✔", "Succeeded", "1", "45s"]
    assert row["b"].split()[1:4] == ["✖", "Failed", "3"] and "attempt 3 failed: exit code 2" in row["b"]
    assert row["c"].split()[1:] == ["●", "Running", "1", "3m0s"]
    assert "← b" in row["d"] and "◷ Pending" in row["d"]


def test_get_says_how_many_attempts_kubernetes_took_away():
    run = diamond_run()
    run["status"]["tasks"]["c"].update(attempts=2, disruptions=1)
    lines = as_text(render_run(run, NOW)).splitlines()
    row = {line.split()[0].lstrip("├└│─ "): line for line in lines if "─" in line}
    assert row["c"].split()[1:6] == ["●", "Running", "2", "(1", "disrupted)"]


def test_watch_view_adds_a_progress_bar_with_counts():
    text = as_text(render_run_live(diamond_run(), NOW))
    assert "2/4" in text and "1 failed" in text and "1 running" in text and "1 succeeded" in text


def test_watch_on_a_pipe_prints_every_task_first_then_only_what_changed():
    run = diamond_run()
    first = change_lines(None, run, NOW)
    assert len(first) == 5 and first[-1] == "02:10:00  run diamond-1: Running 2/4"
    assert first[1].split()[1:6] == ["✖", "b", "Failed", "attempt", "3"] and first[1].endswith("exit code 2")
    later = diamond_run()
    later["status"]["tasks"]["c"]["phase"] = "Succeeded"
    later["status"]["progress"] = "3/4"
    lines = change_lines(run, later, NOW)
    assert [line.split()[1:4] for line in lines] == [["✔", "c", "Succeeded"], ["run", "diamond-1:", "Running"]]
    assert change_lines(later, later, NOW) == []


def test_the_runs_table_lists_name_workflow_phase_and_progress():
    inline = {"metadata": {"name": "adhoc", "namespace": "data"}, "spec": {"workflowSpec": {"tasks": []}},
              "status": {"phase": "Succeeded", "progress": "1/1", "duration": "4s"}}
    text = as_text(render_run_table([diamond_run(), inline], NOW, all_namespaces=True))
    header, first, second = text.splitlines()[:3]
    assert header.split() == ["NAMESPACE", "NAME", "WORKFLOW", "PHASE", "PROGRESS", "STARTED", "DURATION"]
    # a running run's DURATION is the time since it started (NOW is 02:10:00)
    assert first.split() == ["data", "diamond-1", "diamond", "●", "Running", "2/4", "2026-11-24T02:00:00Z", "10m0s"]
    assert second.split() == ["data", "adhoc", "(inline)", "✔", "Succeeded", "1/1", "4s"]


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ({"phase": "Running", "startedAt": "2026-11-24T02:00:00Z"}, "10m0s"),
        ({"phase": "Succeeded", "startedAt": "2026-11-24T02:00:00Z", "duration": "4s"}, "4s"),
        ({"phase": "Failed", "startedAt": "2026-11-24T02:00:00Z"}, ""),
        ({"phase": "Queued"}, ""),
    ],
    ids=["running: since it started", "finished: as written", "finished without a duration: none",
         "not started: none"],
)
def test_a_runs_duration(status, expected):
    assert run_duration(status, NOW) == expected


FAN_OUT_RUN = {
    "metadata": {"name": "files", "namespace": "data"},
    "spec": {"workflowSpec": {"tasks": [{"name": "list"}, {"name": "per-file", "dependsOn": ["list"]}]}},
    "status": {"phase": "Running", "progress": "1/2", "tasks": {
        "list": {"phase": "Succeeded", "attempts": 1},
        "per-file": {"phase": "Running", "attempts": 1, "message": "2/5 items succeeded (1 failed, 1 allowed)",
                     "forEach": {"items": 5, "succeeded": 2, "running": 1, "failed": 1, "pending": 1,
                                 "states": "SSFR.",
                                 "failures": [{"index": 2, "attempts": 3, "job": "j",
                                               "message": "attempt 3 failed: exit code 1"}]}},
    }},
}


def test_a_for_each_task_is_one_line_with_its_counts():
    text = as_text(render_run(FAN_OUT_RUN, NOW))
    line = next(line for line in text.splitlines() if "per-file" in line)
    assert "×5" in line
    assert "5 items: 2 succeeded, 1 running, 1 failed, 1 pending  (2/5 items succeeded (1 failed, 1 allowed))" in line
    assert "per-file[" not in text


def test_expand_lists_every_instance_with_the_failed_ones_message():
    lines = as_text(render_run(FAN_OUT_RUN, NOW, expand=True)).splitlines()
    rows = [line.split() for line in lines if "per-file[" in line]
    assert [r[0].lstrip("│├└─") for r in rows] == [f"per-file[{i}]" for i in range(5)]
    assert [r[2] for r in rows] == ["Succeeded", "Succeeded", "Failed", "Running", "Pending"]
    failed = next(line for line in lines if "per-file[2]" in line)
    assert "3" in failed.split() and "attempt 3 failed: exit code 1" in failed


def test_watch_prints_a_line_when_the_counts_of_a_for_each_task_change():
    after = {**FAN_OUT_RUN, "status": {**FAN_OUT_RUN["status"], "tasks": {
        **FAN_OUT_RUN["status"]["tasks"],
        "per-file": {**FAN_OUT_RUN["status"]["tasks"]["per-file"],
                     "forEach": {**FAN_OUT_RUN["status"]["tasks"]["per-file"]["forEach"], "succeeded": 3, "running": 0}}}}}
    lines = change_lines(FAN_OUT_RUN, after, NOW)
    assert lines == ["02:10:00  ● per-file                       Running    5 items: 3 succeeded, 1 failed, 1 pending"]


def test_a_workflow_task_shows_its_child_runs_tree_under_it():
    parent = {"metadata": {"name": "daily", "namespace": "data"},
              "spec": {"workflowSpec": {"tasks": [{"name": "ingest"}, {"name": "report", "dependsOn": ["ingest"]}]}},
              "status": {"phase": "Running", "tasks": {"ingest": {"phase": "Running", "attempts": 1, "run": "daily-ingest-x"},
                                                        "report": {"phase": "Pending"}}}}
    child = {"metadata": {"name": "daily-ingest-x", "namespace": "data"},
             "spec": {"workflowSpec": {"tasks": [{"name": "extract"}, {"name": "load", "dependsOn": ["extract"]}]}},
             "status": {"phase": "Running", "tasks": {"extract": {"phase": "Succeeded", "attempts": 1},
                                                       "load": {"phase": "Running", "attempts": 1}}}}
    lines = [line.rstrip() for line in as_text(render_run(parent, NOW, children={"daily-ingest-x": child})).splitlines()]
    names = [line.split()[0] + " " + line.split()[1] if "⤷" in line else line.split()[0]
             for line in lines if line.strip().startswith(("└", "├", "│", "⤷"))]
    assert names == ["└─ingest", "⤷ daily-ingest-x", "└─extract", "└─load", "└─report"]
    assert any("⤷ daily-ingest-x" in line and "Running" in line for line in lines)
