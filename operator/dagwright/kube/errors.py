"""Typed failures of the API layer, read from the Kubernetes `Status` object of an answer.

`api_error` turns a non-2xx answer into one subclass of `ApiError` chosen by the HTTP code and
the Status `reason`, so that callers write `except NotFound` or `except AlreadyExists` instead
of comparing codes or searching messages. Kinds that the code alone does not tell apart are
enums decided here, once: a 409 is `AlreadyExists` (a create of a name that exists) or
`VersionConflict` (a write whose resourceVersion precondition is stale); a 403 carries a
`ForbiddenKind` (quota, a terminating namespace, or a plain refusal). Pure: no I/O.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any, ClassVar


class StatusReason(StrEnum):
    """`Status.reason` values of the Kubernetes API (metav1.StatusReason); UNKNOWN when absent."""

    UNKNOWN = ""
    UNAUTHORIZED = "Unauthorized"
    FORBIDDEN = "Forbidden"
    NOT_FOUND = "NotFound"
    ALREADY_EXISTS = "AlreadyExists"
    CONFLICT = "Conflict"
    GONE = "Gone"
    INVALID = "Invalid"
    SERVER_TIMEOUT = "ServerTimeout"
    TIMEOUT = "Timeout"
    TOO_MANY_REQUESTS = "TooManyRequests"
    BAD_REQUEST = "BadRequest"
    METHOD_NOT_ALLOWED = "MethodNotAllowed"
    NOT_ACCEPTABLE = "NotAcceptable"
    REQUEST_ENTITY_TOO_LARGE = "RequestEntityTooLarge"
    UNSUPPORTED_MEDIA_TYPE = "UnsupportedMediaType"
    INTERNAL_ERROR = "InternalError"
    EXPIRED = "Expired"
    SERVICE_UNAVAILABLE = "ServiceUnavailable"

    @classmethod
    def parse(cls, value: object) -> StatusReason:
        try:
            return cls(str(value or ""))
        except ValueError:
            return cls.UNKNOWN


class ForbiddenKind(StrEnum):
    """Why a 403 was answered: decides whether trying again later can help."""

    QUOTA_EXCEEDED = "QuotaExceeded"  # a ResourceQuota is full: transient, retry later
    NAMESPACE_TERMINATING = "NamespaceTerminating"  # the namespace is being deleted
    DENIED = "Denied"  # RBAC, an admission plugin or webhook: permanent for this request


# The one cause type the API server puts into a 403's Status.details.causes (k8s.io/api/core/v1).
CAUSE_NAMESPACE_TERMINATING = "NamespaceTerminating"
# The ResourceQuota admission plugin answers reason Forbidden with no cause and a fixed message
# format, `<resource> "<name>" is forbidden: exceeded quota: <quota>, requested: …` (or `status
# unknown for quota: …` while the quota controller has not yet counted). The Status object holds
# nothing else that tells a quota refusal from an RBAC one, so these prefixes are the contract;
# they are read here and nowhere else.
_QUOTA_MARKERS = ("exceeded quota:", "status unknown for quota:")


class ApiError(Exception):
    """A non-2xx answer of the API server, or no answer at all (`status` 0).

    `status` is the HTTP code, `reason` the Status object's `reason`, `message` its text,
    `details` its `details` (name, kind, causes, retryAfterSeconds) as sent; `retry_after` the
    seconds the server asked to wait (its `Retry-After` header, else `details.retryAfterSeconds`).
    """

    _TRANSIENT: ClassVar[bool] = False

    def __init__(self, status: int, method: str, path: str, body: str = "",
                 retry_after: float | None = None) -> None:
        self.status = status
        self.method = method
        self.path = path
        self.body = body
        document = _status_object(body)
        self.reason = StatusReason.parse(document.get("reason"))
        self.message = str(document.get("message") or body.strip() or f"HTTP {status}")
        details = document.get("details")
        self.details: dict[str, Any] = details if isinstance(details, dict) else {}
        self.retry_after = retry_after if retry_after is not None else _seconds(self.details.get("retryAfterSeconds"))
        super().__init__(f"{method} {path}: HTTP {status}: {self.message}")

    @property
    def causes(self) -> list[dict[str, Any]]:
        return [c for c in self.details.get("causes") or [] if isinstance(c, dict)]

    @property
    def transient(self) -> bool:
        """Whether the same request may succeed later with nothing changed (throttled, outage, full quota)."""
        return self._TRANSIENT


class BadRequest(ApiError):
    """400: the request itself is malformed."""


class Unauthorized(ApiError):
    """401: the credentials are missing, wrong or expired."""


class Forbidden(ApiError):
    """403: refused; `kind` says whether by a full quota (transient) or for good."""

    @property
    def kind(self) -> ForbiddenKind:
        return forbidden_kind(self.message, self.causes)

    @property
    def transient(self) -> bool:
        return self.kind is ForbiddenKind.QUOTA_EXCEEDED


class NotFound(ApiError):
    """404: no object of that name (or no such resource)."""


class Conflict(ApiError):
    """409 of any kind; see `AlreadyExists` and `VersionConflict`."""


class AlreadyExists(Conflict):
    """409 AlreadyExists: a create of a name that is taken. For a deterministic name: done already."""


class VersionConflict(Conflict):
    """409 Conflict: the object changed since the resourceVersion the write was based on."""


class Gone(ApiError):
    """410 Gone/Expired: the resourceVersion of a list or watch is too old; list again."""


class Invalid(ApiError):
    """422: the object fails validation (schema, CEL rules); `causes` name the fields."""


class TooManyRequests(ApiError):
    """429: the API server's flow control refused the request before handling it."""

    _TRANSIENT = True


class ServerError(ApiError):
    """5xx: the API server (or etcd behind it) failed; a write may or may not have happened."""

    _TRANSIENT = True


class ConnectionFailed(ApiError):
    """No HTTP answer: connection refused or reset, TLS failure, read timeout (`status` 0)."""

    _TRANSIENT = True

    def __init__(self, method: str, path: str, error: BaseException, unsent: bool) -> None:
        super().__init__(0, method, path)
        self.unsent = unsent  # the request surely never reached the server (refused, connect timeout)
        self.message = f"{type(error).__name__}: {error}"
        self.args = (f"{method} {path}: no answer: {self.message}",)


_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest, 401: Unauthorized, 403: Forbidden, 404: NotFound, 410: Gone, 422: Invalid, 429: TooManyRequests,
}


def api_error(status: int, method: str, path: str, body: str, retry_after: float | None = None) -> ApiError:
    """The typed error for an answer with HTTP `status` and `body` (a Status object, usually)."""
    reason = StatusReason.parse(_status_object(body).get("reason"))
    cls: type[ApiError]
    if status == 409:
        cls = AlreadyExists if reason is StatusReason.ALREADY_EXISTS else \
            VersionConflict if reason is StatusReason.CONFLICT else Conflict
    elif status >= 500:
        cls = ServerError
    else:
        cls = _BY_STATUS.get(status, ApiError)
    return cls(status, method, path, body, retry_after)


def status_error(status_object: dict[str, Any], method: str, path: str) -> ApiError:
    """The typed error of a Status object received inside a watch stream (an `ERROR` event)."""
    code = status_object.get("code")
    return api_error(code if isinstance(code, int) and code >= 400 else 500, method, path, json.dumps(status_object))


def forbidden_kind(message: str, causes: list[dict[str, Any]]) -> ForbiddenKind:
    """What kind of 403 a Status with this message and these causes is (pure)."""
    if any(c.get("type") == CAUSE_NAMESPACE_TERMINATING for c in causes):
        return ForbiddenKind.NAMESPACE_TERMINATING
    _subject, forbidden, explanation = message.partition("forbidden: ")
    if forbidden and explanation.startswith(_QUOTA_MARKERS):
        return ForbiddenKind.QUOTA_EXCEEDED
    return ForbiddenKind.DENIED


def parse_retry_after(header: str | None) -> float | None:
    """Seconds from a `Retry-After` header in its delta-seconds form (what the API server sends)."""
    return _seconds(header)


def _seconds(value: object) -> float | None:
    try:
        return float(str(value).strip()) if value is not None and str(value).strip() else None
    except ValueError:
        return None


def _status_object(body: str) -> dict[str, Any]:
    try:
        document = json.loads(body) if body else {}
    except ValueError:
        return {}
    return document if isinstance(document, dict) and document.get("kind", "Status") == "Status" else {}
