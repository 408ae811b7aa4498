"""A resilient list-then-watch loop for one kind of object, filtered by label on the server.

Runs in a daemon thread per namespace (or one for all namespaces): lists, hands the items to
`on_list`, then streams changes to `on_event` until told to stop; relists after 410 Gone and
backs off on errors. Knows nothing of what the objects mean. The resourceVersion it resumes
from is whatever the server last sent, passed back as an opaque string, never compared.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from dagwright.kube.errors import Gone, status_error
from dagwright.kube.http import KubeHttp

log = logging.getLogger("dagwright.watch")

WATCH_TIMEOUT_SECONDS = 290
ListHandler = Callable[[str | None, list[dict[str, Any]]], None]
EventHandler = Callable[[str, dict[str, Any]], None]


class LabelWatch:
    """List and watch `path_of(namespace)` with `selector`, for each namespace (None = all)."""

    def __init__(self, http: KubeHttp, name: str, path_of: Callable[[str | None], str], selector: str,
                 namespaces: list[str] | None, on_list: ListHandler, on_event: EventHandler) -> None:
        self.http = http
        self.name = name
        self.path_of = path_of
        self.selector = selector
        self.namespaces = namespaces
        self.on_list = on_list
        self.on_event = on_event
        self._stopping = threading.Event()

    def start(self) -> None:
        for namespace in self.namespaces or (None,):
            threading.Thread(target=self._run, args=(namespace,), daemon=True,
                             name=f"{self.name}-{namespace or 'all'}").start()

    def stop(self) -> None:
        self._stopping.set()

    def _run(self, namespace: str | None) -> None:
        backoff = 0.2
        while not self._stopping.is_set():
            try:
                answer = self.http.request("GET", self.path_of(namespace), query={"labelSelector": self.selector},
                                           timeout=120)
                self.on_list(namespace, answer.get("items", []))
                version = answer["metadata"]["resourceVersion"]
                backoff = 0.2
                while not self._stopping.is_set():
                    version = self._watch(namespace, version)
            except Gone:
                continue  # the watch's resourceVersion is too old: list again at once
            except Exception as error:  # noqa: BLE001 - any failure: log, back off, relist
                log.warning("%s watch (%s) failed: %s; retrying in %.1fs", self.name, namespace or "all", error, backoff)
                time.sleep(backoff)
                backoff = min(backoff * 2, 10.0)

    def _watch(self, namespace: str | None, version: str) -> str:
        query = {"watch": "true", "labelSelector": self.selector, "resourceVersion": version,
                 "allowWatchBookmarks": "true", "timeoutSeconds": WATCH_TIMEOUT_SECONDS}
        for event in self.http.stream(self.path_of(namespace), query, WATCH_TIMEOUT_SECONDS + 30):
            kind, obj = event.get("type"), event.get("object", {})
            if kind == "ERROR":
                raise status_error(obj, "WATCH", self.path_of(namespace))  # Gone (410): relist
            version = obj.get("metadata", {}).get("resourceVersion", version)
            if kind != "BOOKMARK":
                self.on_event(str(kind), obj)
        return version
