"""A real HTTP server on 127.0.0.1 that answers from a script, for testing the API client.

Each request takes the next scripted `Answer` (the last one repeats) and is recorded, so a test
can check what the client sent, how often, and when. `Answer.hang_up` closes the connection
without answering, like an API server killed mid-request.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from kubernetes.client import Configuration


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: Any = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    hang_up: bool = False
    delay: float = 0.0  # seconds before answering


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    body: Any
    at: float


def status(code: int, reason: str, message: str, **details: Any) -> dict[str, Any]:
    """A Kubernetes Status object as the API server sends it with a failure."""
    document: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                "message": message, "reason": reason, "code": code}
    if details:
        document["details"] = details
    return document


class ScriptedApiServer:
    def __init__(self, *answers: Answer) -> None:
        self.script = list(answers) or [Answer()]
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                with server._lock:
                    server.seen.append(Seen(self.command, self.path, json.loads(raw) if raw else None, time.monotonic()))
                    answer = server.script.pop(0) if len(server.script) > 1 else server.script[0]
                time.sleep(answer.delay)
                if answer.hang_up:
                    self.close_connection = True
                    self.connection.close()
                    return
                data = answer.body if isinstance(answer.body, bytes) else json.dumps(answer.body).encode()
                if isinstance(answer.body, list):  # a watch stream: one JSON event per line
                    data = b"".join(json.dumps(event).encode() + b"\n" for event in answer.body)
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer  # noqa: N815

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.01,), daemon=True)

    def __enter__(self) -> ScriptedApiServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def configuration(self) -> Configuration:
        configuration = Configuration()
        configuration.host = self.url
        return configuration

    def methods(self) -> list[str]:
        return [s.method for s in self.seen]

    def gaps(self) -> Iterator[float]:
        """Seconds between consecutive requests."""
        return (b.at - a.at for a, b in zip(self.seen, self.seen[1:], strict=False))
