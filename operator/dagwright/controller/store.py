"""`RunStore`: the operator's one copy of the Workflows and WorkflowRuns the watches deliver.

Owned by the operator and handed to both reconcilers, so neither reaches into the other's
internals. Bodies are stored as received and never mutated in place: callers that change a
run build a new dict. A resourceVersion is opaque — never compared as a number: after our own
status write the store keeps the written body and ignores watch events until the event
carrying that very resourceVersion has gone by (a watch stream is ordered, so what comes
before it is older news) — unless the echo beat the write's answer, which the last few
versions seen on the watch tell. Should the echo never come (the watch re-listed past it), the wait
ends after `ECHO_WAIT_SECONDS` and the next event is taken as it is.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from typing import Any

from pydantic import ValidationError

from dagwright.api.models import FINISHED_RUN_PHASES, WorkflowRunStatus
from dagwright.api.names import label_value
from dagwright.api.vocabulary import LABEL_WORKFLOW

log = logging.getLogger("dagwright.store")

RunKey = tuple[str, str]  # (namespace, run name as a label value), as Jobs are labelled
WorkflowKey = tuple[str, str]  # (namespace, workflow name)
PARSED_CACHE_SIZE = 10_000
ECHO_WAIT_SECONDS = 10.0
SEEN_VERSIONS = 8


def run_key(body: dict[str, Any]) -> RunKey:
    """The key of a run: (namespace, its name as a label value)."""
    return body["metadata"]["namespace"], label_value(body["metadata"]["name"])


def workflow_name_of(body: dict[str, Any]) -> str:
    """The workflow a run belongs to (its ref, or its own name for an inline spec)."""
    ref = (body.get("spec") or {}).get("workflowRef") or {}
    return ref.get("name") or body["metadata"].get("labels", {}).get(LABEL_WORKFLOW) or body["metadata"]["name"]


def run_phase(body: dict[str, Any]) -> str | None:
    return (body.get("status") or {}).get("phase")


def is_finished(body: dict[str, Any]) -> bool:
    return run_phase(body) in FINISHED_RUN_PHASES


class _EchoAwareCache:
    """Objects by key, newest first: our own writes' answers win over older watch events."""

    def __init__(self) -> None:
        self.items: dict[Any, dict[str, Any]] = {}
        # resourceVersion of our write not yet seen on the watch, and when we wrote it
        self._awaiting: dict[Any, tuple[str, float]] = {}
        # the last few resourceVersions the watch delivered: a write's echo may beat its answer
        self._seen: dict[Any, deque[str]] = {}

    def observe(self, key: Any, body: dict[str, Any], listed: bool = False) -> bool:
        """A watch event (added or modified); True when it is news.

        `listed`: the object came from a (re-)list, not from the stream after our write, so it is
        no older than the state at that list: it ends any wait for an echo.
        """
        current = self.items.get(key)
        version = body["metadata"].get("resourceVersion")
        if version is not None:
            self._seen.setdefault(key, deque(maxlen=SEEN_VERSIONS)).append(version)
        if current is not None and current["metadata"].get("uid") == body["metadata"].get("uid"):
            awaited = self._awaiting.get(key)
            if awaited is not None and version == awaited[0]:
                del self._awaiting[key]  # the echo of our own write: we hold it already
                return False
            if awaited is not None and not listed and time.monotonic() - awaited[1] < ECHO_WAIT_SECONDS:
                return False  # written before our write's echo: older than what we hold
            if version == current["metadata"].get("resourceVersion"):
                return False
        self._awaiting.pop(key, None)
        self.items[key] = body
        return True

    def observe_written(self, key: Any, body: dict[str, Any]) -> None:
        """The answer to our own write: the newest state; wait for its echo."""
        current = self.items.get(key)
        if current is not None and current["metadata"].get("uid") != body["metadata"].get("uid"):
            return  # replaced by another object of the same name meanwhile
        version = body["metadata"].get("resourceVersion")
        if version is not None and version in self._seen.get(key, ()):
            return  # its echo came first: the store holds it, or something newer
        self.items[key] = body
        if version is not None:
            self._awaiting[key] = (version, time.monotonic())

    def forget(self, key: Any) -> dict[str, Any] | None:
        self._awaiting.pop(key, None)
        self._seen.pop(key, None)
        return self.items.pop(key, None)


class RunStore:
    """Runs by `RunKey` and Workflows by (namespace, name), as the watches and our writes left them."""

    def __init__(self) -> None:
        self._runs = _EchoAwareCache()
        self._workflows = _EchoAwareCache()
        self._parsed: dict[str, tuple[str, WorkflowRunStatus]] = {}

    # ----------------------------------------------------------------- runs

    def observe_run(self, body: dict[str, Any], listed: bool = False) -> bool:
        """A watch event of a run (added or modified); True when it is news worth a pass."""
        return self._runs.observe(run_key(body), body, listed)

    def observe_written(self, body: dict[str, Any]) -> None:
        """The answer to our own status write of a run."""
        self._runs.observe_written(run_key(body), body)

    def forget_run(self, key: RunKey) -> None:
        body = self._runs.forget(key)
        if body is not None:
            self._parsed.pop(body["metadata"].get("uid"), None)

    def run(self, key: RunKey) -> dict[str, Any] | None:
        return self._runs.items.get(key)

    def run_named(self, namespace: str, name: str) -> dict[str, Any] | None:
        body = self._runs.items.get((namespace, label_value(name)))
        return body if body is not None and body["metadata"]["name"] == name else None

    def runs_of(self, namespace: str, workflow: str) -> list[tuple[RunKey, dict[str, Any]]]:
        """The runs of one workflow in `namespace`."""
        return [(k, b) for k, b in list(self._runs.items.items())
                if k[0] == namespace and workflow_name_of(b) == workflow]

    def unfinished(self) -> list[RunKey]:
        return [k for k, b in list(self._runs.items.items()) if not is_finished(b)]

    def status_of(self, body: dict[str, Any]) -> WorkflowRunStatus:
        """The run's status as a model; parsed once per resourceVersion (big runs' hot path)."""
        version = body["metadata"].get("resourceVersion")
        uid = body["metadata"].get("uid")
        cached = self._parsed.get(uid)
        if cached is not None and version is not None and cached[0] == version:
            return cached[1]
        try:
            status = WorkflowRunStatus.model_validate(body.get("status") or {})
        except ValidationError as error:
            log.warning("run %s has a status we cannot read (%s); starting from empty",
                        body["metadata"]["name"], error.error_count())
            return WorkflowRunStatus()
        if len(self._parsed) > PARSED_CACHE_SIZE:
            self._parsed.clear()
        if version is not None:
            self._parsed[uid] = (version, status)
        return status

    # ----------------------------------------------------------------- workflows

    def observe_workflow(self, body: dict[str, Any], deleted: bool = False) -> bool:
        """A watch event of a Workflow; True when it is news."""
        key = (body["metadata"]["namespace"], body["metadata"]["name"])
        if deleted:
            self._workflows.forget(key)
            return False
        return self._workflows.observe(key, body)

    def observe_workflow_written(self, body: dict[str, Any]) -> None:
        """The answer to our own status write of a Workflow."""
        self._workflows.observe_written((body["metadata"]["namespace"], body["metadata"]["name"]), body)

    def workflow(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self._workflows.items.get((namespace, name))

    def workflows(self) -> dict[WorkflowKey, dict[str, Any]]:
        """A copy of the cached Workflows (the admission webhook reads it)."""
        return dict(self._workflows.items)
