"""`dagwright ui` in a real headless Chromium against the local cluster, with the operator running.

What a user looks at: the runs table fills and filters, a run's graph has one node per task in
the colour of its phase, a task that fails turns red while the page is open (no reload), a
task's panel shows its attempts, exit code and log tail (or the API server's reason for having
none: kwok's pods have no logs), an invalid workflow shows its Valid=False message, and a
2,000-task run renders (the time it took is printed, not asserted).
"""

from __future__ import annotations

import http.client
import time
from typing import Any

import pytest
from cluster.kube import container_task
from cluster.test_examples import MANIFESTS, _documents, kubectl_apply, point_notifications_at
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException, TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from dagwright.kube.http import KubeHttp, load_configuration
from dagwright.ui.views import PHASE_COLOURS

pytestmark = pytest.mark.cluster

SIM = "sim.dagwright.io"
LAKEHOUSE = MANIFESTS / "lakehouse"


def sim(duration: str = "1s", exit_code: int | None = None) -> dict[str, str]:
    annotations = {f"{SIM}/duration": duration}
    if exit_code is not None:
        annotations[f"{SIM}/exit-code"] = str(exit_code)
    return annotations


def wait(browser, what: str, check, timeout: float = 60) -> Any:
    try:  # the page redraws on every push: an element read while it was replaced is read again
        return WebDriverWait(browser, timeout, poll_frequency=0.1,
                             ignored_exceptions=(StaleElementReferenceException, NoSuchElementException)).until(
            lambda d: check())
    except TimeoutException as error:
        raise AssertionError(f"timed out after {timeout}s waiting for {what}") from error


def nodes(browser) -> dict[str, tuple[str, str]]:
    """The graph's nodes: id -> (data-phase, rect fill)."""
    return browser.execute_script("""
        const out = {};
        document.querySelectorAll('#dag .node').forEach((n) => {
          out[n.dataset.id] = [n.dataset.phase, n.querySelector('rect').getAttribute('fill')];
        });
        return out;""")


def choose(browser, select: str, option: str) -> None:
    """Pick an option of a filter once the page has drawn it (filters are redrawn on each push)."""
    def pick() -> bool:
        Select(browser.find_element(By.ID, select)).select_by_visible_text(option)
        return True
    wait(browser, f"{option} in #{select}", pick, timeout=20)


def run_rows(browser) -> list[tuple[str, str]]:
    """(namespace/name, phase) of each row, read in one script: the table is redrawn on every push."""
    return [tuple(row) for row in browser.execute_script(
        "return [...document.querySelectorAll('#runs tbody tr')].map((tr) => [tr.dataset.run, tr.dataset.phase]);")]


def test_the_runs_table_fills_newest_first_and_filters_by_phase(kube, operator, ui, browser, screenshot):
    ns = kube.ns
    kube.apply_workflow("etl", {"tasks": [container_task("extract", annotations=sim()),
                                          container_task("load", ["extract"], annotations=sim())]})
    kube.create_run("etl-1", workflow="etl")
    kube.wait_for_phase("etl-1")
    kube.create_run("broken-1", spec={"tasks": [container_task("boom", annotations=sim("1s", exit_code=2))]})
    browser.get(ui.url + "/#/")
    wait(browser, "both runs in the table", lambda: {r for r, _ in run_rows(browser)} == {f"{ns}/etl-1", f"{ns}/broken-1"})
    assert run_rows(browser)[0][0] == f"{ns}/broken-1"  # newest first
    wait(browser, "broken-1 Failed, live", lambda: (f"{ns}/broken-1", "Failed") in run_rows(browser))
    assert (f"{ns}/etl-1", "Succeeded") in run_rows(browser)
    screenshot("runs")
    choose(browser, "f-phase", "Failed")
    wait(browser, "only the failed run", lambda: run_rows(browser) == [(f"{ns}/broken-1", "Failed")])
    choose(browser, "f-phase", "all")
    wait(browser, "both runs again", lambda: len(run_rows(browser)) == 2)
    choose(browser, "f-workflow", "etl")
    wait(browser, "only etl's run", lambda: run_rows(browser) == [(f"{ns}/etl-1", "Succeeded")])


def test_a_runs_graph_colours_its_tasks_and_a_failure_turns_red_without_reload(kube, operator, ui, browser, screenshot):
    kube.apply_workflow("pipeline", {"tasks": [
        container_task("extract", annotations=sim("1s")),
        container_task("transform", ["extract"], annotations=sim("6s", exit_code=3)),
        container_task("audit", ["extract"], annotations=sim("1s")),
        container_task("publish", ["transform", "audit"], annotations=sim("1s")),
    ]})
    kube.create_run("pipeline-1", workflow="pipeline")
    browser.get(f"{ui.url}/#/runs/{kube.ns}/pipeline-1")
    browser.execute_script("window.sameDocument = 'yes';")
    wait(browser, "4 nodes in the graph", lambda: len(nodes(browser)) == 4)
    wait(browser, "transform Running in blue", lambda: nodes(browser).get("transform") == ["Running", PHASE_COLOURS["Running"]])
    screenshot("run-running")
    wait(browser, "transform Failed in red", lambda: nodes(browser).get("transform") == ["Failed", PHASE_COLOURS["Failed"]])
    wait(browser, "the run Failed", lambda: browser.find_element(By.ID, "run-phase").get_attribute("data-phase") == "Failed")
    assert browser.execute_script("return window.sameDocument") == "yes", "the page was reloaded"
    assert nodes(browser) == {
        "extract": ["Succeeded", PHASE_COLOURS["Succeeded"]],
        "transform": ["Failed", PHASE_COLOURS["Failed"]],
        "audit": ["Succeeded", PHASE_COLOURS["Succeeded"]],
        "publish": ["Skipped", PHASE_COLOURS["Skipped"]],
    }
    edges = browser.find_elements(By.CSS_SELECTOR, "#dag path.edge")
    assert len(edges) == 4  # extract->transform, extract->audit, transform->publish, audit->publish
    # the failing task first: banner and top of the list
    assert "transform" in browser.find_element(By.ID, "failing").text
    assert browser.find_element(By.CSS_SELECTOR, "#tasks tbody tr").get_attribute("data-task") == "transform"
    bars = browser.find_elements(By.CSS_SELECTOR, "#gantt .bar")
    assert len(bars) == 3  # three attempts started; publish never did
    browser.find_element(By.CSS_SELECTOR, '#dag .node[data-id="transform"]').click()
    wait(browser, "transform's panel",
         lambda: browser.find_element(By.ID, "detail-task").get_attribute("data-task") == "transform")
    wait(browser, "exit code 3 in the attempts",
         lambda: [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#attempts td.exit")] == ["3"])
    assert "exit code 3" in browser.find_element(By.ID, "detail-message").text
    # The log tail: kwok's simulated pods have no container logs, so the API server's answer is
    # shown as the reason (a real node's pod shows its lines in #log-tail instead).
    log_box = wait(browser, "the log tail or the reason there is none", lambda: browser.execute_script(
        "const b = document.querySelector('#log-tail, #log-error'); return b && b.id + ': ' + b.textContent"), timeout=30)
    print(f"\nlog panel of a kwok pod: {log_box[:300]}")
    answer = ui.get(f"/api/runs/{kube.ns}/pipeline-1/tasks/transform/log")
    assert answer["pod"].startswith("pipeline-1-transform") or "no pod" in answer["error"]
    assert (answer["tail"] is not None) or answer["error"], answer
    assert (log_box.startswith("log-tail") and answer["tail"] is not None) or (
        log_box.startswith("log-error") and answer["error"] in log_box)
    screenshot("run")


def test_an_invalid_workflow_shows_its_message_and_a_schedule_its_next_fires(kube, operator, ui, browser, screenshot):
    kube.apply_workflow("broken", {"tasks": [container_task("a", ["ghost"])]})
    kube.apply_workflow("nightly", {"schedule": "0 2 * * *", "timezone": "Europe/Berlin", "suspend": True,
                                    "params": [{"name": "day", "default": "{{ run.logicalDate }}"}],
                                    "tasks": [container_task("a")]})
    browser.get(f"{ui.url}/#/workflows/{kube.ns}/broken")
    message = wait(browser, "the Valid=False message",
                   lambda: browser.execute_script("const e = document.getElementById('wf-invalid'); return e && e.textContent"))
    assert "ghost" in message
    screenshot("workflow-invalid")
    browser.get(f"{ui.url}/#/workflows/{kube.ns}/nightly")
    wait(browser, "the schedule", lambda: browser.find_element(By.ID, "wf-schedule").text == "0 2 * * *")
    assert browser.find_element(By.ID, "wf-timezone").text == "Europe/Berlin"
    assert "{{ run.logicalDate }}" in browser.find_element(By.ID, "wf-params").text
    kube.patch_workflow("nightly", {"spec": {"suspend": False}})
    fires = wait(browser, "five next fire times, live after unsuspending",
                 lambda: [r.text for r in browser.find_elements(By.CSS_SELECTOR, "#wf-fires tbody tr")
                          if "02:00:00+0" in r.text] or None)
    assert len(fires) == 5
    screenshot("workflow")
    browser.get(f"{ui.url}/#/workflows")
    wait(browser, "the workflows table flags the invalid one", lambda: "ghost" in browser.find_element(By.ID, "workflows").text)


def test_a_2000_task_run_renders_and_its_time_is_reported(kube, ui, browser, screenshot):
    """No operator here: the run's status is written directly, so 2,000 Jobs are not needed to
    measure what the page does with a 2,000-task run read from the API server."""
    shards = [f"shard-{i:04d}" for i in range(2000)]
    tasks = [container_task("plan")] + [container_task(s, ["plan"]) for s in shards] + [container_task("merge", shards)]
    kube.create_run("huge-1", spec={"tasks": tasks})
    statuses: dict[str, Any] = {"plan": {"phase": "Succeeded", "attempts": 1}}
    for i, shard in enumerate(shards):
        statuses[shard] = {"phase": ("Succeeded", "Running", "Pending")[i % 3], "attempts": 1 if i % 3 < 2 else 0}
    statuses["shard-0042"] = {"phase": "Failed", "attempts": 1, "message": "attempt 1 failed: exit code 7"}
    kube.custom.patch_namespaced_custom_object_status(
        "dagwright.io", "v1alpha1", kube.ns, "workflowruns", "huge-1",
        {"status": {"phase": "Running", "progress": "668/2002", "startedAt": "2026-12-06T10:00:00Z", "tasks": statuses}})
    failed = wait(browser, "the UI has the status",
                  lambda: (ui.get(f"/api/runs/{kube.ns}/huge-1").get("counts") or {}).get("Failed"))
    assert failed == 1
    browser.get("about:blank")
    started = time.monotonic()
    browser.get(f"{ui.url}/#/runs/{kube.ns}/huge-1")
    render = wait(browser, "the graph drawn", lambda: browser.execute_script("return window.dwRender"))
    wall = time.monotonic() - started
    graph = nodes(browser)
    assert len(graph) == 3  # plan, the 2,000 shards as one group, merge
    group = browser.find_element(By.CSS_SELECTOR, "#dag .node[data-tasks='2000']")
    assert group.get_attribute("data-phase") == "Failed"
    assert graph[group.get_attribute("data-id")] == ["Failed", PHASE_COLOURS["Failed"]]
    assert browser.find_element(By.CSS_SELECTOR, "#tasks tbody tr").get_attribute("data-task") == "shard-0042"
    assert len(browser.find_elements(By.CSS_SELECTOR, "#tasks tbody tr[data-task]")) == 500  # the first 500 listed
    print(f"\n2,002-task run: page load to drawn {render['sincePageStart']:.0f} ms in the browser "
          f"(of which layout {render['layoutMs']:.0f} ms, drawing {render['drawMs']:.0f} ms); "
          f"{wall * 1000:.0f} ms as the test saw it; {render['nodes']} graph nodes for {render['tasks']} tasks")
    screenshot("run-2000")


def watches(api: KubeHttp, resource: str) -> int:
    """The API server's own count of open WATCH requests on a resource (its /metrics)."""
    total = 0
    for line in api.text("/metrics").splitlines():
        if line.startswith("apiserver_longrunning_requests{") and 'verb="WATCH"' in line and f'resource="{resource}"' in line:
            total += int(float(line.rsplit(" ", 1)[1]))
    return total


def test_fifty_open_pages_cost_the_api_server_no_more_watches(kube, operator, ui, kubeconfig):
    api = KubeHttp(load_configuration(kubeconfig))
    kube.apply_workflow("etl", {"tasks": [container_task("a", annotations=sim())]})
    kube.create_run("etl-1", workflow="etl")
    kube.wait_for_phase("etl-1")
    before = {r: watches(api, r) for r in ("workflowruns", "workflows", "jobs", "pods")}
    streams = []
    try:
        for i in range(50):
            path = ("/api/stream/runs", f"/api/stream/runs/{kube.ns}/etl-1", f"/api/stream/workflows/{kube.ns}/etl")[i % 3]
            connection = http.client.HTTPConnection("127.0.0.1", ui.port, timeout=10)
            connection.request("GET", path)
            answer = connection.getresponse()
            assert answer.status == 200 and answer.readline().startswith(b"data: {")
            streams.append(connection)
        kube.patch_run("etl-1", {"metadata": {"labels": {"touched": "yes"}}})  # a change every stream hears of
        time.sleep(1)
        during = {r: watches(api, r) for r in before}
    finally:
        for connection in streams:
            connection.close()
    print(f"\nAPI server WATCH requests before: {before}; with 50 pages open: {during}")
    assert during == before


def test_the_lakehouse_run_is_drawn_live_to_its_end(kube, operator, ui, browser, screenshot, kube_env, namespace):
    """The README's example: its DAG drawn with one node per task, green at the end."""
    docs = [d for d in _documents(LAKEHOUSE) if d.get("kind") != "WorkflowRun"]
    point_notifications_at(docs, "http://127.0.0.1:9")  # nobody listens: a failed notification changes no phase
    kubectl_apply(docs, namespace, kube_env)
    workflow = next(d for d in docs if d.get("kind") == "Workflow")
    tasks = [t["name"] for t in workflow["spec"]["tasks"]]
    name = workflow["metadata"]["name"]
    kube.create_run(f"{name}-ui", workflow=name, logicalDate="2026-11-24T01:00:00Z")
    browser.get(f"{ui.url}/#/runs/{namespace}/{name}-ui")
    browser.execute_script("window.sameDocument = 'yes';")
    wait(browser, f"{len(tasks)} nodes", lambda: sorted(nodes(browser)) == sorted(tasks))
    wait(browser, "a task running", lambda: any(p == "Running" for p, _ in nodes(browser).values()), timeout=120)
    screenshot("lakehouse-running")
    wait(browser, "every task green", lambda: set(map(tuple, nodes(browser).values())) == {
        ("Succeeded", PHASE_COLOURS["Succeeded"])}, timeout=240)
    assert browser.execute_script("return window.sameDocument") == "yes"
    assert len(browser.find_elements(By.CSS_SELECTOR, "#gantt .grow")) == len(tasks)
    screenshot("lakehouse")
