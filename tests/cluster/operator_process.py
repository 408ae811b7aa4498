"""Running the real `dagwright operator` as a subprocess for cluster tests (start, kill -9, restart)."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def liveness_ready(port: int) -> bool:
    """Whether the operator's liveness endpoint on this port reports its Job index synced."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as answer:
            return b'"ready": true' in answer.read()
    except OSError:
        return False


class OperatorProcess:
    """One operator process watching the given namespaces; logs to `log_path`."""

    def __init__(self, kubeconfig: str, namespaces: list[str], log_path: Path, env: dict[str, str]) -> None:
        self.kubeconfig = kubeconfig
        self.namespaces = namespaces
        self.log_path = log_path
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.extra_args: list[str] = []

    def start(self, timeout: float = 60) -> None:
        self.port = free_port()
        cmd = [sys.executable, "-m", "dagwright.cli.main", "operator", "--kubeconfig", self.kubeconfig,
               "--liveness-endpoint", f"http://127.0.0.1:{self.port}/healthz"]
        for ns in self.namespaces:
            cmd += ["--namespace", ns]
        cmd += self.extra_args
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     env=self.env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"operator exited with {self.proc.returncode}:\n{self.log()}")
            if liveness_ready(self.port):
                return
            time.sleep(0.1)
        raise RuntimeError(f"operator not ready in {timeout}s:\n{self.log()}")

    def kill(self) -> None:
        """SIGKILL: no cleanup handlers, like a crashed or evicted pod."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def assert_alive(self) -> None:
        assert self.proc is not None and self.proc.poll() is None, f"operator died:\n{self.log()[-4000:]}"


def operator_env(kube_env: dict[str, str]) -> dict[str, str]:
    """The operator's environment: without KUBECONFIG, so that `--kubeconfig` alone must log in."""
    env = {k: v for k, v in kube_env.items() if k != "KUBECONFIG"}
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env
