"""Instant tasks: the bench itself completes a namespace's Dagwright Jobs, no pods at all.

For the 5,000-task run, whose figure is the size of the finished run object, not how fast
5,000 pods go through the Job controller and kwok (5-10 minutes on 2 cores). A mutating
admission webhook served by the bench sets `spec.managedBy: bench.dagwright.io/instant` on every
Job created in that namespace with a `dagwright.io/run` label, so the Job controller leaves
those Jobs alone (no pod is ever created); a watch then marks each one succeeded through the
status subresource (`SuccessCriteriaMet` + `Complete`, `succeeded: 1`, start and completion
times), exactly the conditions the Job controller would set. The operator's side is unchanged:
it creates the Jobs and sees them finish.

The API server must reach the webhook at https://127.0.0.1:<port>: the local cluster only.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
import logging
import ssl
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from kubernetes import client
from kubernetes.client.rest import ApiException

from bench.jobwatch import JobWatch, finished_state

log = logging.getLogger("bench.instant")

MANAGED_BY = "bench.dagwright.io/instant"
PATCH = base64.b64encode(json.dumps([{"op": "add", "path": "/spec/managedBy", "value": MANAGED_BY}]).encode()).decode()


def self_signed(directory: Path) -> tuple[Path, Path, bytes]:
    """A key and a certificate for 127.0.0.1 (its own CA); (cert file, key file, cert PEM)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bench-instant")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(hours=3))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    pem = cert.public_bytes(serialization.Encoding.PEM)
    cert_file, key_file = directory / "tls.crt", directory / "tls.key"
    cert_file.write_bytes(pem)
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file, pem


class _Handler(BaseHTTPRequestHandler):
    """AdmissionReview in, the managedBy patch out."""

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        review = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        answer = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                  "response": {"uid": review["request"]["uid"], "allowed": True,
                               "patchType": "JSONPatch", "patch": PATCH}}
        body = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: Any) -> None:
        pass


def complete_body(now: str) -> dict[str, Any]:
    """The status a successful one-pod Job ends with."""
    def condition(kind: str) -> dict[str, Any]:
        return {"type": kind, "status": "True", "lastTransitionTime": now, "reason": "CompletionsReached",
                "message": "Reached expected number of succeeded pods"}
    return {"status": {"startTime": now, "completionTime": now, "succeeded": 1,
                       "conditions": [condition("SuccessCriteriaMet"), condition("Complete")]}}


class InstantJobs:
    """While open: Dagwright Jobs created in `namespace` finish at once, without pods."""

    def __init__(self, api: client.ApiClient, namespace: str, threads: int = 16) -> None:
        self.api = api
        self.namespace = namespace
        self.batch = client.BatchV1Api(api)
        self.admission = client.AdmissionregistrationV1Api(api)
        self.config_name = f"bench-instant-{namespace}"
        self.completed = 0
        self.errors = 0
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="instant")
        self._dir = tempfile.TemporaryDirectory(prefix="bench-instant-")
        self._server: ThreadingHTTPServer | None = None
        self._watch = JobWatch(api, "dagwright.io/run", on_new=self._on_new)

    def __enter__(self) -> InstantJobs:
        cert, key, pem = self_signed(Path(self._dir.name))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        threading.Thread(target=self._server.serve_forever, daemon=True, name="instant-webhook").start()
        self._register(pem, self._server.server_address[1])
        self._watch.add_namespace(self.namespace)
        self._wait_effective()
        return self

    def __exit__(self, *_: object) -> None:
        try:
            self.admission.delete_mutating_webhook_configuration(self.config_name)
        except ApiException as exc:
            if exc.status != 404:
                raise
        finally:
            self._watch.stop()
            self._pool.shutdown(wait=False, cancel_futures=True)
            if self._server is not None:
                self._server.shutdown()
            self._dir.cleanup()

    def _register(self, ca_pem: bytes, port: int) -> None:
        self.admission.create_mutating_webhook_configuration({
            "apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
            "metadata": {"name": self.config_name, "labels": {"dagwright.io/bench": "true"}},
            "webhooks": [{
                "name": "instant.bench.dagwright.io",
                "clientConfig": {"url": f"https://127.0.0.1:{port}/mutate",
                                 "caBundle": base64.b64encode(ca_pem).decode()},
                "rules": [{"apiGroups": ["batch"], "apiVersions": ["v1"], "operations": ["CREATE"],
                           "resources": ["jobs"], "scope": "Namespaced"}],
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": self.namespace}},
                "objectSelector": {"matchExpressions": [{"key": "dagwright.io/run", "operator": "Exists"}]},
                "admissionReviewVersions": ["v1"], "sideEffects": "None", "failurePolicy": "Fail",
                "timeoutSeconds": 10,
            }],
        })

    def _wait_effective(self, timeout: float = 30) -> None:
        """Until a dry-run create comes back with managedBy set (webhook configs load asynchronously)."""
        probe = {"apiVersion": "batch/v1", "kind": "Job",
                 "metadata": {"name": "instant-probe", "labels": {"dagwright.io/run": "probe"}},
                 "spec": {"template": {"spec": {"restartPolicy": "Never",
                                                "containers": [{"name": "c", "image": "busybox:1.36"}]}}}}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            answer = self.batch.create_namespaced_job(self.namespace, probe, dry_run="All", _preload_content=False)
            if json.loads(answer.data)["spec"].get("managedBy") == MANAGED_BY:
                return
            time.sleep(0.2)
        raise RuntimeError(f"the instant-tasks webhook was not in effect after {timeout}s")

    def _on_new(self, job: dict[str, Any]) -> None:
        if (job.get("spec") or {}).get("managedBy") == MANAGED_BY and finished_state(job) is None:
            self._pool.submit(self._complete, job["metadata"]["name"])

    def _complete(self, name: str) -> None:
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        try:
            self.batch.patch_namespaced_job_status(name, self.namespace, complete_body(now), _preload_content=False,
                                                   _content_type="application/merge-patch+json")
            self.completed += 1
        except ApiException as exc:
            self.errors += 1
            log.warning("could not complete Job %s: %s %s", name, exc.status, exc.reason)
