"""The chart's web view on a real API server: its ServiceAccount's read-only rules are enough
for everything the page shows, and allow nothing else.

The chart is installed with `ui.enabled=true` and `watchNamespaces=[<the test's namespace>]`;
then `dagwright ui` runs here *as the chart's web view ServiceAccount* (a token from `kubectl
create token`), the operator (admin) runs a run whose task fails, and the page must show the
run, its attempts with the exit code and the log tail's answer, with no 403 in the web view's
log. kwok runs the chart's pods, so any image name works.
"""

from __future__ import annotations

import pytest
from cluster.kube import container_task
from cluster.operator_process import operator_env
from cluster.test_chart import can_i, installed, service_account_kubeconfig
from selenium.webdriver.common.by import By

from dagwright.ui.views import PHASE_COLOURS

from .conftest import UiProcess
from .test_ui import nodes, sim, wait

pytestmark = pytest.mark.cluster
UI_SA = "dagwright-ui"


def test_the_web_view_shows_a_failed_run_with_nothing_but_the_charts_read_only_rights(
        kube, operator, namespace, kube_env, tmp_path, browser):
    with installed(namespace, kube_env, "ui.enabled=true", f"watchNamespaces={{{namespace}}}"):
        for verb, what in (("create", "workflowruns.dagwright.io"), ("patch", "workflowruns.dagwright.io"),
                           ("delete", "jobs.batch"), ("create", "pods"), ("get", "secrets"),
                           ("patch", "workflows.dagwright.io")):
            assert not can_i(kube_env, namespace, UI_SA, verb, what), f"the web view may {verb} {what}"
        for verb, what in (("watch", "workflowruns.dagwright.io"), ("list", "jobs.batch"), ("get", "pods/log")):
            assert can_i(kube_env, namespace, UI_SA, verb, what), f"the web view may not {verb} {what}"
        kubeconfig = service_account_kubeconfig(kube_env, namespace, UI_SA, tmp_path / "ui.kubeconfig")
        ui = UiProcess(str(kubeconfig), namespace, operator_env(kube_env), tmp_path / "ui.log")
        try:
            ui.wait_ready()
            kube.create_run("chart-1", spec={"tasks": [container_task("ok", annotations=sim("1s")),
                                                       container_task("bad", ["ok"], annotations=sim("1s", exit_code=4))]})
            kube.wait_for_phase("chart-1")
            view = wait(browser, "the failed run in the web view",
                        lambda: (v := ui.get(f"/api/runs/{namespace}/chart-1")).get("phase") == "Failed" and v, timeout=30)
            bad = next(t for t in view["tasks"] if t["name"] == "bad")
            assert [a["exitCode"] for a in bad["attemptList"]] == [4]
            answer = ui.get(f"/api/runs/{namespace}/chart-1/tasks/bad/log")
            assert answer["pod"].startswith("chart-1-bad"), answer  # found with the chart's rights
            assert "forbidden" not in answer["error"].lower(), answer
            browser.get(f"{ui.url}/#/runs/{namespace}/chart-1")
            wait(browser, "bad in red", lambda: nodes(browser).get("bad") == ["Failed", PHASE_COLOURS["Failed"]])
            assert browser.find_element(By.ID, "detail-task").get_attribute("data-task") == "bad"  # opened on it
            assert "forbidden" not in ui.log().lower() and " 403" not in ui.log(), ui.log()[-3000:]
        finally:
            ui.stop()
