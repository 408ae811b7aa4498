"""The retry decisions as tables: which requests may be sent twice, and what waits how long."""

from __future__ import annotations

import pytest

from dagwright.kube.errors import (
    AlreadyExists,
    ConnectionFailed,
    Forbidden,
    NotFound,
    ServerError,
    TooManyRequests,
    VersionConflict,
)
from dagwright.kube.retry import MERGE_PATCH, RetryPolicy, replay_safe, retry_delay

JSON = "application/json"
NAMED = {"metadata": {"name": "r-a-1"}}


@pytest.mark.parametrize(("method", "body", "content_type", "safe"), [
    pytest.param("GET", None, JSON, True, id="a GET may be sent twice"),
    pytest.param("DELETE", {"propagationPolicy": "Background"}, JSON, True, id="a DELETE may (the repeat answers 404)"),
    pytest.param("PATCH", {"spec": {"suspend": True}}, MERGE_PATCH, True, id="a merge PATCH may (it sets values)"),
    pytest.param("PATCH", [{"op": "add"}], "application/json-patch+json", False, id="a JSON patch may not"),
    pytest.param("PATCH", {}, "application/strategic-merge-patch+json", False, id="a strategic merge patch may not"),
    pytest.param("POST", NAMED, JSON, True, id="a POST of a named object may (the repeat answers 409)"),
    pytest.param("POST", {"metadata": {"generateName": "r."}}, JSON, False, id="a POST with generateName may not"),
    pytest.param("POST", {"metadata": {"name": "x", "generateName": "r."}}, JSON, False,
                 id="a POST with both name and generateName may not"),
    pytest.param("PUT", {"metadata": {"name": "x", "resourceVersion": "81"}}, JSON, True,
                 id="a PUT with a resourceVersion may (the repeat answers 409 Conflict)"),
    pytest.param("PUT", NAMED, JSON, False, id="a PUT without a resourceVersion may not"),
])
def test_which_requests_may_be_sent_twice(method, body, content_type, safe):
    assert replay_safe(method, body, content_type) is safe


POLICY = RetryPolicy(attempts=4, first_backoff=1.0, max_backoff=4.0, max_retry_after=10.0, budget=30.0)


def error(kind, **extra):
    if kind is ConnectionFailed:
        return ConnectionFailed("GET", "/x", OSError("refused"), unsent=extra.get("unsent", False))
    return kind(extra.get("status", 500), "GET", "/x", "", extra.get("retry_after"))


@pytest.mark.parametrize(("failure", "safe", "tries", "elapsed", "expected"), [
    pytest.param(error(ServerError), True, 1, 0.0, 1.0, id="5xx of a safe request: first backoff"),
    pytest.param(error(ServerError), True, 3, 0.0, 4.0, id="5xx: the backoff doubles each try"),
    pytest.param(error(ServerError), True, 4, 0.0, None, id="5xx: no try beyond the attempts"),
    pytest.param(error(ServerError), False, 1, 0.0, None, id="5xx of an unsafe request: never"),
    pytest.param(error(TooManyRequests, status=429, retry_after=3.0), False, 1, 0.0, 3.0,
                 id="429 of an unsafe request: after Retry-After"),
    pytest.param(error(TooManyRequests, status=429, retry_after=120.0), True, 1, 0.0, 10.0,
                 id="429 with a long Retry-After: capped"),
    pytest.param(error(TooManyRequests, status=429), True, 2, 0.0, 2.0, id="429 without Retry-After: the backoff"),
    pytest.param(error(ServerError, status=503, retry_after=2.0), True, 1, 0.0, 2.0, id="503 with Retry-After: honoured"),
    pytest.param(error(ConnectionFailed, unsent=True), False, 1, 0.0, 1.0, id="nothing sent: retried even if unsafe"),
    pytest.param(error(ConnectionFailed), False, 1, 0.0, None, id="dropped mid-request, unsafe: never"),
    pytest.param(error(ConnectionFailed), True, 1, 0.0, 1.0, id="dropped mid-request, safe: retried"),
    pytest.param(error(ServerError), True, 2, 28.5, None, id="5xx: no wait that would pass the budget"),
    pytest.param(error(NotFound, status=404), True, 1, 0.0, None, id="404: never"),
    pytest.param(error(AlreadyExists, status=409), True, 1, 0.0, None, id="409 AlreadyExists: never"),
    pytest.param(error(VersionConflict, status=409), True, 1, 0.0, None, id="409 Conflict: never (re-read first)"),
    pytest.param(error(Forbidden, status=403), True, 1, 0.0, None, id="403: never, even a full quota"),
])
def test_what_is_retried_and_after_how_long(failure, safe, tries, elapsed, expected):
    assert retry_delay(POLICY, failure, tries, elapsed, safe, rand=lambda: 1.0) == expected  # no jitter: nominal


@pytest.mark.parametrize(("failure", "expected"), [
    pytest.param(error(ServerError), None, id="5xx: not retried"),
    pytest.param(error(ConnectionFailed, unsent=True), None, id="no connection: not retried"),
    pytest.param(error(TooManyRequests, status=429, retry_after=3.0), 3.0, id="429: still retried after Retry-After"),
])
def test_once_the_server_has_been_in_trouble_longer_than_the_budget(failure, expected):
    assert retry_delay(POLICY, failure, 1, 0.0, True, rand=lambda: 1.0, trouble=POLICY.budget + 1) == expected


def test_jitter_keeps_each_wait_between_half_and_all_of_the_nominal_backoff():
    low = retry_delay(POLICY, error(ServerError), 2, 0.0, True, rand=lambda: 0.0)
    high = retry_delay(POLICY, error(ServerError), 2, 0.0, True, rand=lambda: 0.999999)
    assert low == 1.0 and 1.99 < high < 2.0
