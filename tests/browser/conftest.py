"""Fixtures for the web view's browser tests: an operator and a `dagwright ui` process for the
test's namespace on the local cluster, and a headless Chromium (tests/browser/chromium.py).

Screenshots go to tests/browser/artifacts/ (kept after the run, ignored by git); the README's
images in docs/images/ are copies of them.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from cluster.conftest import running_operator
from cluster.kube import Kube
from cluster.operator_process import free_port, operator_env

from . import chromium

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.cluster)


@pytest.fixture
def kube(kube_api, namespace, crds) -> Kube:
    return Kube(kube_api, namespace)


@pytest.fixture
def operator(kubeconfig, kube_env, namespace, crds, tmp_path, request):
    yield from running_operator(kubeconfig, kube_env, namespace, tmp_path, request)


class UiProcess:
    """`dagwright ui` for one namespace, on a free port."""

    def __init__(self, kubeconfig: str, namespace: str, env: dict[str, str], log_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "dagwright.cli.main", "ui", "--port", str(self.port), "--kubeconfig", kubeconfig,
             "--namespace", namespace],
            stdout=log_path.open("ab"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)

    def get(self, path: str) -> dict:
        with urllib.request.urlopen(self.url + path, timeout=10) as answer:
            return json.loads(answer.read())

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"dagwright ui exited:\n{self.log()}"
            try:
                if self.get("/api/meta")["synced"]:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"dagwright ui not ready in {timeout}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture
def ui(kubeconfig, kube_env, namespace, crds, tmp_path, request) -> Iterator[UiProcess]:
    process = UiProcess(kubeconfig, namespace, operator_env(kube_env), tmp_path / "ui.log")
    process.wait_ready()
    yield process
    process.stop()
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        print("---- dagwright ui log (tail) ----\n" + process.log()[-4000:])


@pytest.fixture(scope="session")
def browser():
    why = chromium.missing()
    if why:
        pytest.fail(why, pytrace=False)
    driver, profile = chromium.start()
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def screenshot(browser):
    ARTIFACTS.mkdir(exist_ok=True)

    def take(name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        browser.save_screenshot(str(path))
        return path
    return take


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
