"""A TCP proxy between the operator and the API server that a test can cut and restore.

Cutting closes every open connection and refuses new ones — to the operator exactly what a
killed kube-apiserver looks like (watches break, calls fail with connection errors) — while
the cluster itself, and the test's own client, go on. Restoring accepts connections again.
TLS passes through untouched.
"""

from __future__ import annotations

import socket
import threading
from pathlib import Path
from urllib.parse import urlparse

import yaml


class ApiProxy:
    """Forwards 127.0.0.1:`port` to the API server of a kubeconfig."""

    def __init__(self, kubeconfig: str) -> None:
        config = yaml.safe_load(Path(kubeconfig).read_text())
        self._config = config
        server = urlparse(config["clusters"][0]["cluster"]["server"])
        self.upstream = (server.hostname or "127.0.0.1", server.port or 443)
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self._listener: socket.socket | None = None
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.restore()

    def kubeconfig(self, path: Path) -> str:
        """A copy of the kubeconfig that talks through the proxy."""
        config = dict(self._config)
        config["clusters"] = [{**c, "cluster": {**c["cluster"], "server": f"https://127.0.0.1:{self.port}"}}
                              for c in self._config["clusters"]]
        path.write_text(yaml.safe_dump(config))
        return str(path)

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            conns, self._open = self._open, []
        if listener is not None:
            listener.close()
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            try:
                upstream = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                if self._listener is not listener:
                    client.close()
                    upstream.close()
                    return
                self._open += [client, upstream]
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pump, args=(source, target), daemon=True).start()

    def close(self) -> None:
        self.cut()


def _pump(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, target):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
