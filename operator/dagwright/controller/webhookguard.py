"""Where a notification webhook may point: never at link-local or cloud-metadata addresses, unless allowed.

A webhook URL is written by whoever may create Workflows (or their Secrets) in a watched
namespace, but it is the operator's pod that POSTs to it. Pointed at the node's metadata
service, it would turn the operator into a proxy towards the cloud credentials of the node
(server-side request forgery). So, unless the operator runs with `--allow-link-local-webhooks`
(chart value `notifications.allowLinkLocalWebhooks`), a URL is refused when

- its scheme is not http or https;
- its host is a metadata service's name (`metadata.google.internal`, `instance-data`, …);
- any address its host resolves to is link-local (169.254.0.0/16, fe80::/10: where AWS, GCP,
  Azure, OpenStack and Oracle serve metadata) or a known metadata address elsewhere
  (100.100.100.200 Alibaba, fd00:ec2::254 AWS IPv6, fd20:ce::254 GCP IPv6, 168.63.129.16 Azure
  WireServer, 192.0.0.192 Oracle Classic), also written as an IPv4-mapped or NAT64 IPv6 address.

Every address of the name is checked, and `resolve_target` returns them so that the POST goes
to a checked address (the name stays the Host header and the TLS server name): a DNS answer
that changes between the check and the connection (rebinding) cannot slip past. Loopback and
private networks stay allowed: in-cluster receivers (Alertmanager, chat relays) live there.
Messages name the host, never the URL, whose path often holds a secret token.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

ALLOW_FLAG = "--allow-link-local-webhooks"

LINK_LOCAL_NETWORKS = (ipaddress.ip_network("169.254.0.0/16"), ipaddress.ip_network("fe80::/10"))
METADATA_ADDRESSES = frozenset(ipaddress.ip_address(a) for a in (
    "100.100.100.200",  # Alibaba Cloud
    "fd00:ec2::254",  # AWS, IPv6
    "fd20:ce::254",  # Google Cloud, IPv6
    "168.63.129.16",  # Azure WireServer
    "192.0.0.192",  # Oracle Cloud Classic
))
METADATA_NAMES = frozenset((
    "metadata", "metadata.google.internal", "metadata.goog", "instance-data", "instance-data.ec2.internal",
    "metadata.azure.internal", "metadata.tencentyun.com",
))
NAT64_PREFIX = ipaddress.ip_network("64:ff9b::/96")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[str]]


class Refusal(StrEnum):
    """Why a webhook URL is refused."""

    SCHEME = "scheme"
    METADATA_NAME = "metadata host name"
    LINK_LOCAL = "link-local address"
    METADATA_ADDRESS = "cloud metadata address"


class WebhookRefused(ValueError):
    """The URL points where the operator must not POST; the message says why and how to allow it."""

    def __init__(self, kind: Refusal, message: str) -> None:
        self.kind = kind
        super().__init__(message)


@dataclass(frozen=True)
class WebhookPolicy:
    """What the operator was told to allow (`--allow-link-local-webhooks`)."""

    allow_link_local: bool = False


@dataclass(frozen=True)
class Target:
    """A checked webhook: connect to one of `addresses`, send `host` as Host and TLS server name."""

    scheme: str
    host: str
    port: int
    path: str
    addresses: tuple[str, ...]


def address_refusal(address: Address) -> Refusal | None:
    """Why the operator must not connect to `address`, or None (pure)."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address_refusal(address.ipv4_mapped)
        if address in NAT64_PREFIX:
            return address_refusal(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        address = ipaddress.IPv6Address(address.compressed.split("%")[0])  # without a zone index
    if address in METADATA_ADDRESSES:
        return Refusal.METADATA_ADDRESS
    if any(address in network for network in LINK_LOCAL_NETWORKS):
        return Refusal.LINK_LOCAL
    return None


def getaddrinfo_addresses(host: str, port: int) -> list[str]:
    """Every address `host` resolves to, as the system resolver answers (raises OSError)."""
    seen: dict[str, None] = {}
    for _family, _type, _proto, _name, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        seen.setdefault(str(sockaddr[0]), None)
    return list(seen)


def resolve_target(url: str, policy: WebhookPolicy, resolve: Resolver = getaddrinfo_addresses) -> Target:
    """The checked target of `url`; WebhookRefused when refused, OSError when the name does not resolve."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise WebhookRefused(Refusal.SCHEME, f"a webhook URL must be http or https, not {scheme or 'schemeless'}")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError as error:
        raise WebhookRefused(Refusal.SCHEME, f"the webhook URL has an invalid port: {error}") from None
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise WebhookRefused(Refusal.SCHEME, "the webhook URL has no host")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if not policy.allow_link_local and host in METADATA_NAMES:
        raise WebhookRefused(Refusal.METADATA_NAME, _refused(host, f"{host} is a cloud metadata service"))
    addresses = tuple(resolve(host, port))
    if not addresses:
        raise OSError(f"{host} resolves to no address")
    if not policy.allow_link_local:
        for text in addresses:
            kind = address_refusal(ipaddress.ip_address(text))
            if kind is not None:
                shown = host if text == host else f"{host} ({text})"
                raise WebhookRefused(kind, _refused(host, f"{shown} is a {kind.value}"))
    return Target(scheme, host, port, path, addresses)


def _refused(host: str, why: str) -> str:
    return (f"refused to notify {host}: {why}, where cloud providers serve node credentials; "
            f"start the operator with {ALLOW_FLAG} to allow it")


def connection_kwargs(target: Target) -> dict[str, Any]:
    """urllib3 pool arguments that verify TLS against the name while connecting to the address."""
    if target.scheme != "https":
        return {}
    return {"server_hostname": target.host, "assert_hostname": target.host, "cert_reqs": "CERT_REQUIRED"}
