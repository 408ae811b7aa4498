"""Prometheus metrics scraped from a running operator after a real run."""

from __future__ import annotations

import urllib.request

from .kube import Kube
from .kube import container_task as task
from .operator_process import OperatorProcess, free_port, operator_env


def scrape(port: int) -> dict[str, float]:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            values[name] = float(value)
    return values


def test_metrics_count_runs_tasks_jobs_and_dispatch_latency(kube_api, kubeconfig, kube_env, namespace, crds, tmp_path):
    port = free_port()
    proc = OperatorProcess(kubeconfig, [namespace], tmp_path / "operator.log", operator_env(kube_env))
    proc.extra_args = ["--metrics-port", str(port), "--metrics-address", "127.0.0.1"]
    proc.start()
    try:
        kube = Kube(kube_api, namespace)
        kube.create_run("m", spec={"tasks": [task("a"), task("b", ["a"]), task("c", ["a"]), task("d", ["b", "c"])]})
        assert kube.wait_for_phase("m")["status"]["phase"] == "Succeeded"
        values = kube.wait_for("finished-run metric", lambda: (v := scrape(port)).get(
            'dagwright_runs_finished_total{phase="Succeeded"}') == 1 and v)
        assert values["dagwright_jobs_created_total"] == 4
        assert values['dagwright_tasks_finished_total{phase="Succeeded"}'] == 4
        assert values["dagwright_dispatch_latency_seconds_count"] == 3  # b, c after a; d after b and c
        assert values["dagwright_runs_started_total"] == 1
    finally:
        proc.stop()
