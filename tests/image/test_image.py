"""The operator image, built from the unchanged Dockerfile on this machine (no Docker engine, no
container registry) and checked the way a user would check it.

The session fixture `image` runs hack/image/build.sh: Debian's buildah (vfs storage under
.cache/image/, `--isolation chroot`) builds the Dockerfile with a debootstrap'ed Debian
bookworm + python3 as the stand-in for python:3.12-slim (`--build-arg PYTHON_IMAGE=...`); it is
skipped in seconds when nothing the image is built from changed. If buildah cannot be installed
or the build fails, every test here fails (nothing is skipped).

Containers are buildah working containers (`buildah from` + `buildah run --isolation chroot`):
the image's user, environment and working directory apply, the host's network is shared (so the
local API server on 127.0.0.1 is reachable); `buildah run` does not apply ENTRYPOINT, so the
tests run the image's Entrypoint + arguments themselves, as a container runtime would.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from cluster.kube import Kube, container_task
from cluster.operator_process import free_port, liveness_ready

from dagwright.api.names import job_name

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / "hack" / "image" / "build.sh"
BUILDAH = REPO / "hack" / "image" / "buildah.sh"
IMAGE = "localhost/dagwright:test"
UID = 65532
EXAMPLE = REPO / "examples" / "manifests" / "quickstart" / "workflow.yaml"


def buildah(*args: str, timeout: float = 180, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([str(BUILDAH), *args], cwd=REPO, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, check=False)
    if check and proc.returncode != 0:
        pytest.fail(f"buildah {' '.join(args)} failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}",
                    pytrace=False)
    return proc


@pytest.fixture(scope="session")
def image() -> str:
    """localhost/dagwright:test, built (or found up to date) by hack/image/build.sh."""
    t0 = time.monotonic()
    try:
        proc = subprocess.run([str(BUILD)], cwd=REPO, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=2400, check=False)
    except subprocess.TimeoutExpired as exc:
        out = exc.output.decode(errors="replace") if isinstance(exc.output, bytes) else exc.output or ""
        pytest.fail(f"hack/image/build.sh timed out after {exc.timeout}s:\n{out[-8000:]}", pytrace=False)
    if proc.returncode != 0:
        pytest.fail(f"hack/image/build.sh failed (exit {proc.returncode}):\n{proc.stdout[-8000:]}", pytrace=False)
    steps = [line for line in proc.stdout.splitlines() if line.startswith("image:")]
    print(f"hack/image/build.sh ({time.monotonic() - t0:.1f}s):\n" + "\n".join(steps))
    return IMAGE


@pytest.fixture(scope="session")
def config(image: str) -> dict:
    """The image's OCI config, as `buildah inspect` (or `docker inspect`) shows it."""
    return json.loads(buildah("inspect", "--type", "image", image).stdout)["OCIv1"]["config"]


@pytest.fixture(scope="session")
def container(image: str) -> Iterator[str]:
    """One working container of the image for all tests (on vfs, each `buildah from` copies the
    whole image: ~20 s); tests only add files to it."""
    name = f"dagwright-test-{secrets.token_hex(3)}"
    buildah("from", "--quiet", "--pull-never", "--name", name, image)
    try:
        yield name
    finally:
        buildah("rm", name, check=False)


def run_in(container: str, *cmd: str, env: dict[str, str] | None = None,
           timeout: float = 120) -> subprocess.CompletedProcess[str]:
    flags = [f"--env={k}={v}" for k, v in (env or {}).items()]
    return buildah("run", "--isolation", "chroot", *flags, container, "--", *cmd, timeout=timeout, check=False)


def test_the_image_runs_dagwright_as_uid_65532_with_the_operator_as_default_command(config: dict) -> None:
    assert config["User"] == f"{UID}:{UID}"
    assert config["Entrypoint"] == ["dagwright"]
    assert config["Cmd"] == ["operator", "--all-namespaces"]
    assert config["WorkingDir"] == "/tmp"
    env = dict(item.split("=", 1) for item in config["Env"])
    assert env["PATH"].split(":")[0] == "/opt/dagwright/bin"
    assert env["HOME"] == "/tmp"
    assert set(config["ExposedPorts"]) == {"8080/tcp", "9090/tcp", "9443/tcp"}


def test_dagwright_render_in_the_image_prints_the_jobs_of_an_example(container: str, config: dict) -> None:
    buildah("copy", container, str(EXAMPLE), "/examples/workflow.yaml")
    proc = run_in(container, *config["Entrypoint"], "render", "-f", "/examples/workflow.yaml",
                  "--run-name", "quickstart-1", "--logical-date", "2026-11-24T00:00:00Z")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    jobs = [doc for doc in yaml.safe_load_all(proc.stdout) if doc]
    tasks = [t["name"] for t in yaml.safe_load(EXAMPLE.read_text())["spec"]["tasks"]]
    assert [job["kind"] for job in jobs] == ["Job"] * len(tasks)
    assert sorted(job["metadata"]["labels"]["dagwright.io/task"] for job in jobs) == sorted(tasks)
    assert {job["metadata"]["name"] for job in jobs} == {job_name("quickstart-1", task, 1) for task in tasks}


def _pins(lines: list[str]) -> set[str]:
    return {re.sub(r"[-_.]+", "-", line.split("==")[0]).lower() + "==" + line.split("==")[1]
            for line in lines if line and not line.startswith("#")}


def test_the_image_holds_exactly_the_locked_dependencies_and_runs_as_nonroot(container: str) -> None:
    check = run_in(container, "/opt/dagwright/bin/pip", "check", env={"PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    assert check.returncode == 0 and "No broken requirements found." in check.stdout, check.stdout + check.stderr

    listed = run_in(container, "/opt/dagwright/bin/pip", "list", "--format=json",
                    env={"PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    assert listed.returncode == 0, listed.stderr
    installed = _pins([f"{p['name']}=={p['version']}" for p in json.loads(listed.stdout)])
    venv_tools = {p for p in installed if p.split("==")[0] in ("pip", "setuptools", "wheel")}
    locked = _pins((REPO / "requirements.lock").read_text().splitlines())
    assert installed - venv_tools == locked | {"dagwright==0.1.0"}

    ids = run_in(container, "sh", "-c", "id -u; id -g")
    assert ids.stdout.split() == [str(UID), str(UID)], ids.stdout + ids.stderr
    write = run_in(container, "touch", "/opt/dagwright/x")
    assert write.returncode != 0 and "Permission denied" in write.stderr, "uid 65532 can write /opt/dagwright"


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _uid_of(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return -1
    return int(re.search(r"^Uid:\s+(\d+)", status, re.MULTILINE).group(1))


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


@pytest.mark.cluster
def test_the_operator_from_the_image_takes_a_run_to_succeeded(
    container: str, config: dict, kube_env: dict[str, str], kube_api, namespace: str, crds, tmp_path: Path
) -> None:
    # The kubeconfig, self-contained (certificates inline), readable by uid 65532 in the container.
    flat = subprocess.run(["kubectl", "config", "view", "--raw", "--flatten", "--minify"], env=kube_env,
                          capture_output=True, text=True, timeout=30, check=True).stdout
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(flat)
    buildah("copy", "--chown", f"{UID}:{UID}", "--chmod", "0600", container, str(kubeconfig), "/tmp/kubeconfig")

    port = free_port()
    log_path = tmp_path / "operator.log"
    cmd = [str(BUILDAH), "run", "--isolation", "chroot", container, "--",
           *config["Entrypoint"], "operator", "--namespace", namespace, "--kubeconfig", "/tmp/kubeconfig",
           "--liveness-endpoint", f"http://127.0.0.1:{port}/healthz"]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    kube = Kube(kube_api, namespace)
    try:
        kube.wait_for("the operator's liveness endpoint to say ready", lambda: proc.poll() is not None or liveness_ready(port),
                      timeout=90, every=0.2)
        assert proc.poll() is None, f"the operator exited with {proc.returncode}:\n{log_path.read_text()[-6000:]}"
        # What the container runs (not buildah itself), seen from the host: uid 65532, not root.
        inside = [pid for pid in _descendants(proc.pid) if not _cmdline(pid).startswith(b"buildah")]
        assert inside and {_uid_of(pid) for pid in inside} == {UID}, [(_cmdline(p), _uid_of(p)) for p in inside]

        kube.create_run("two", spec={"tasks": [container_task("extract"), container_task("load", ["extract"])]})
        run = kube.wait_for_phase("two", timeout=90)
        assert run["status"]["phase"] == "Succeeded", run["status"]
        assert kube.attempt_keys("two") == [("extract", 1), ("load", 1)]
        assert proc.poll() is None, "the operator died"
    except BaseException:
        print("---- operator log (tail) ----\n" + log_path.read_text(errors="replace")[-6000:])
        raise
    finally:
        _stop(proc)


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM to buildah and everything it started (its own session), SIGKILL after 15 s."""
    if proc.poll() is not None:
        return
    pids = _descendants(proc.pid)
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
    for pid in pids:  # anything that left buildah's process group
        if b"dagwright" in _cmdline(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
