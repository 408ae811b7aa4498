"""What `kubectl` shows of Dagwright: the `dagwright` category, the short and full names, the run columns.

Argo Workflows defines a `Workflow` kind too, so users must be able to name ours without
ambiguity (`kubectl get dagwright`, `dwf`, `workflows.dagwright.io`); and `kubectl get
workflowruns` must tell how long a run has been going while it runs, not only once it ended.
"""

from __future__ import annotations

import re
import subprocess

from .kube import container_task as task

AGE = re.compile(r"^\d+(s|m\d*s?|h\d*m?)$")  # kubectl's ages: 7s, 2m5s, 3m, 1h2m


def kubectl(kube_env, namespace: str, *args: str) -> str:
    result = subprocess.run(["kubectl", "-n", namespace, *args], env=kube_env, capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


def table(text: str) -> list[dict[str, str]]:
    """kubectl's table as rows by column name (columns are cut at the header's offsets)."""
    header, *lines = text.rstrip("\n").splitlines()
    starts = [m.start() for m in re.finditer(r"(?<!\S)\S", header)]
    names = [header[a:b].strip() for a, b in zip(starts, [*starts[1:], None], strict=True)]
    return [{name: line[a:b].strip() for name, a, b in zip(names, starts, [*starts[1:], None], strict=True)}
            for line in lines]


def test_kubectl_get_dagwright_lists_workflows_runs_and_pools_and_the_short_names_work(kube, operator, kube_env):
    kube.apply_workflow("nightly", {"tasks": [task("a")]})
    kube.create_run("nightly-1", workflow="nightly")
    kube.wait_for_phase("nightly-1")
    # kubectl caches discovery, and a category it has not seen is not a reason to refresh the cache
    # (a short name is): api-resources refreshes it, as docs/api.md tells users
    resources = table(kubectl(kube_env, kube.ns, "api-resources", "--api-group=dagwright.io", "-o", "wide"))
    assert {(r["NAME"], r["SHORTNAMES"], r["KIND"], r["CATEGORIES"]) for r in resources} == {
        ("workflows", "dwf", "Workflow", "dagwright"), ("workflowruns", "dwr", "WorkflowRun", "dagwright"),
        ("pools", "dwp", "Pool", "dagwright"), ("dataassets", "dwa", "DataAsset", "dagwright")}
    names = kubectl(kube_env, kube.ns, "get", "dagwright", "-o", "name").split()
    assert sorted(names) == ["workflow.dagwright.io/nightly", "workflowrun.dagwright.io/nightly-1"]
    for resource in ("dwf", "workflows.dagwright.io", "workflow.dagwright.io"):
        assert kubectl(kube_env, kube.ns, "get", resource, "-o", "name").split() == ["workflow.dagwright.io/nightly"]
    for resource in ("dwr", "workflowruns.dagwright.io"):
        assert kubectl(kube_env, kube.ns, "get", resource, "-o", "name").split() == [
            "workflowrun.dagwright.io/nightly-1"]


def test_kubectl_get_workflowruns_shows_the_elapsed_time_while_running_and_the_duration_after(kube, operator, kube_env):
    kube.create_run("slow", spec={"tasks": [task("wait", annotations={"sim.dagwright.io/duration": "6s"})]})
    kube.wait_for_phase("slow", ("Running",))
    kube.wait_for("the run to have run a while", lambda: kube.run("slow")["status"].get("startedAt"))
    (running,) = table(kubectl(kube_env, kube.ns, "get", "workflowruns"))
    assert list(running) == ["NAME", "PHASE", "PROGRESS", "STARTED", "DURATION", "AGE"]
    assert running["PHASE"] == "Running" and running["PROGRESS"] == "0/1"
    assert AGE.match(running["STARTED"]), running  # the time since the run started
    assert running["DURATION"] in ("", "<none>"), running  # written when it ends
    kube.wait_for_phase("slow", timeout=60)
    (finished,) = table(kubectl(kube_env, kube.ns, "get", "dwr"))
    assert finished["PHASE"] == "Succeeded" and finished["PROGRESS"] == "1/1"
    seconds = int(re.fullmatch(r"(\d+)s", finished["DURATION"]).group(1))  # type: ignore[union-attr]
    assert 6 <= seconds <= 30, finished
