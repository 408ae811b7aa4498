"""The validating admission webhook: `kubectl apply` of a broken DAG fails with the reason.

kopf serves the webhook and (with `managed`) keeps a ValidatingWebhookConfiguration named
`validate.dagwright.io` pointing at it. The decisions are `controller.review`'s; this module is
wiring: a self-signed serving certificate (python `cryptography`) and the kopf handlers.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kopf
from pydantic import ValidationError

from dagwright.api.models import GROUP, VERSION, WorkflowSpec
from dagwright.controller.review import review_run, review_workflow

WEBHOOK_CONFIGURATION = f"validate.{GROUP}"


@dataclass
class WebhookConfig:
    """Set by the CLI: where to listen and how the API server reaches us."""

    enabled: bool = False
    listen: str = "0.0.0.0"
    port: int = 9443
    host: str = "127.0.0.1"  # name or IP in the webhook URL the API server calls
    cert_dir: str = "/tmp/dagwright-webhook"
    managed: bool = True


WEBHOOK = WebhookConfig()


def write_self_signed_certificate(directory: str, host: str) -> tuple[str, str]:
    """A serving certificate for `host` (and localhost): (cert path, key path)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName("localhost")]
    try:
        names.append(x509.IPAddress(ipaddress.ip_address(host)))
    except ValueError:
        names.append(x509.DNSName(host))
    if host != "127.0.0.1":
        names.append(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
    now = datetime.datetime.now(datetime.UTC)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=365))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = folder / "tls.crt", folder / "tls.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


def configure(settings: kopf.OperatorSettings) -> None:
    """Point kopf's admission server at our certificate (called at startup when enabled)."""
    cert, key = write_self_signed_certificate(WEBHOOK.cert_dir, WEBHOOK.host)
    settings.admission.server = kopf.WebhookServer(
        addr=WEBHOOK.listen, port=WEBHOOK.port, host=WEBHOOK.host, certfile=cert, pkeyfile=key, cafile=cert)
    if WEBHOOK.managed:
        settings.admission.managed = WEBHOOK_CONFIGURATION


def _refuse(problems: list[str]) -> None:
    if problems:
        raise kopf.AdmissionError("; ".join(problems), code=422)


def register(workflows_cache: Any) -> None:
    """Register the handlers; `workflows_cache()` returns {(ns, name): Workflow} for run checks."""

    @kopf.on.validate(GROUP, VERSION, "workflows", id="workflow", operations=["CREATE", "UPDATE"])
    def validate_workflow(body: Any, namespace: str | None, **_: Any) -> None:
        def lookup(name: str) -> WorkflowSpec | None:
            other = workflows_cache().get((namespace, name))
            try:
                return WorkflowSpec.model_validate(other.get("spec") or {}) if other is not None else None
            except ValidationError:
                return None

        _refuse(review_workflow(dict(body), lookup))

    @kopf.on.validate(GROUP, VERSION, "workflowruns", id="workflowrun", operations=["CREATE"])
    def validate_run(body: Any, namespace: str | None, **_: Any) -> None:
        raw = dict(body)
        ref = ((raw.get("spec") or {}).get("workflowRef") or {}).get("name")
        workflow = workflows_cache().get((namespace, ref)) if ref else None
        _refuse(review_run(raw, workflow))
