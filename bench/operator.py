"""The operator under test: `python -m dagwright.cli.main operator` as a subprocess, and its memory.

It runs with the benchmark's identity kubeconfig (both for kopf, through `KUBECONFIG`, and for
Dagwright's own client, through `--kubeconfig`), watches the bench namespaces given, and is
ready when its liveness endpoint says the Job index has synced. Resident memory is read from
`/proc/<pid>/status` (VmRSS); `RssSampler` keeps the peak over a window.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_mib(pid: int) -> float:
    """Resident set size of a process, in MiB (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


class Operator:
    """One operator process watching `namespaces`, logging to `log_path`."""

    def __init__(self, kubeconfig: Path, namespaces: list[str], log_path: Path, env: dict[str, str],
                 profile: Path | None = None) -> None:
        self.kubeconfig = kubeconfig
        self.namespaces = namespaces
        self.log_path = log_path
        self.env = {**env, "KUBECONFIG": str(kubeconfig), "PYTHONUNBUFFERED": "1"}
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.metrics_port = 0
        self.profile = profile  # run under cProfile (the event loop's thread), written at exit

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout: float = 90) -> None:
        self.port = free_port()
        self.metrics_port = free_port()
        python = [sys.executable] + (["-m", "cProfile", "-o", str(self.profile)] if self.profile else [])
        cmd = [*python, "-m", "dagwright.cli.main", "operator", "--kubeconfig", str(self.kubeconfig),
               "--liveness-endpoint", f"http://127.0.0.1:{self.port}/healthz",
               "--metrics-port", str(self.metrics_port), "--metrics-address", "127.0.0.1"]
        for namespace in self.namespaces:
            cmd += ["--namespace", namespace]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         env=self.env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            if self.ready():
                return
            time.sleep(0.1)
        raise RuntimeError(f"operator not ready in {timeout}s:\n{self.log_tail()}")

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1) as answer:
                return b'"ready": true' in answer.read()
        except OSError:
            return False

    def check_alive(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            code = None if self.proc is None else self.proc.returncode
            raise RuntimeError(f"operator exited ({code}):\n{self.log_tail()}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(60 if self.profile else 15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def rss_mib(self) -> float:
        return rss_mib(self.pid)

    def cpu_seconds(self) -> float:
        """User + system CPU time the process has used (all its threads)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def metrics(self) -> dict[str, float]:
        """The operator's Prometheus samples, `name{labels}` -> value ({} if unavailable)."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5) as answer:
                text = answer.read().decode()
        except OSError:
            return {}
        samples = {}
        for line in text.splitlines():
            if line.startswith("dagwright_") and " " in line:
                name, value = line.rsplit(" ", 1)
                try:
                    samples[name] = float(value)
                except ValueError:
                    pass
        return samples

    def snapshot(self) -> dict[str, float]:
        """CPU seconds and metrics now, to diff across a scenario."""
        return {"cpu_seconds": self.cpu_seconds(), **self.metrics()}

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""

    def log_count(self, needle: str) -> int:
        """How many log lines contain `needle` (warnings, errors)."""
        if not self.log_path.exists():
            return 0
        with open(self.log_path, errors="replace") as fh:
            return sum(1 for line in fh if needle in line)


class RssSampler:
    """Samples a process's RSS every `every` seconds in a thread; `peak` is the maximum seen."""

    def __init__(self, pid: int, every: float = 0.1) -> None:
        self.pid = pid
        self.every = every
        self.peak = 0.0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="rss")

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, rss_mib(self.pid))
                self.samples += 1
            except (OSError, RuntimeError):
                return
            self._stop.wait(self.every)
