#!/usr/bin/env python3
"""The demo's stand-in for Slack: a loopback HTTP endpoint that appends every POSTed body to a file.

`make demo` points the lakehouse workflow's notification Secret at it, so the run's webhook
notification is delivered and shown without reaching the internet.
Usage: demo_receiver.py PORT-FILE OUTPUT-FILE [HOST:PORT]  (binds HOST:PORT, by default 127.0.0.1 on a
free port, and writes the port to PORT-FILE). hack/services/up.sh runs one on a fixed port for the
runnable lakehouse example.
"""

from __future__ import annotations

import sys
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path


def main(port_file: Path, output: Path, bind: str = "127.0.0.1:0") -> None:
    class Append(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server hook name
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with output.open("ab") as out:
                out.write(self.path.encode() + b" " + body.replace(b"\n", b" ") + b"\n")
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return

    host, _, port = bind.rpartition(":")
    server = HTTPServer((host, int(port)), Append)
    port_file.write_text(str(server.server_address[1]))
    server.serve_forever()


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), *sys.argv[3:4])
