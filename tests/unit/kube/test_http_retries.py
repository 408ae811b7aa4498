"""Which calls the client sends again, how long it waits, and that it gives up in bounded time.

Against a real HTTP server on 127.0.0.1 that answers from a script (no mock of the client).
"""

from __future__ import annotations

import time

import pytest

from dagwright.kube import resources
from dagwright.kube.errors import AlreadyExists, ConnectionFailed, Forbidden, ServerError, TooManyRequests
from dagwright.kube.http import KubeHttp
from dagwright.kube.retry import MERGE_PATCH, RetryPolicy

from .scripted import Answer, ScriptedApiServer, status

FAST = RetryPolicy(attempts=5, first_backoff=0.01, max_backoff=0.05, max_retry_after=5.0, budget=5.0)
UNAVAILABLE = Answer(503, status(503, "ServiceUnavailable", "etcd is down"))
INTERNAL = Answer(500, status(500, "InternalError", "etcdserver: leader changed"))
THROTTLED = Answer(429, status(429, "TooManyRequests", "Too many requests, please try again later."),
                   {"Retry-After": "1"})
OK = Answer(200, {"kind": "Job", "metadata": {"name": "r-a-1"}})
CREATED = Answer(201, {"kind": "Job", "metadata": {"name": "r-a-1"}})
HANG_UP = Answer(hang_up=True)
NAMED_JOB = {"metadata": {"name": "r-a-1", "namespace": "ns"}}
EVENT = {"metadata": {"generateName": "r.", "namespace": "ns"}}


def client(server: ScriptedApiServer, policy: RetryPolicy = FAST) -> KubeHttp:
    return KubeHttp(server.configuration(), retry=policy)


def test_a_get_answered_5xx_is_retried_until_it_succeeds():
    with ScriptedApiServer(UNAVAILABLE, INTERNAL, OK) as server:
        assert client(server).request("GET", "/apis/batch/v1/namespaces/ns/jobs/r-a-1")["metadata"]["name"] == "r-a-1"
    assert server.methods() == ["GET"] * 3


def test_a_429_is_retried_after_the_servers_retry_after():
    with ScriptedApiServer(THROTTLED, OK) as server:
        client(server).request("GET", "/apis/batch/v1/namespaces/ns/jobs")
    assert len(server.seen) == 2 and next(server.gaps()) >= 0.95


def test_a_long_retry_after_is_capped():
    policy = RetryPolicy(attempts=3, first_backoff=0.01, max_retry_after=0.2, budget=5.0)
    with ScriptedApiServer(Answer(429, status(429, "TooManyRequests", "slow down"), {"Retry-After": "3600"}), OK) as server:
        started = time.monotonic()
        client(server, policy).request("GET", "/api/v1/pods")
    assert len(server.seen) == 2 and time.monotonic() - started < 3.0


def test_a_429_is_retried_even_for_a_post_that_must_not_run_twice():
    throttled = Answer(429, status(429, "TooManyRequests", "throttled"), {"Retry-After": "0"})
    with ScriptedApiServer(throttled, CREATED) as server:
        client(server).request("POST", "/api/v1/namespaces/ns/events", EVENT)
    assert server.methods() == ["POST", "POST"]


def test_a_post_with_generate_name_answered_5xx_is_not_sent_twice():
    with ScriptedApiServer(INTERNAL, CREATED) as server:
        with pytest.raises(ServerError):
            client(server).request("POST", "/api/v1/namespaces/ns/events", EVENT)
    assert server.methods() == ["POST"]


def test_a_named_create_whose_first_try_landed_ends_in_already_exists_on_the_retry():
    """The 504 came after etcd stored the Job: the retry's 409 tells the caller it exists (adopt it)."""
    timeout = Answer(504, status(504, "Timeout", "Timeout: request did not complete within requested timeout"))
    exists = Answer(409, status(409, "AlreadyExists", 'jobs.batch "r-a-1" already exists'))
    with ScriptedApiServer(timeout, exists) as server:
        with pytest.raises(AlreadyExists):
            resources.create_job(client(server), NAMED_JOB)
    assert server.methods() == ["POST", "POST"] and server.seen[1].body == NAMED_JOB


def test_a_merge_patch_is_retried_and_a_json_patch_is_not():
    with ScriptedApiServer(INTERNAL, OK) as server:
        resources.suspend_job(client(server), "ns", "r-a-1")
    assert server.methods() == ["PATCH", "PATCH"]
    with ScriptedApiServer(INTERNAL, OK) as server:
        with pytest.raises(ServerError):
            client(server).request("PATCH", "/apis/batch/v1/namespaces/ns/jobs/r-a-1",
                                   [{"op": "add", "path": "/metadata/labels/x", "value": "y"}],
                                   content_type="application/json-patch+json")
    assert server.methods() == ["PATCH"]


def test_a_full_quota_is_not_retried_by_the_client_but_left_to_the_next_pass():
    quota = Answer(403, status(403, "Forbidden", 'jobs.batch "r-a-1" is forbidden: exceeded quota: q, requested: '
                                                 "count/jobs.batch=1, used: count/jobs.batch=1, limited: count/jobs.batch=1"))
    with ScriptedApiServer(quota, CREATED) as server:
        with pytest.raises(Forbidden) as raised:
            resources.create_job(client(server), NAMED_JOB)
    assert raised.value.transient and server.methods() == ["POST"]


def test_an_outage_gives_up_after_the_attempts():
    policy = RetryPolicy(attempts=3, first_backoff=0.01, max_backoff=0.01, budget=30.0)
    with ScriptedApiServer(UNAVAILABLE) as server:
        with pytest.raises(ServerError):
            client(server, policy).request("GET", "/api/v1/pods")
    assert len(server.seen) == 3


def test_an_outage_gives_up_within_the_time_budget():
    policy = RetryPolicy(attempts=1000, first_backoff=0.05, max_backoff=0.1, budget=0.6)
    with ScriptedApiServer(UNAVAILABLE) as server:
        started = time.monotonic()
        with pytest.raises(ServerError):
            client(server, policy).request("GET", "/api/v1/pods")
        took = time.monotonic() - started
    assert 0.3 < took < 3.0 and 3 <= len(server.seen) < 30


def test_in_an_outage_longer_than_the_budget_calls_fail_fast_until_the_server_answers_again():
    policy = RetryPolicy(attempts=100, first_backoff=0.02, max_backoff=0.05, budget=0.3)
    with ScriptedApiServer(UNAVAILABLE) as server:
        http = client(server, policy)
        with pytest.raises(ServerError):
            http.request("GET", "/api/v1/pods")  # retried for the budget
        first = len(server.seen)
        time.sleep(0.1)  # the outage now lasts longer than the budget (the first call may stop a wait short of it)
        with pytest.raises(ServerError):
            http.request("GET", "/api/v1/pods")  # in trouble for longer than the budget: at once
        assert first > 3 and len(server.seen) == first + 1
        server.script = [OK, UNAVAILABLE, OK]
        http.request("GET", "/api/v1/pods")  # a sound answer ends the trouble
        http.request("GET", "/api/v1/pods")  # so a 503 is retried again
        assert len(server.seen) == first + 4


def test_waits_grow_exponentially_with_jitter():
    policy = RetryPolicy(attempts=6, first_backoff=0.04, max_backoff=0.16, budget=10.0)
    waits: list[float] = []
    with ScriptedApiServer(UNAVAILABLE) as server:
        http = KubeHttp(server.configuration(), retry=policy, sleep=lambda s: (waits.append(s), time.sleep(s)))
        with pytest.raises(ServerError):
            http.request("GET", "/api/v1/pods")
    nominal = [0.04, 0.08, 0.16, 0.16, 0.16]
    assert len(waits) == 5 and all(n / 2 <= w <= n for w, n in zip(waits, nominal, strict=True))


def test_a_connection_dropped_mid_request_is_retried_for_a_get():
    with ScriptedApiServer(HANG_UP, OK) as server:
        assert client(server).request("GET", "/apis/batch/v1/namespaces/ns/jobs/r-a-1")
    assert server.methods() == ["GET", "GET"]


def test_a_connection_dropped_mid_request_is_not_retried_for_a_post_with_generate_name():
    with ScriptedApiServer(HANG_UP, CREATED) as server:
        with pytest.raises(ConnectionFailed) as raised:
            client(server).request("POST", "/api/v1/namespaces/ns/events", EVENT)
    assert not raised.value.unsent and server.methods() == ["POST"]


def test_a_refused_connection_is_retried_even_for_a_post_since_nothing_was_sent():
    with ScriptedApiServer() as server:
        configuration = server.configuration()
    waits: list[float] = []
    http = KubeHttp(configuration, retry=FAST, sleep=waits.append)
    with pytest.raises(ConnectionFailed) as raised:
        http.request("POST", "/api/v1/namespaces/ns/events", EVENT)
    assert raised.value.unsent and len(waits) == FAST.attempts - 1


def test_pod_logs_are_retried_like_any_get():
    with ScriptedApiServer(UNAVAILABLE, Answer(200, b"hello\n")) as server:
        assert resources.pod_log(client(server), "ns", "p") == "hello\n"
    assert len(server.seen) == 2


def test_a_429_without_retry_after_backs_off_and_gives_up_as_too_many_requests():
    policy = RetryPolicy(attempts=2, first_backoff=0.01, budget=5.0)
    with ScriptedApiServer(Answer(429, status(429, "TooManyRequests", "no"))) as server:
        with pytest.raises(TooManyRequests):
            client(server, policy).request("DELETE", "/apis/dagwright.io/v1alpha1/namespaces/ns/workflowruns/r",
                                           content_type=MERGE_PATCH)
    assert server.methods() == ["DELETE", "DELETE"]
