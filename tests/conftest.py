"""Shared pytest fixtures for Dagwright's tests.

Cluster fixtures (only instantiated by tests that request them, so ``tests/unit`` never needs
a cluster):

- ``kubeconfig`` (session): path of a kubeconfig. If ``KUBECONFIG`` is set, that cluster is used
  as is (kind, a real cluster, ...). Otherwise the local control plane is started once per
  session with ``hack/build-tools.sh`` + ``hack/cluster-up.sh`` (both idempotent and fast when
  already done) and ``.cluster/kubeconfig`` is returned. The cluster is left running at the end
  of the session so the next run reuses it; ``make cluster-down`` stops it.
- ``kube_env`` (session): a copy of ``os.environ`` with ``KUBECONFIG`` set and ``.cache/bin``
  (kubectl, helm, kwokctl) first on ``PATH`` - pass it to subprocesses (operator, kubectl, helm).
- ``crds`` (session): the committed CRDs applied and Established.
- ``kube_api`` (session): a configured ``kubernetes.client.ApiClient``.
- ``namespace`` (function): a fresh namespace ``t-<test-name>-<4 random chars>`` whose
  ``default`` ServiceAccount exists; deleted (in the background) after the test.

Every test under ``tests/cluster`` is marked ``cluster`` automatically
(``pytest -m "not cluster"`` skips them). Tests marked ``realnode`` (tests/cluster/test_realnode.py)
need the local cluster's real node: with ``DW_REAL_NODE=0`` (a kwok-only cluster) they are deselected.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CLUSTER_TESTS = REPO / "tests" / "cluster"
LOCAL_KUBECONFIG = REPO / ".cluster" / "kubeconfig"
TOOLS_BIN = REPO / ".cache" / "bin"


def pytest_collection_modifyitems(config, items):
    for item in items:
        path = Path(str(getattr(item, "path", item.fspath))).resolve()
        if CLUSTER_TESTS in path.parents:
            item.add_marker(pytest.mark.cluster)
    if os.environ.get("DW_REAL_NODE") == "0":
        real_node = [item for item in items if item.get_closest_marker("realnode")]
        if real_node:
            config.hook.pytest_deselected(items=real_node)
            items[:] = [item for item in items if not item.get_closest_marker("realnode")]


def _run(cmd: list[str], timeout: float) -> None:
    try:
        proc = subprocess.run(
            cmd,
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{' '.join(cmd)} timed out after {timeout}s:\n{exc.output or ''}", pytrace=False)
    if proc.returncode != 0:
        pytest.fail(f"{' '.join(cmd)} failed (exit {proc.returncode}):\n{proc.stdout}", pytrace=False)


def start_local_cluster() -> Path:
    """Build the tools if needed and start (or reuse) the local control plane.

    Usable outside pytest too (benchmarks, demo): returns the admin kubeconfig path.
    """
    # A cold build takes 15-30 minutes; a warm check is instant.
    _run([str(REPO / "hack" / "build-tools.sh")], timeout=3600)
    _run([str(REPO / "hack" / "cluster-up.sh")], timeout=600)
    return LOCAL_KUBECONFIG


@pytest.fixture(scope="session")
def kubeconfig() -> str:
    env = os.environ.get("KUBECONFIG")
    if env:
        return env
    return str(start_local_cluster())


@pytest.fixture(scope="session")
def kube_env(kubeconfig: str) -> dict[str, str]:
    env = dict(os.environ)
    env["KUBECONFIG"] = kubeconfig
    env["PATH"] = f"{TOOLS_BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


@pytest.fixture(scope="session")
def crds(kube_env):
    """The committed CRDs applied (the same files `make demo` and the chart install)."""
    apply = ["kubectl", "apply", "--server-side", "--force-conflicts", "-f", str(REPO / "crds")]
    proc = subprocess.run(apply, env=kube_env, capture_output=True, text=True, timeout=90)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    wait = ["kubectl", "wait", "--for=condition=Established", "--timeout=60s",
            *(f"crd/{plural}.dagwright.io" for plural in ("workflows", "workflowruns", "pools", "dataassets"))]
    deadline = time.monotonic() + 60
    while True:
        # A CRD created a moment ago may have no status.conditions yet, which kubectl wait
        # reports as an error instead of waiting: ask again.
        proc = subprocess.run(wait, env=kube_env, capture_output=True, text=True, timeout=90)
        if proc.returncode == 0 or time.monotonic() > deadline or "accessor error" not in proc.stderr:
            break
        time.sleep(0.5)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    return True


@pytest.fixture(scope="session")
def kube_api(kubeconfig: str):
    from kubernetes import config

    client = config.new_client_from_config(config_file=kubeconfig)
    yield client
    client.close()


def _namespace_name(test_name: str) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", test_name.lower()).strip("-")
    base = re.sub(r"^test-", "", base)[:40].strip("-") or "x"
    return f"t-{base}-{secrets.token_hex(2)}"


@pytest.fixture
def namespace(request, kube_api):
    from kubernetes import client
    from kubernetes.client.rest import ApiException

    core = client.CoreV1Api(kube_api)
    name = _namespace_name(request.node.name)
    core.create_namespace(
        client.V1Namespace(
            metadata=client.V1ObjectMeta(name=name, labels={"dagwright.io/test": "true"})
        )
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            core.read_namespaced_service_account("default", name)
            break
        except ApiException as exc:
            if exc.status != 404:
                raise
        if time.monotonic() > deadline:
            pytest.fail(
                f"namespace {name}: default ServiceAccount not created within 60s "
                "(is the serviceaccount controller running?)",
                pytrace=False,
            )
        time.sleep(0.1)
    try:
        yield name
    finally:
        try:
            core.delete_namespace(name, propagation_policy="Background")
        except ApiException as exc:
            if exc.status != 404:
                raise
