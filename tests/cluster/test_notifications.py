"""Run-finished webhooks delivered to a real HTTP server started by the test."""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from kubernetes import client

from .kube import container_task as task
from .operator_process import free_port


class Receiver:
    """A loopback HTTP server that records JSON POSTs; answers 500 to the first `fail_first`."""

    def __init__(self, fail_first: int = 0) -> None:
        self.payloads: list[dict] = []
        self.fail_first = fail_first
        self.calls = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                receiver.calls += 1
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.calls <= receiver.fail_first:
                    self.send_response(500)
                else:
                    receiver.payloads.append(json.loads(body))
                    self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


@pytest.fixture
def receiver():
    r = Receiver(fail_first=1)
    yield r
    r.close()


def secret(kube, name: str, url: str) -> None:
    kube.core.create_namespaced_secret(kube.ns, client.V1Secret(
        metadata=client.V1ObjectMeta(name=name), data={"url": base64.b64encode(url.encode()).decode()}))


def notified(kube, name):
    run = kube.run(name)
    return next((c for c in (run.get("status") or {}).get("conditions", []) if c["type"] == "Notified"), None)


def test_a_failed_run_notifies_the_webhook_from_a_secret_after_a_retry(kube, operator, receiver):
    secret(kube, "slack", receiver.url)
    spec = {"tasks": [task("ok"), task("broken", annotations={"sim.dagwright.io/exit-code": "4"})],
            "notifications": [{"on": ["Failed"], "webhook": {"urlFrom": {"secretKeyRef": {"name": "slack", "key": "url"}}}}]}
    kube.create_run("notify", spec=spec, logicalDate="2026-11-24T02:00:00Z")
    assert kube.wait_for_phase("notify")["status"]["phase"] == "Failed"
    condition = kube.wait_for("Notified condition", lambda: notified(kube, "notify"), timeout=30)
    assert condition["status"] == "True"
    assert receiver.calls == 2  # the first answer was a 500: retried
    payload = receiver.payloads[0]
    assert (payload["run"], payload["phase"], payload["failedTasks"]) == ("notify", "Failed", ["broken"])
    assert payload["logicalDate"] == "2026-11-24T02:00:00Z" and payload["workflow"] == "notify"
    assert "notify" in payload["text"] and "failed" in payload["text"]
    kube.wait_for("NotificationSent event", lambda: "NotificationSent" in kube.event_reasons("notify"))


def test_a_notification_for_another_phase_is_not_sent(kube, operator, receiver):
    spec = {"tasks": [task("ok")], "notifications": [{"on": ["Failed"], "webhook": {"url": receiver.url}}]}
    kube.create_run("quiet", spec=spec)
    assert kube.wait_for_phase("quiet")["status"]["phase"] == "Succeeded"
    kube.wait_for("RunSucceeded event", lambda: "RunSucceeded" in kube.event_reasons("quiet"))
    assert receiver.calls == 0 and notified(kube, "quiet") is None


def test_an_undeliverable_notification_posts_an_event_and_keeps_the_phase(kube, operator):
    dead = f"http://127.0.0.1:{free_port()}/nobody-listens"
    spec = {"tasks": [task("ok")], "notifications": [{"on": ["Succeeded"], "webhook": {"url": dead}}]}
    kube.create_run("undelivered", spec=spec)
    condition = kube.wait_for("Notified condition", lambda: notified(kube, "undelivered"), timeout=60)
    assert condition["status"] == "False"
    assert kube.run("undelivered")["status"]["phase"] == "Succeeded"
    kube.wait_for("NotificationFailed event", lambda: "NotificationFailed" in kube.event_reasons("undelivered"))


@pytest.mark.parametrize(("url", "via_secret"), [
    pytest.param("http://169.254.169.254/latest/meta-data/iam/security-credentials/", False, id="the metadata IP"),
    pytest.param("http://metadata.google.internal/computeMetadata/v1/", True, id="the metadata name, from a Secret"),
])
def test_a_webhook_to_a_cloud_metadata_address_is_refused_and_the_run_keeps_its_phase(kube, operator, url, via_secret):
    if via_secret:
        secret(kube, "hook", url)
        webhook = {"urlFrom": {"secretKeyRef": {"name": "hook", "key": "url"}}}
    else:
        webhook = {"url": url}
    spec = {"tasks": [task("ok")], "notifications": [{"on": ["Succeeded"], "webhook": webhook}]}
    kube.create_run("metadata", spec=spec)
    condition = kube.wait_for("Notified condition", lambda: notified(kube, "metadata"), timeout=30)
    assert condition["status"] == "False"
    assert "refused to notify" in condition["message"] and "--allow-link-local-webhooks" in condition["message"]
    assert kube.run("metadata")["status"]["phase"] == "Succeeded"
    event = kube.wait_for("NotificationFailed event", lambda: next(
        (e for e in kube.events("metadata") if e.reason == "NotificationFailed"), None))
    assert event.type == "Warning" and "refused to notify" in event.message
    operator.assert_alive()
