"""Fixtures for tests of the operator on a real API server: CRDs installed, an operator per test."""

from __future__ import annotations

import pytest

from .kube import Kube
from .operator_process import OperatorProcess, operator_env


@pytest.fixture
def kube(kube_api, namespace, crds, request) -> Kube:
    """The test's namespace; a module that looks at Jobs pins its workflows with `TASK_RESOURCE = "Job"`."""
    return Kube(kube_api, namespace, getattr(request.module, "TASK_RESOURCE", None))


def running_operator(kubeconfig, kube_env, namespace, tmp_path, request):
    """A `dagwright operator` process watching `namespace` while the test runs; its log is shown on failure."""
    proc = OperatorProcess(kubeconfig, [namespace], tmp_path / "operator.log", operator_env(kube_env))
    proc.start()
    yield proc
    proc.stop()
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        print("---- operator log (tail) ----\n" + proc.log()[-6000:])


@pytest.fixture
def operator(kubeconfig, kube_env, namespace, crds, tmp_path, request):
    """A `dagwright operator` process watching the test's namespace."""
    yield from running_operator(kubeconfig, kube_env, namespace, tmp_path, request)


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
