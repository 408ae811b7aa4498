"""What a caller catches: each failure of the API server as its own `ApiError` subclass.

The answers are sent by a real HTTP server on 127.0.0.1 in the exact shape of the API server's
Status objects; the client under test is the operator's own `KubeHttp`, unchanged.
"""

from __future__ import annotations

import pytest

from dagwright.kube import resources
from dagwright.kube.errors import (
    AlreadyExists,
    ApiError,
    BadRequest,
    Conflict,
    ConnectionFailed,
    Forbidden,
    ForbiddenKind,
    Gone,
    Invalid,
    NotFound,
    ServerError,
    StatusReason,
    TooManyRequests,
    Unauthorized,
    VersionConflict,
    status_error,
)
from dagwright.kube.http import KubeHttp
from dagwright.kube.retry import NO_RETRY

from .scripted import Answer, ScriptedApiServer, status

QUOTA_MESSAGE = ('jobs.batch "r-a-1" is forbidden: exceeded quota: jobs, requested: count/jobs.batch=1, '
                 'used: count/jobs.batch=1, limited: count/jobs.batch=1')
RBAC_MESSAGE = ('jobs.batch is forbidden: User "system:serviceaccount:x:dagwright" cannot create resource "jobs" '
                'in API group "batch" in the namespace "quota"')
WEBHOOK_MESSAGE = 'admission webhook "deny.example.com" denied the request: jobs may not mention quota'

CASES = [
    pytest.param(404, status(404, "NotFound", 'jobs.batch "x" not found'), NotFound, StatusReason.NOT_FOUND,
                 id="404 NotFound is NotFound"),
    pytest.param(409, status(409, "AlreadyExists", 'jobs.batch "x" already exists'), AlreadyExists,
                 StatusReason.ALREADY_EXISTS, id="409 AlreadyExists (a create of a taken name) is AlreadyExists"),
    pytest.param(409, status(409, "Conflict", "the object has been modified; please apply your changes to the latest "
                                              "version and try again"), VersionConflict, StatusReason.CONFLICT,
                 id="409 Conflict (a stale resourceVersion) is VersionConflict, not AlreadyExists"),
    pytest.param(403, status(403, "Forbidden", QUOTA_MESSAGE), Forbidden, StatusReason.FORBIDDEN,
                 id="403 of a full quota is Forbidden"),
    pytest.param(401, status(401, "Unauthorized", "Unauthorized"), Unauthorized, StatusReason.UNAUTHORIZED,
                 id="401 is Unauthorized"),
    pytest.param(400, status(400, "BadRequest", "bad"), BadRequest, StatusReason.BAD_REQUEST, id="400 is BadRequest"),
    pytest.param(422, status(422, "Invalid", 'Job.batch "x" is invalid: spec.template: Required value',
                             causes=[{"field": "spec.template", "reason": "FieldValueRequired"}]),
                 Invalid, StatusReason.INVALID, id="422 is Invalid"),
    pytest.param(410, status(410, "Expired", "too old resource version"), Gone, StatusReason.EXPIRED,
                 id="410 Expired is Gone"),
    pytest.param(429, status(429, "TooManyRequests", "Too many requests"), TooManyRequests,
                 StatusReason.TOO_MANY_REQUESTS, id="429 is TooManyRequests"),
    pytest.param(500, status(500, "InternalError", "etcdserver: request timed out"), ServerError,
                 StatusReason.INTERNAL_ERROR, id="500 is ServerError"),
    pytest.param(504, status(504, "Timeout", "request did not complete"), ServerError, StatusReason.TIMEOUT,
                 id="504 is ServerError"),
    pytest.param(502, b"<html>bad gateway</html>", ServerError, StatusReason.UNKNOWN,
                 id="502 from a proxy without a Status object is ServerError with an unknown reason"),
]


@pytest.mark.parametrize(("code", "body", "kind", "reason"), CASES)
def test_each_failure_is_raised_as_its_type_with_its_status_reason_and_message(code, body, kind, reason):
    with ScriptedApiServer(Answer(code, body)) as server:
        http = KubeHttp(server.configuration(), retry=NO_RETRY)
        with pytest.raises(kind) as raised:
            http.request("GET", "/apis/batch/v1/namespaces/x/jobs/x")
    error = raised.value
    assert isinstance(error, ApiError) and type(error) is kind
    assert (error.status, error.reason) == (code, reason)
    expected = body["message"] if isinstance(body, dict) else body.decode()
    assert error.message == expected and expected in str(error)


def test_already_exists_and_a_version_conflict_are_both_conflicts_but_distinguishable():
    assert issubclass(AlreadyExists, Conflict) and issubclass(VersionConflict, Conflict)
    assert not issubclass(AlreadyExists, VersionConflict) and not issubclass(VersionConflict, AlreadyExists)


FORBIDDEN = [
    pytest.param(status(403, "Forbidden", QUOTA_MESSAGE, name="r-a-1", group="batch", kind="jobs"),
                 ForbiddenKind.QUOTA_EXCEEDED, True, id="a full quota: transient"),
    pytest.param(status(403, "Forbidden", 'jobs.batch "r-a-1" is forbidden: status unknown for quota: jobs, '
                                          "resource: count/jobs.batch"),
                 ForbiddenKind.QUOTA_EXCEEDED, True, id="a quota not counted yet: transient"),
    pytest.param(status(403, "Forbidden", RBAC_MESSAGE), ForbiddenKind.DENIED, False, id="RBAC: permanent"),
    pytest.param(status(403, "Forbidden", f'jobs.batch "r-a-1" is forbidden: {WEBHOOK_MESSAGE}'),
                 ForbiddenKind.DENIED, False, id="a webhook whose message mentions quota: permanent"),
    pytest.param(status(403, "Forbidden", 'jobs.batch "r-a-1" is forbidden: unable to create new content in '
                                          "namespace q because it is being terminated",
                        causes=[{"reason": "NamespaceTerminating", "type": "NamespaceTerminating",
                                 "message": "namespace q is being terminated"}]),
                 ForbiddenKind.NAMESPACE_TERMINATING, False, id="a terminating namespace (its Status cause)"),
]


@pytest.mark.parametrize(("body", "kind", "transient"), FORBIDDEN)
def test_a_403_says_what_kind_of_refusal_it_is(body, kind, transient):
    with ScriptedApiServer(Answer(403, body)) as server:
        with pytest.raises(Forbidden) as raised:
            KubeHttp(server.configuration(), retry=NO_RETRY).request("POST", "/apis/batch/v1/namespaces/q/jobs", {})
    assert (raised.value.kind, raised.value.transient) == (kind, transient)


def test_no_answer_at_all_is_connection_failed_with_status_0():
    with ScriptedApiServer() as server:
        configuration = server.configuration()
    http = KubeHttp(configuration, retry=NO_RETRY)  # the server is shut down: connection refused
    with pytest.raises(ConnectionFailed) as raised:
        http.request("GET", "/api/v1/namespaces")
    assert raised.value.status == 0 and raised.value.unsent and raised.value.transient


def test_a_watch_error_event_of_410_is_gone():
    error = status_error(status(410, "Expired", "too old resource version: 5 (10)"), "WATCH", "/apis/batch/v1/jobs")
    assert isinstance(error, Gone) and error.reason is StatusReason.EXPIRED


def test_a_watch_answered_410_raises_gone_before_any_event():
    with ScriptedApiServer(Answer(410, status(410, "Gone", "gone"))) as server:
        with pytest.raises(Gone):
            list(KubeHttp(server.configuration()).stream("/apis/batch/v1/jobs", {"watch": "true"}, 5))


def test_resource_helpers_read_not_found_as_absent_and_raise_the_rest():
    with ScriptedApiServer(Answer(404, status(404, "NotFound", "nope")),
                           Answer(403, status(403, "Forbidden", RBAC_MESSAGE))) as server:
        http = KubeHttp(server.configuration(), retry=NO_RETRY)
        assert resources.get_job(http, "x", "gone") is None
        with pytest.raises(Forbidden):
            resources.get_job(http, "x", "secret")
