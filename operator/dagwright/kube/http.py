"""A small JSON-over-HTTPS client for the Kubernetes API: the only place that opens sockets.

Built on the official client's configuration loader (kubeconfig or in-cluster ServiceAccount)
and urllib3. Bodies go and come as plain dicts: no model (de)serialisation on the hot path.
Blocking by design; the controller calls it from a thread pool. Every failure is raised as a
typed `ApiError` (`kube.errors`); what is retried, and for how long, is `kube.retry`'s decision.
Why this client exists next to kopf's, and what it must not do: docs/http-client.md.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode

import urllib3
from kubernetes import config as kube_config
from kubernetes.client import Configuration

from dagwright.kube.errors import ApiError, ConnectionFailed, ServerError, TooManyRequests, api_error, parse_retry_after
from dagwright.kube.retry import DEFAULT_RETRY, RetryPolicy, replay_safe, retry_delay

log = logging.getLogger("dagwright.http")

JSON = "application/json"
CONNECT_TIMEOUT_SECONDS = 5.0


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
    """Blocking JSON requests to one API server, with pooled, thread-safe connections.

    Every failure is an `ApiError` subclass (`dagwright.kube.errors`); throttling, outages and
    5xx answers are retried as `dagwright.kube.retry` decides, within `retry.budget` seconds.
    """

    def __init__(self, configuration: Configuration, max_connections: int = 32,
                 retry: RetryPolicy = DEFAULT_RETRY, sleep: Callable[[float], None] = time.sleep) -> None:
        self.configuration = configuration
        self.host = configuration.host.rstrip("/")
        self.retry = retry
        self._sleep = sleep
        self._trouble_since: float | None = None  # the first 5xx or transport failure since a sound answer
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
        retry: RetryPolicy | None = None,
    ) -> dict[str, Any]:
        """One call (retried as the policy allows); the decoded JSON answer, or an ApiError."""
        data = json.dumps(body).encode() if body is not None else None
        safe = replay_safe(method, body, content_type)
        answer = self._send(method, path, query, data, content_type, timeout, safe, retry or self.retry)
        return json.loads(answer) if answer else {}

    def text(self, path: str, query: dict[str, Any] | None = None, timeout: float = 30.0) -> str:
        """A GET whose answer is plain text (pod logs)."""
        return self._send("GET", path, query, None, JSON, timeout, True, self.retry).decode(errors="replace")

    def _send(self, method: str, path: str, query: dict[str, Any] | None, data: bytes | None, content_type: str,
              timeout: float, safe: bool, policy: RetryPolicy) -> bytes:
        url = self.host + path + ("?" + urlencode(query) if query else "")
        started = time.monotonic()
        tries = 0
        while True:
            tries += 1
            try:
                answer = self._once(method, path, url, data, content_type, timeout)
                self._trouble_since = None
                return answer
            except ApiError as error:
                now = time.monotonic()
                if isinstance(error, ConnectionFailed | ServerError):
                    self._trouble_since = self._trouble_since or now
                elif not isinstance(error, TooManyRequests):
                    self._trouble_since = None  # a sound answer, if not a welcome one
                trouble = now - self._trouble_since if self._trouble_since is not None else 0.0
                delay = retry_delay(policy, error, tries, now - started, safe, random.random, trouble)
                if delay is None:
                    raise
                log.info("%s %s: %s; trying again in %.2fs", method, path, error.message, delay)
                self._sleep(delay)

    def _once(self, method: str, path: str, url: str, data: bytes | None, content_type: str, timeout: float) -> bytes:
        try:
            response = self.pool.request(
                method, url, body=data, headers=self._headers(content_type),
                timeout=urllib3.Timeout(connect=CONNECT_TIMEOUT_SECONDS, read=timeout), retries=False,
            )
        except urllib3.exceptions.HTTPError as error:
            raise _no_answer(method, path, error) from error
        if response.status >= 300:
            raise api_error(response.status, method, path, response.data.decode(errors="replace"),
                            parse_retry_after(response.headers.get("Retry-After")))
        return bytes(response.data)

    def stream(self, path: str, query: dict[str, Any], timeout: float) -> Iterator[dict[str, Any]]:
        """A watch: yields each event dict until the server closes the stream. Sent once, never retried
        (the watch loop relists and watches again); failures are ApiErrors like the others'."""
        url = self.host + path + "?" + urlencode(query)
        try:
            response = self.pool.request(
                "GET", url, headers=self._headers(), preload_content=False,
                timeout=urllib3.Timeout(connect=CONNECT_TIMEOUT_SECONDS, read=timeout), retries=False,
            )
        except urllib3.exceptions.HTTPError as error:
            raise _no_answer("GET", path, error) from error
        try:
            if response.status >= 300:
                raise api_error(response.status, "GET", path, response.data.decode(errors="replace"),
                                parse_retry_after(response.headers.get("Retry-After")))
            buffer = b""
            try:
                for chunk in response.stream(64 * 1024, decode_content=True):
                    buffer += chunk
                    while b"\n" in buffer:
                        line, buffer = buffer.split(b"\n", 1)
                        if line.strip():
                            yield json.loads(line)
            except urllib3.exceptions.HTTPError as error:
                raise _no_answer("GET", path, error) from error
        finally:
            response.release_conn()


def _no_answer(method: str, path: str, error: urllib3.exceptions.HTTPError) -> ConnectionFailed:
    """A transport failure; `unsent` when no byte of the request can have reached the server."""
    return ConnectionFailed(method, path, error, unsent=isinstance(error, urllib3.exceptions.ConnectTimeoutError))
