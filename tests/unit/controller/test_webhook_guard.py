"""Notification webhooks never reach link-local or cloud-metadata addresses unless the operator allows it.

Refusals are checked on every address a name resolves to (with a scripted resolver, and with the
system's for the numeric spellings it accepts); deliveries go to a real receiver on 127.0.0.1.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from dagwright.controller.notify import deliver
from dagwright.controller.webhookguard import (
    ALLOW_FLAG,
    Refusal,
    WebhookPolicy,
    WebhookRefused,
    getaddrinfo_addresses,
    resolve_target,
)

DENY = WebhookPolicy()
ALLOW = WebhookPolicy(allow_link_local=True)


def resolver(table: dict[str, list[str]]):
    def resolve(host: str, port: int) -> list[str]:
        if host in table:
            return table[host]
        return getaddrinfo_addresses(host, port)  # IP literals and numeric spellings, no DNS
    return resolve


NAMES = resolver({
    "hooks.example.com": ["203.0.113.7"],
    "rebound.example.com": ["203.0.113.7", "169.254.169.254"],
    "v6.example.com": ["2001:db8::7", "fe80::1"],
    "alertmanager.monitoring.svc": ["10.96.4.2"],
})


@pytest.mark.parametrize(("url", "kind"), [
    pytest.param("http://169.254.169.254/latest/meta-data/iam/", Refusal.LINK_LOCAL, id="the AWS/GCP/Azure metadata IP"),
    pytest.param("http://169.254.170.2/v2/credentials", Refusal.LINK_LOCAL, id="the ECS task credentials IP"),
    pytest.param("http://[fe80::a9fe:a9fe]/", Refusal.LINK_LOCAL, id="an IPv6 link-local address"),
    pytest.param("http://100.100.100.200/latest/meta-data/", Refusal.METADATA_ADDRESS, id="Alibaba's metadata IP"),
    pytest.param("http://[fd00:ec2::254]/latest/", Refusal.METADATA_ADDRESS, id="AWS's IPv6 metadata IP"),
    pytest.param("http://168.63.129.16/machine", Refusal.METADATA_ADDRESS, id="Azure's WireServer"),
    pytest.param("http://[::ffff:169.254.169.254]/", Refusal.LINK_LOCAL, id="the metadata IP mapped into IPv6"),
    pytest.param("http://[64:ff9b::a9fe:a9fe]/", Refusal.LINK_LOCAL, id="the metadata IP through NAT64"),
    pytest.param("http://2852039166/", Refusal.LINK_LOCAL, id="the metadata IP as one decimal number"),
    pytest.param("http://0xa9.0xfe.0xa9.0xfe/", Refusal.LINK_LOCAL, id="the metadata IP in hexadecimal"),
    pytest.param("http://metadata.google.internal/computeMetadata/v1/", Refusal.METADATA_NAME,
                 id="GCP's metadata name, refused before resolving"),
    pytest.param("http://Metadata.Google.Internal./x", Refusal.METADATA_NAME, id="the same name in capitals, with a dot"),
    pytest.param("http://rebound.example.com/hook", Refusal.LINK_LOCAL,
                 id="a name with a public and a link-local address: every address is checked"),
    pytest.param("https://v6.example.com/hook", Refusal.LINK_LOCAL, id="a name with an IPv6 link-local address"),
    pytest.param("file:///etc/passwd", Refusal.SCHEME, id="a file URL"),
    pytest.param("gopher://hooks.example.com/", Refusal.SCHEME, id="a gopher URL"),
])
def test_a_link_local_or_metadata_target_is_refused(url, kind):
    with pytest.raises(WebhookRefused) as refused:
        resolve_target(url, DENY, NAMES)
    assert refused.value.kind is kind


def test_the_refusal_names_the_host_and_the_flag_but_not_the_urls_secret_path():
    with pytest.raises(WebhookRefused) as refused:
        resolve_target("http://rebound.example.com/services/T000/B000/s3cr3t", DENY, NAMES)
    message = str(refused.value)
    assert "rebound.example.com (169.254.169.254) is a link-local address" in message
    assert ALLOW_FLAG in message and "s3cr3t" not in message


@pytest.mark.parametrize("url", [
    pytest.param("http://127.0.0.1:8080/hook", id="loopback"),
    pytest.param("http://[::1]:8080/hook", id="IPv6 loopback"),
    pytest.param("http://localhost:8080/hook", id="localhost"),
    pytest.param("http://alertmanager.monitoring.svc/api/v2/alerts", id="an in-cluster Service"),
    pytest.param("https://hooks.example.com/services/x", id="a public host"),
    pytest.param("http://10.1.2.3/hook", id="a private address"),
])
def test_loopback_private_and_public_targets_are_allowed(url):
    target = resolve_target(url, DENY, NAMES)
    assert target.addresses


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest/", "http://metadata.google.internal/",
                                 "http://[fd00:ec2::254]/", "http://rebound.example.com/"])
def test_the_operator_can_be_told_to_allow_them(url):
    assert resolve_target(url, ALLOW, resolver({"metadata.google.internal": ["169.254.169.254"], **{
        "rebound.example.com": ["169.254.169.254"]}})).addresses


def test_the_post_goes_to_a_checked_address_whatever_the_name_resolves_to_later():
    answers = iter([["127.0.0.1"], ["169.254.169.254"]])
    target = resolve_target("http://hooks.example.com:8080/x?y=1", DENY, lambda host, port: next(answers))
    assert (target.host, target.port, target.path, target.addresses) == ("hooks.example.com", 8080, "/x?y=1", ("127.0.0.1",))


class Receiver:
    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                receiver.requests.append((self.path, self.headers["Host"], body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, args=(0.01,), daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def test_a_loopback_webhook_is_delivered_with_its_host_path_and_payload(receiver):
    assert deliver(f"http://localhost:{receiver.port}/hook?channel=data", {"phase": "Failed"}) is None
    assert receiver.requests == [("/hook?channel=data", f"localhost:{receiver.port}", {"phase": "Failed"})]


def test_a_refused_webhook_is_not_tried_and_not_retried():
    started = time.monotonic()
    error = deliver("http://169.254.169.254/latest/meta-data/", {"phase": "Failed"}, first_backoff=5.0)
    assert error is not None and "link-local" in error and ALLOW_FLAG in error
    assert time.monotonic() - started < 2.5  # no connection attempt, no backoff (which would be 5 s)


def test_a_redirect_is_not_followed(receiver):
    class Redirect(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            self.send_response(307)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True).start()
    try:
        error = deliver(f"http://127.0.0.1:{server.server_port}/hook", {}, attempts=1)
    finally:
        server.shutdown()
        server.server_close()
    assert error == "HTTP 307 after 1 attempt(s)"


def test_an_https_webhook_is_verified_against_its_host_name_while_connecting_to_the_checked_address(tmp_path, monkeypatch):
    """The certificate names only `localhost` (no IP): the POST goes to 127.0.0.1 yet verifies the name."""
    import datetime
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    received = Receiver()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    received.server.socket = context.wrap_socket(received.server.socket, server_side=True)
    try:
        untrusted = deliver(f"https://localhost:{received.port}/hook", {"phase": "Failed"}, attempts=1)
        monkeypatch.setenv("SSL_CERT_FILE", str(cert_file))
        trusted = deliver(f"https://localhost:{received.port}/hook", {"phase": "Failed"}, attempts=1)
    finally:
        received.close()
    assert untrusted is not None and "certificate verify failed" in untrusted
    assert trusted is None and received.requests == [("/hook", f"localhost:{received.port}", {"phase": "Failed"})]
