"""Follow one object by name: list it, then watch it, yielding each new state as it happens.

What `dagwright watch` needs instead of polling: one GET with the field selector
`metadata.name=NAME`, then a watch from that list's resourceVersion with the same selector, so
the API server sends only this object's changes. A watch the server ends (its timeout) is
re-opened from the last resourceVersion seen; one that is too old (410 Gone) is re-listed;
a dropped connection or a 5xx/429 answer is retried with backoff. Blocking, for the CLI.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from typing import Any

from dagwright.kube.errors import ApiError, Gone, status_error
from dagwright.kube.http import KubeHttp

WATCH_SECONDS = 290
"""The longest one watch request stays open before it is re-opened."""
FIRST_BACKOFF_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 10.0


def _transient(error: Exception) -> bool:
    """A failure worth retrying: the connection, or the API server busy or failing."""
    if isinstance(error, ApiError):
        return error.transient
    return isinstance(error, ConnectionError | TimeoutError)


def follow_object(
    http: KubeHttp,
    path: str,
    name: str,
    deadline: float | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[dict[str, Any] | None]:
    """The object `name` in the collection at `path`, then each changed version of it.

    Yields None when the object does not exist (or was deleted). Ends when `deadline` (a
    `clock()` value) has passed; runs forever without one. Raises ApiError for answers that
    retrying cannot fix (403 Forbidden, 404 for an unknown kind).
    """
    selector = f"metadata.name={name}"
    backoff = FIRST_BACKOFF_SECONDS
    while deadline is None or clock() < deadline:
        try:
            listing = http.request("GET", path, query={"fieldSelector": selector})
            items = listing.get("items") or []
            yield items[0] if items else None
            version = str(listing["metadata"]["resourceVersion"])
            backoff = FIRST_BACKOFF_SECONDS
            while deadline is None or clock() < deadline:
                seconds = WATCH_SECONDS if deadline is None else min(WATCH_SECONDS, math.ceil(deadline - clock()))
                query = {"watch": "true", "fieldSelector": selector, "resourceVersion": version,
                         "allowWatchBookmarks": "true", "timeoutSeconds": max(seconds, 1)}
                for event in http.stream(path, query, max(seconds, 1) + 30):
                    kind, obj = event.get("type"), event.get("object") or {}
                    if kind == "ERROR":
                        raise status_error(obj, "WATCH", path)  # Gone (410): list again
                    version = str((obj.get("metadata") or {}).get("resourceVersion") or version)
                    if kind == "BOOKMARK":
                        continue
                    yield None if kind == "DELETED" else obj
        except Gone:
            continue
        except Exception as error:
            if not _transient(error):
                raise
            sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
