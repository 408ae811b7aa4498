"""Every example under examples/manifests runs to success on a real API server, one Job per task.

Each example directory is applied to a fresh namespace as a user would (`kubectl apply`: the
Workflow, its ServiceAccounts, ConfigMaps and Secrets), except its WorkflowRuns: the test creates
its own run and waits for it by name (a scheduled example may also fire by itself, which is
fine). Pods are simulated by kwok from the examples' `sim.dagwright.io/*` annotations. Webhook
URLs of `spec.notifications` are pointed at a local receiver, which must get the run's result.
"""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self

import pytest
import yaml

from .kube import pod_spec

REPO = Path(__file__).resolve().parents[2]
MANIFESTS = REPO / "examples" / "manifests"
API_VERSION = "dagwright.io/v1alpha1"
LOGICAL_DATE = "2026-11-24T01:00:00Z"


def _documents(directory: Path) -> list[dict[str, Any]]:
    docs = []
    for path in sorted(directory.glob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict)]
    return docs


def _is(doc: dict[str, Any], kind: str) -> bool:
    return doc.get("apiVersion") == API_VERSION and doc.get("kind") == kind


EXAMPLES = sorted(p.parent for p in MANIFESTS.glob("*/*.yaml")
                  if any(_is(d, "Workflow") for d in _documents(p.parent)))
EXAMPLES = sorted(set(EXAMPLES))

# Tasks an example skips on purpose (its `when:` is false for the example run); all others succeed.
SKIPPED = {"conditions": {"full-refresh"}}


class Receiver:
    """A local webhook endpoint recording every JSON POST as (path, body)."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, Any]]] = []
        received = self.posts

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                received.append((self.path, json.loads(body or b"{}")))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


def point_notifications_at(docs: list[dict[str, Any]], base_url: str) -> dict[tuple[str, str], str]:
    """Rewrite the Secret keys that notification webhooks read to `base_url/<secret>/<key>`."""
    refs: dict[tuple[str, str], str] = {}
    for doc in docs:
        if _is(doc, "Workflow"):
            for note in doc["spec"].get("notifications") or []:
                ref = ((note.get("webhook") or {}).get("urlFrom") or {}).get("secretKeyRef")
                if ref:
                    refs[(ref["name"], ref["key"])] = f"{base_url}/{ref['name']}/{ref['key']}"
    for doc in docs:
        if doc.get("kind") == "Secret":
            for (secret, key), url in refs.items():
                if doc["metadata"]["name"] == secret:
                    doc.setdefault("stringData", {})[key] = url
    return refs


def kubectl_apply(docs: list[dict[str, Any]], namespace: str, env: dict[str, str]) -> None:
    text = yaml.safe_dump_all(docs, sort_keys=False)
    proc = subprocess.run(["kubectl", "apply", "-n", namespace, "-f", "-"], input=text, env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr + proc.stdout


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_the_example_runs_to_success_with_one_job_per_task(example, kube, operator, kube_env, namespace, receiver):
    docs = [d for d in _documents(example) if not _is(d, "WorkflowRun")]
    workflows = [d for d in docs if _is(d, "Workflow")]
    started = [w for w in workflows if not w["spec"].get("triggers")]  # the others: started by these (docs/triggers.md)
    # A directory of several runs the one named after it when there is one (sub-workflows: the
    # others are the workflows it calls), else each of them.
    named = [d for d in started if d["metadata"]["name"] == example.name]
    if named:
        started = named
    workflow = started[0]
    name = workflow["metadata"]["name"]
    hooks = point_notifications_at(docs, receiver.url)
    kubectl_apply(docs, namespace, kube_env)

    run_name = f"{name}-test"
    kube.create_run(run_name, workflow=name, logicalDate=LOGICAL_DATE)
    for other in started[1:]:
        kube.create_run(f"{other['metadata']['name']}-test", workflow=other["metadata"]["name"],
                        logicalDate=LOGICAL_DATE)
    run = kube.wait_for_phase(run_name, timeout=180)
    for triggered in (w["metadata"]["name"] for w in workflows if w["spec"].get("triggers")):
        runs = kube.wait_for(f"a run of {triggered}", lambda t=triggered: [
            r for r in kube.custom.list_namespaced_custom_object("dagwright.io", "v1alpha1", namespace,
                                                                 "workflowruns")["items"]
            if r["spec"].get("workflowRef", {}).get("name") == t], timeout=120)
        assert len(runs) == 1, f"one run of {triggered} per event"
        assert kube.wait_for_phase(runs[0]["metadata"]["name"], timeout=120)["status"]["phase"] == "Succeeded"

    skipped = SKIPPED.get(example.name, set())
    tasks = [t["name"] for t in workflow["spec"]["tasks"] if t["name"] not in skipped]
    assert run["status"]["phase"] == "Succeeded", run["status"]
    assert kube.task_phases(run) == {**dict.fromkeys(tasks, "Succeeded"), **dict.fromkeys(skipped, "Skipped")}
    keys = kube.attempt_keys(run_name)
    callers = {t["name"] for t in workflow["spec"]["tasks"] if "workflow" in t}  # they start child runs, no Job
    for caller in callers:
        child = run["status"]["tasks"][caller]["run"]
        assert kube.run(child)["status"]["phase"] == "Succeeded"
    tasks = [t for t in tasks if t not in callers]
    assert sorted({task for task, _ in keys}) == sorted(tasks)
    for task in tasks:
        if run["status"]["tasks"][task].get("forEach"):
            continue  # instances: checked below
        attempts = run["status"]["tasks"][task]["attempts"]
        assert sorted(a for t, a in keys if t == task) == list(range(1, attempts + 1))
    if example.name != "quickstart":  # quickstart's load fails once on purpose, to show a retry
        # one attempt (Pod or Job) per task; a forEach task's, one per instance (its status counts them)
        per_task = {t: (run["status"]["tasks"][t].get("forEach") or {}).get("items", 1) for t in tasks}
        assert keys == sorted((t, 1) for t in tasks for _ in range(per_task[t])), "one attempt per task (instance)"
    for attempt in kube.attempts(run_name):  # templates, task outputs included, were all filled in
        main = pod_spec(attempt).containers[0]
        text = json.dumps([main.command, main.args, [e.value for e in main.env or []]])
        assert "{{" not in text and "<tasks." not in text, (attempt.metadata.name, text)
    if example.name == "lakehouse":
        bronze = next(a for a in kube.attempts(run_name) if a.metadata.labels["dagwright.io/task"] == "bronze-ingest")
        assert "--expected-rows=181234" in pod_spec(bronze).containers[0].args

    if hooks:
        def delivered() -> list[tuple[str, dict[str, Any]]]:
            return [(path, body) for path, body in receiver.posts if body.get("run") == run_name]

        posts = kube.wait_for(f"notifications of {run_name}", delivered, timeout=60)
        wanted = {url.removeprefix(receiver.url) for (secret, key), url in hooks.items()
                  if any("Succeeded" in (n.get("on") or ["Succeeded"])
                         and n["webhook"]["urlFrom"]["secretKeyRef"] == {"name": secret, "key": key}
                         for n in workflow["spec"]["notifications"])}
        kube.wait_for("every notification for Succeeded", lambda: {p for p, _ in delivered()} >= wanted, timeout=30)
        assert all(body["phase"] == "Succeeded" for _, body in posts)
        assert {p for p, _ in delivered()} == wanted, "no notification that does not ask for Succeeded"
