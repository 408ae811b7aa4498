"""Golden files: every example under examples/manifests renders to the committed Jobs.

Each file holding a Workflow is validated (models, `validate_workflow_spec`, template checks)
and rendered by `dagwright render`'s own function for a fixed logical date; the YAML must equal
`examples/golden/<path>.jobs.yaml`. `UPDATE_GOLDEN=1 pytest tests/unit/render` rewrites them
(review the diff: it is exactly what changes in the Jobs users get).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from dagwright.api.models import API_VERSION, WorkflowRunSpec, WorkflowSpec
from dagwright.api.validation import validate_workflow_spec
from dagwright.cli.render import RenderOptions, dump_jobs, load_documents, render_documents

REPO = Path(__file__).resolve().parents[3]
MANIFESTS = REPO / "examples" / "manifests"
GOLDEN = REPO / "examples" / "golden"
LOGICAL_DATE = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 24, 1, 0, 5, tzinfo=UTC)


def _documents(path: Path) -> list[dict]:
    return [d for d in load_documents(str(path)) if isinstance(d, dict)]


def _kind(doc: dict) -> str | None:
    return doc.get("kind") if doc.get("apiVersion") == API_VERSION else None


ALL_FILES = sorted(MANIFESTS.rglob("*.yaml"))
WORKFLOW_FILES = [p for p in ALL_FILES if any(_kind(d) == "Workflow" for d in _documents(p))]


def golden_path(path: Path) -> Path:
    """examples/manifests/lakehouse/workflow.yaml -> examples/golden/lakehouse/workflow.jobs.yaml"""
    return GOLDEN / path.relative_to(MANIFESTS).with_suffix(".jobs.yaml")


def _id(path: Path) -> str:
    return str(path.relative_to(MANIFESTS))


def test_every_example_directory_has_a_workflow():
    dirs = {p.parent for p in ALL_FILES}
    assert dirs == {p.parent for p in WORKFLOW_FILES}
    assert {"lakehouse", "python-script", "python-module", "spark-local", "spark-kubernetes", "dbt",
            "container"} <= {d.name for d in dirs}


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=_id)
def test_the_example_workflow_is_valid(path):
    for doc in _documents(path):
        if _kind(doc) == "Workflow":
            spec = WorkflowSpec.model_validate(doc["spec"])
            assert validate_workflow_spec(spec) == []
            assert spec.tasks


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=_id)
def test_the_example_renders_to_its_golden_jobs(path):
    jobs = render_documents(_documents(path), RenderOptions(logical_date=LOGICAL_DATE), NOW)
    rendered = dump_jobs(jobs)
    golden = golden_path(path)
    if os.environ.get("UPDATE_GOLDEN") == "1":
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(rendered)
    assert golden.exists(), f"{golden} missing: run UPDATE_GOLDEN=1 pytest {__file__}"
    assert rendered == golden.read_text(), f"{golden} is stale: run UPDATE_GOLDEN=1 pytest {__file__} and review"
    tasks = [t["name"] for d in _documents(path) if _kind(d) == "Workflow" for t in d["spec"]["tasks"]
             if "workflow" not in t]  # a workflow task has no Job: it starts a child run
    # one Job per task; a forEach task over a list known before the run, one per item
    listed = [j["metadata"]["labels"]["dagwright.io/task"] for j in yaml.safe_load_all(rendered)]
    assert list(dict.fromkeys(listed)) == tasks
    for d in _documents(path):
        for t in d["spec"]["tasks"] if _kind(d) == "Workflow" else []:
            if "workflow" in t:
                continue
            assert listed.count(t["name"]) == len((t.get("forEach") or {}).get("items") or [None])


def test_no_golden_file_is_left_without_its_example():
    expected = {golden_path(p) for p in WORKFLOW_FILES}
    assert set(GOLDEN.rglob("*.jobs.yaml")) <= expected


@pytest.mark.parametrize("path", [p for p in ALL_FILES if any(_kind(d) == "WorkflowRun" for d in _documents(p))],
                         ids=_id)
def test_the_example_runs_refer_to_a_workflow_of_their_directory_with_declared_params(path):
    workflows = {d["metadata"]["name"]: WorkflowSpec.model_validate(d["spec"])
                 for p in path.parent.glob("*.yaml") for d in _documents(p) if _kind(d) == "Workflow"}
    for doc in _documents(path):
        if _kind(doc) != "WorkflowRun":
            continue
        run = WorkflowRunSpec.model_validate(doc["spec"])
        assert run.workflow_ref is not None and run.workflow_ref.name in workflows
        declared = {p.name for p in workflows[run.workflow_ref.name].params or []}
        assert set(run.params or {}) <= declared


# quickstart belongs to `make demo` (its last task finishes at once on kwok, which is fine).
@pytest.mark.parametrize("path", [p for p in WORKFLOW_FILES if p.parent.name != "quickstart"], ids=_id)
def test_every_example_pod_carries_a_simulated_duration_for_the_local_cluster(path):
    jobs = render_documents(_documents(path), RenderOptions(logical_date=LOGICAL_DATE), NOW)
    for job in jobs:
        annotations = job["spec"]["template"]["metadata"].get("annotations") or {}
        assert "sim.dagwright.io/duration" in annotations, job["metadata"]["name"]
