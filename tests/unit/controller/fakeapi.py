"""An in-memory stand-in for the API server behind `KubeHttp`, for reconciler unit tests.

It speaks the few REST paths the operator uses (Jobs, pods, WorkflowRuns and their status,
Workflows, Secrets, Events) on plain dicts: creates answer 409 for a taken name, GETs 404 for
an absent one, merge patches bump the resourceVersion. Faults are scripted per (verb, resource):
`fail(...)` makes the next calls answer an HTTP error, as a real API server would.
"""

from __future__ import annotations

import copy
import itertools
import json
from collections import defaultdict
from typing import Any

from dagwright.kube.errors import ApiError, api_error

_REASONS = {400: "BadRequest", 403: "Forbidden", 404: "NotFound", 409: "AlreadyExists", 422: "Invalid",
            429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable"}


def _error(status: int, method: str, path: str, message: str) -> ApiError:
    """The typed error the real client raises for this answer (a Status object, as the API server sends)."""
    body = {"kind": "Status", "status": "Failure", "code": status, "reason": _REASONS.get(status, ""), "message": message}
    return api_error(status, method, path, json.dumps(body))


def merge(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """RFC 7386 merge patch."""
    result = dict(target)
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merge(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


class FakeApi:
    """Objects by path; the calls made, in order; scripted failures."""

    def __init__(self) -> None:
        self.objects: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, str]] = []
        self.events: list[dict[str, Any]] = []
        self.logs: dict[str, str] = {}  # pod name -> its main container's log
        self._versions = itertools.count(1)
        self._uids = itertools.count(1)
        self._faults: dict[tuple[str, str], list[tuple[int, str]]] = defaultdict(list)

    # ----------------------------------------------------------------- scripting

    def fail(self, verb: str, resource: str, status: int, message: str = "", times: int = 1) -> None:
        """The next `times` calls of `verb` on `resource` (e.g. "POST", "jobs") answer `status`."""
        self._faults[(verb, resource)] += [(status, message)] * times

    def add(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """Store an object as if someone had created it."""
        body = copy.deepcopy(body)
        meta = body.setdefault("metadata", {})
        meta.setdefault("uid", f"uid-{next(self._uids)}")
        meta["resourceVersion"] = str(next(self._versions))
        meta.setdefault("creationTimestamp", "2026-12-06T00:00:00Z")
        self.objects[path] = body
        return copy.deepcopy(body)

    def jobs(self) -> dict[str, dict[str, Any]]:
        return {b["metadata"]["name"]: b for p, b in self.objects.items() if "/jobs/" in p}

    def set_job_status(self, name: str, status: dict[str, Any]) -> dict[str, Any]:
        path = next(p for p in self.objects if p.endswith(f"/jobs/{name}"))
        body = self.objects[path]
        body["status"] = status
        body["metadata"]["resourceVersion"] = str(next(self._versions))
        return copy.deepcopy(body)

    # ----------------------------------------------------------------- KubeHttp's interface

    def request(self, method: str, path: str, body: Any = None, query: dict[str, Any] | None = None,
                content_type: str = "application/json", timeout: float = 30.0) -> dict[str, Any]:
        resource = _resource(path)
        self.calls.append((method, resource))
        if self._faults[(method, resource)]:
            status, message = self._faults[(method, resource)].pop(0)
            raise _error(status, method, path, message)
        if method == "POST" and resource == "events":
            self.events.append(body)
            return body
        if method == "POST":
            target = f"{path}/{body['metadata']['name']}"
            if target in self.objects:
                raise _error(409, method, path, f"{target} already exists")
            return self.add(target, body)
        subresource = path.endswith("/status")
        target = path.removesuffix("/status")
        if method == "GET" and target not in self.objects and _is_collection(target):
            items = [copy.deepcopy(b) for p, b in self.objects.items()
                     if p.rsplit("/", 1)[0] == target and _selected(b, (query or {}).get("labelSelector"))]
            return {"items": items}
        if target not in self.objects:
            raise _error(404, method, path, f"{target} not found")
        if method == "GET":
            return copy.deepcopy(self.objects[target])
        if method == "PATCH":
            current = self.objects[target]
            if subresource:
                body = {"status": body.get("status", {})}
            updated = merge(current, body)
            updated["metadata"]["resourceVersion"] = str(next(self._versions))
            self.objects[target] = updated
            return copy.deepcopy(updated)
        if method == "DELETE":
            return self.objects.pop(target)
        raise AssertionError(f"unexpected call {method} {path}")

    def text(self, path: str, query: dict[str, Any] | None = None, timeout: float = 30.0) -> str:
        """A pod's log (path .../pods/NAME/log), honouring tailLines and limitBytes as the API server does."""
        self.calls.append(("GET", "pods/log"))
        if self._faults[("GET", "pods/log")]:
            status, message = self._faults[("GET", "pods/log")].pop(0)
            raise _error(status, "GET", path, message)
        if not path.endswith("/log"):
            return ""
        log = self.logs.get(path.split("/")[-2], "")
        query = query or {}
        if "tailLines" in query:
            log = "".join(log.splitlines(keepends=True)[-int(query["tailLines"]):])
        if "limitBytes" in query:
            log = log.encode()[: int(query["limitBytes"])].decode(errors="replace")
        return log


def _resource(path: str) -> str:
    parts = path.strip("/").split("/")
    if "namespaces" in parts and len(parts) > parts.index("namespaces") + 2:
        return parts[parts.index("namespaces") + 2]
    return parts[-1]


def _is_collection(path: str) -> bool:
    parts = path.strip("/").split("/")
    return "namespaces" in parts and len(parts) == parts.index("namespaces") + 3


def _selected(body: dict[str, Any], selector: str | None) -> bool:
    if not selector:
        return True
    labels = body.get("metadata", {}).get("labels") or {}
    for term in selector.split(","):
        key, _, value = term.partition("=")
        if labels.get(key) != value:
            return False
    return True
