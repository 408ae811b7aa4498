"""A small JSON-over-HTTPS client for the Kubernetes API: the only place that opens sockets.

Built on the official client's configuration loader (kubeconfig or in-cluster ServiceAccount)
and urllib3. Bodies go and come as plain dicts: no model (de)serialisation on the hot path.
Blocking by design; the controller calls it from a thread pool.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import urllib3
from kubernetes import config as kube_config
from kubernetes.client import Configuration

JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"


class ApiError(Exception):
    """A non-2xx answer of the API server."""

    def __init__(self, status: int, method: str, path: str, body: str) -> None:
        self.status = status
        self.body = body
        try:
            self.reason = json.loads(body).get("message", body)
        except ValueError:
            self.reason = body
        super().__init__(f"{method} {path}: HTTP {status}: {self.reason}")


def load_configuration(kubeconfig: str | None = None, context: str | None = None) -> Configuration:
    """In-cluster credentials when running in a pod and no kubeconfig is given, else kubeconfig."""
    configuration = Configuration()
    if kubeconfig is None:
        try:
            kube_config.load_incluster_config(client_configuration=configuration)
            return configuration
        except kube_config.ConfigException:
            pass
    kube_config.load_kube_config(config_file=kubeconfig, context=context, client_configuration=configuration)
    return configuration


def authorization(configuration: Configuration) -> str | None:
    """The `Authorization` header value of these credentials (`Bearer …`), refreshed if they expire."""
    if configuration.refresh_api_key_hook is not None:
        configuration.refresh_api_key_hook(configuration)
    token = configuration.get_api_key_with_prefix("authorization") or configuration.get_api_key_with_prefix("BearerToken")
    return str(token) if token else None


class KubeHttp:
    """Blocking JSON requests to one API server, with pooled, thread-safe connections."""

    def __init__(self, configuration: Configuration, max_connections: int = 32) -> None:
        self.configuration = configuration
        self.host = configuration.host.rstrip("/")
        verify = configuration.verify_ssl
        self.pool = urllib3.PoolManager(
            num_pools=2,
            maxsize=max_connections,
            block=True,
            cert_reqs="CERT_REQUIRED" if verify else "CERT_NONE",
            ca_certs=configuration.ssl_ca_cert if verify else None,
            cert_file=configuration.cert_file,
            key_file=configuration.key_file,
            assert_hostname=configuration.tls_server_name or None,
        )
        if not verify:
            urllib3.disable_warnings()

    def _headers(self, content_type: str = JSON) -> dict[str, str]:
        headers = {"Accept": JSON, "Content-Type": content_type, "User-Agent": "dagwright"}
        token = authorization(self.configuration)
        if token:
            headers["Authorization"] = token
        return headers

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: dict[str, Any] | None = None,
        content_type: str = JSON,
        timeout: float = 30.0,
    ) -> dict[str, Any]:
        """One request; the decoded JSON answer, or ApiError."""
        url = self.host + path + ("?" + urlencode(query) if query else "")
        data = json.dumps(body).encode() if body is not None else None
        response = self.pool.request(
            method, url, body=data, headers=self._headers(content_type),
            timeout=urllib3.Timeout(connect=5.0, read=timeout), retries=False,
        )
        if response.status >= 300:
            raise ApiError(response.status, method, path, response.data.decode(errors="replace"))
        return json.loads(response.data) if response.data else {}

    def text(self, path: str, query: dict[str, Any] | None = None, timeout: float = 30.0) -> str:
        """A GET whose answer is plain text (pod logs)."""
        url = self.host + path + ("?" + urlencode(query) if query else "")
        response = self.pool.request("GET", url, headers=self._headers(), retries=False,
                                     timeout=urllib3.Timeout(connect=5.0, read=timeout))
        if response.status >= 300:
            raise ApiError(response.status, "GET", path, response.data.decode(errors="replace"))
        return response.data.decode(errors="replace")

    def stream(self, path: str, query: dict[str, Any], timeout: float) -> Iterator[dict[str, Any]]:
        """A watch: yields each event dict until the server closes the stream."""
        url = self.host + path + "?" + urlencode(query)
        response = self.pool.request(
            "GET", url, headers=self._headers(), preload_content=False,
            timeout=urllib3.Timeout(connect=5.0, read=timeout), retries=False,
        )
        try:
            if response.status >= 300:
                raise ApiError(response.status, "GET", path, response.data.decode(errors="replace"))
            buffer = b""
            for chunk in response.stream(64 * 1024, decode_content=True):
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if line.strip():
                        yield json.loads(line)
        finally:
            response.release_conn()
