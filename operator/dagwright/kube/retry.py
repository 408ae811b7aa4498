"""When the HTTP client sends a request again, and how long it waits first (pure decisions).

Which requests are safe to send twice (`replay_safe`):

- GET, HEAD and DELETE: reading changes nothing; a repeated delete answers 404, which every
  caller already reads as "gone".
- PATCH as a JSON merge patch (RFC 7386): it sets values, so applying it twice gives what
  applying it once gives. (A JSON patch, whose `add` appends, is not replayed.)
- PUT carrying `metadata.resourceVersion`: a repeat after the first one landed answers 409
  Conflict instead of writing twice. A PUT without it is not replayed.
- POST of a named object (`metadata.name`, no `generateName`): a repeat after the first one
  landed answers 409 AlreadyExists, which the callers read as "already done" (Job names and
  scheduled run names are deterministic). A POST with `generateName` (Events) is not replayed:
  it would create a second object.

What is retried (`retry_delay`):

- 429 TooManyRequests, for any request: the server refused it before handling it. The wait is
  the server's `Retry-After` (capped at `max_retry_after`), else the backoff.
- No connection at all (refused, connect timeout), for any request: nothing was sent.
- 5xx and other transport failures (reset, read timeout) only for a replay-safe request:
  the first one may have been carried out.
- Nothing else: 4xx answers (a full quota included) are decisions the caller makes.

Waits grow exponentially from `first_backoff` to `max_backoff` with jitter (each wait is
between half and all of the nominal one, so that many clients do not retry in step), and no
new try starts once `budget` seconds have passed since the first: a call never blocks its
caller much longer than `budget` plus one request timeout. And once the server has answered
nothing but 5xx or nothing at all for longer than `budget` (`trouble`, measured by the client
over all its calls), 5xx and transport failures are no longer retried: in an outage, a pass
that creates a thousand Jobs fails fast and is requeued instead of holding every thread.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dagwright.kube.errors import ApiError, ConnectionFailed, ServerError, TooManyRequests

MERGE_PATCH = "application/merge-patch+json"


@dataclass(frozen=True)
class RetryPolicy:
    """How hard one call tries. `NO_RETRY` sends once."""

    attempts: int = 5
    first_backoff: float = 0.2
    max_backoff: float = 2.0
    max_retry_after: float = 10.0
    budget: float = 10.0


DEFAULT_RETRY = RetryPolicy()
NO_RETRY = RetryPolicy(attempts=1)


def replay_safe(method: str, body: Any, content_type: str) -> bool:
    """Whether sending this request twice has the effect of sending it once (see the module doc)."""
    method = method.upper()
    if method in ("GET", "HEAD", "DELETE"):
        return True
    if method == "PATCH":
        return content_type == MERGE_PATCH
    meta = body.get("metadata") if isinstance(body, dict) else None
    if not isinstance(meta, dict):
        return False
    if method == "PUT":
        return bool(meta.get("resourceVersion"))
    if method == "POST":
        return bool(meta.get("name")) and not meta.get("generateName")
    return False


def retry_delay(policy: RetryPolicy, error: ApiError, tries: int, elapsed: float, safe: bool,
                rand: Callable[[], float], trouble: float = 0.0) -> float | None:
    """Seconds to wait before try number `tries + 1`, or None to give up and raise `error`.

    `tries` counts the tries made so far (1 after the first), `elapsed` the seconds since the
    first began, `safe` is `replay_safe` of the request, `rand()` a number in [0, 1), `trouble`
    the seconds since the server last gave a sound answer (0 when its last answer was sound).
    """
    if tries >= policy.attempts:
        return None
    if isinstance(error, ConnectionFailed | ServerError) and trouble > policy.budget:
        return None
    if isinstance(error, TooManyRequests):
        pass
    elif isinstance(error, ConnectionFailed):
        if not (safe or error.unsent):
            return None
    elif not (isinstance(error, ServerError) and safe):
        return None
    if error.retry_after is not None and isinstance(error, TooManyRequests | ServerError):
        delay = min(max(error.retry_after, 0.0), policy.max_retry_after)
    else:
        nominal = min(policy.max_backoff, policy.first_backoff * 2 ** (tries - 1))
        delay = nominal * (0.5 + rand() / 2)
    if elapsed + delay > policy.budget:
        return None
    return delay

