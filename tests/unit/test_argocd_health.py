"""The Argo CD health script (docs/argocd-health.lua), run by a real Lua 5.1 against sample objects.

Argo CD evaluates health scripts with gopher-lua (Lua 5.1) and a global `obj`, the resource as
a table; lupa's `lua51` runtime is the same language. docs/gitops.md embeds the same script in
its argocd-cm example, and a test keeps the two identical.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from dagwright.api.models import RunPhase

try:
    from lupa import lua51  # Lua 5.1, as Argo CD's gopher-lua
except ImportError:  # pragma: no cover - the `test` extra installs lupa; a missing one fails below
    lua51 = None

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "docs" / "argocd-health.lua"
GITOPS = REPO / "docs" / "gitops.md"


def health(obj: dict[str, Any]) -> dict[str, str]:
    if lua51 is None:
        pytest.fail("lupa is not installed: .venv/bin/pip install -e '.[test]' (or pip install lupa)", pytrace=False)
    lua = lua51.LuaRuntime(unpack_returned_tuples=True)
    lua.globals().obj = lua.table_from(obj, recursive=True)
    result = lua.execute(SCRIPT.read_text())
    return {key: result[key] for key in ("status", "message") if result[key] is not None}


def run(phase: str | None = None, **status: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "apiVersion": "dagwright.io/v1alpha1",
        "kind": "WorkflowRun",
        "metadata": {"name": "nightly-20261124t020000z", "namespace": "data", "generation": 1},
    }
    if phase is not None or status:
        body["status"] = {**({"phase": phase} if phase else {}), **status}
    return body


def workflow(status: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "apiVersion": "dagwright.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"name": "nightly", "namespace": "data", "generation": 3},
        "spec": {"tasks": [{"name": "a", "container": {"image": "busybox"}}]},
    }
    if status is not None:
        body["status"] = status
    return body


def condition(type_: str, status: str, message: str = "", reason: str = "R") -> dict[str, str]:
    return {
        "type": type_,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": "2026-11-24T02:00:00Z",
    }


@pytest.mark.parametrize(
    "obj, expected",
    [
        (run(), {"status": "Progressing", "message": "waiting for the operator to start the run"}),
        (run(progress="0/3"), {"status": "Progressing", "message": "waiting for the operator to start the run"}),
        (run("Pending", progress="0/3"), {"status": "Progressing", "message": "Pending (0/3 tasks done)"}),
        (
            run("Queued", progress="0/3", message="maxActiveRuns 1 reached"),
            {"status": "Progressing", "message": "Queued (0/3 tasks done): maxActiveRuns 1 reached"},
        ),
        (run("Running", progress="1/3"), {"status": "Progressing", "message": "Running (1/3 tasks done)"}),
        (run("Succeeded", progress="3/3"), {"status": "Healthy", "message": "Succeeded (3/3 tasks done)"}),
        (
            run("Failed", progress="3/3", message="task load failed: exit code 2"),
            {"status": "Degraded", "message": "Failed (3/3 tasks done): task load failed: exit code 2"},
        ),
        (
            run("Cancelled", progress="1/3", message="cancelled by spec.cancel"),
            {"status": "Degraded", "message": "Cancelled (1/3 tasks done): cancelled by spec.cancel"},
        ),
        (
            run(
                "Failed",
                message="task validate: unknown dependency 'extract'",
                conditions=[condition("Valid", "False", "task validate: unknown dependency 'extract'")],
            ),
            {"status": "Degraded", "message": "Failed: task validate: unknown dependency 'extract'"},
        ),
        (run("Sleeping"), {"status": "Unknown", "message": "unknown phase Sleeping"}),
    ],
    ids=[
        "a run the operator has not seen yet is progressing",
        "a run with a status but no phase is progressing",
        "a pending run is progressing with its progress",
        "a queued run is progressing and says why",
        "a running run is progressing",
        "a succeeded run is healthy",
        "a failed run is degraded with its message",
        "a cancelled run is degraded",
        "an invalid run is degraded with the offending field",
        "an unknown phase is unknown, not healthy",
    ],
)
def test_workflow_run_health(obj, expected):
    assert health(obj) == expected


@pytest.mark.parametrize("phase", [p.value for p in RunPhase])
def test_every_run_phase_of_the_api_has_a_known_health(phase):
    assert health(run(phase))["status"] in {"Healthy", "Degraded", "Progressing"}


@pytest.mark.parametrize(
    "obj, expected",
    [
        (workflow(), {"status": "Healthy", "message": "no run yet"}),
        (
            workflow({"conditions": [condition("Valid", "True", "ok")], "observedGeneration": 3}),
            {"status": "Healthy", "message": "no run yet"},
        ),
        (
            workflow(
                {
                    "lastRun": "nightly-20261124t020000z",
                    "lastRunPhase": "Failed",
                    "conditions": [condition("Valid", "True")],
                }
            ),
            {"status": "Healthy", "message": "last run nightly-20261124t020000z: Failed"},
        ),
        (
            workflow({"lastRun": "nightly-20261124t020000z"}),
            {"status": "Healthy", "message": "last run nightly-20261124t020000z: Pending"},
        ),
        (
            workflow({"conditions": [condition("Valid", "False", "spec.timezone: unknown time zone 'Mars/Olympus'")]}),
            {"status": "Degraded", "message": "spec.timezone: unknown time zone 'Mars/Olympus'"},
        ),
        (
            workflow(
                {"conditions": [condition("Scheduled", "True"), condition("Valid", "False", "", reason="InvalidSpec")]}
            ),
            {"status": "Degraded", "message": ""},
        ),
    ],
    ids=[
        "a new workflow is healthy",
        "a valid workflow is healthy",
        "a workflow whose last run failed is still healthy: the definition is fine",
        "a workflow whose last run has no phase yet says pending",
        "a workflow with Valid=False is degraded with the condition's message",
        "Valid=False is found among other conditions",
    ],
)
def test_workflow_health(obj, expected):
    assert health(obj) == expected


def test_the_gitops_doc_embeds_the_same_script_under_both_keys():
    text = GITOPS.read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", text, flags=re.DOTALL)
    configmaps = [
        doc
        for block in blocks
        for doc in yaml.safe_load_all(block)
        if isinstance(doc, dict) and doc.get("kind") == "ConfigMap" and doc["metadata"]["name"] == "argocd-cm"
    ]
    assert len(configmaps) == 1, "docs/gitops.md should hold one argocd-cm example"
    data = configmaps[0]["data"]
    script = SCRIPT.read_text()
    for key in (
        "resource.customizations.health.dagwright.io_WorkflowRun",
        "resource.customizations.health.dagwright.io_Workflow",
    ):
        assert data[key].strip() == script.strip(), f"{key} in docs/gitops.md differs from docs/argocd-health.lua"
