"""`ChildRuns`: the child WorkflowRuns of workflow tasks — seen from the store, created and cancelled.

The planner decides (planner/child.py); this module only looks up what it needs and carries out
its asks. A child is created with a deterministic name, an ownerReference to its parent (so
deleting the parent deletes it), the labels `dagwright.io/parent-run`, `dagwright.io/parent-task`
and `dagwright.io/depth`, the parent's logical date and data interval, and its params rendered
with the parent's templates. 409 AlreadyExists is adoption when the existing run is this
parent's child, and a failed task otherwise.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from dagwright.api.models import API_VERSION, RunPhase, WorkflowRunStatus, WorkflowSpec
from dagwright.api.names import label_value
from dagwright.api.vocabulary import LABEL_DEPTH, LABEL_PARENT_RUN, LABEL_PARENT_TASK, MANAGED_BY
from dagwright.controller.store import RunKey, RunStore
from dagwright.kube import resources
from dagwright.kube.errors import AlreadyExists, BadRequest, Forbidden, Invalid, NotFound
from dagwright.kube.http import KubeHttp
from dagwright.planner.child import ChildRunToCreate, ChildView
from dagwright.render.job import RunIdentity, build_owner_reference
from dagwright.render.templating import TemplateError, render_string

log = logging.getLogger("dagwright.children")
RUNS = "workflowruns"


def parent_key(body: dict[str, Any]) -> RunKey | None:
    """The run key of a child run's parent (from its label), or None for a top-level run."""
    parent = ((body.get("metadata") or {}).get("labels") or {}).get(LABEL_PARENT_RUN)
    return (body["metadata"]["namespace"], parent) if parent else None


def depth_of(body: dict[str, Any]) -> int:
    """How deep a run is nested: 0 for a top-level run, 1 for its child, ..."""
    value = ((body.get("metadata") or {}).get("labels") or {}).get(LABEL_DEPTH, "0")
    return int(value) if value.isdigit() else 0


class ChildRuns:
    """Looks up and creates the child runs of one operator's runs."""

    def __init__(self, http: KubeHttp, store: RunStore) -> None:
        self.http = http
        self.store = store
        # children the API server refused for good (the webhook, a bad name): (namespace, name) -> why;
        # the planner sees them as Failed, so the task fails instead of asking again forever
        self._refused: dict[tuple[str, str], str] = {}

    def views(self, namespace: str, status: WorkflowRunStatus) -> dict[str, ChildView]:
        """The children the status names, as the store holds them (absent ones left out)."""
        views: dict[str, ChildView] = {}
        for task in (status.tasks or {}).values():
            if task.run is None:
                continue
            refused = self._refused.get((namespace, task.run))
            if refused is not None:
                views[task.run] = ChildView(task.run, RunPhase.FAILED.value, message=f"not created: {refused}")
                continue
            body = self.store.run_named(namespace, task.run)
            if body is None:
                continue
            child = self.store.status_of(body)
            outputs = tuple(sorted(child.outputs.items())) if child.outputs else None
            views[task.run] = ChildView(task.run, child.phase, child.progress, child.message, outputs)
        return views

    async def carry_out(self, body: dict[str, Any], identity: RunIdentity, spec: WorkflowSpec,
                        create: list[ChildRunToCreate], cancel: list[str]) -> list[str]:
        """Create and cancel children; the problems of children that cannot be created (for the log).

        Raises ApiError on a transient failure (the pass is retried, the status not written)."""
        by_name = {t.name: t for t in spec.tasks}
        depth = depth_of(body) + 1
        calls = [asyncio.to_thread(self._create_one, body, identity, by_name[c.task].workflow, c, depth)
                 for c in create]
        calls += [asyncio.to_thread(self._cancel_one, identity.namespace, name) for name in cancel]
        results = await asyncio.gather(*calls)
        return [r for r in results if r]

    def _create_one(self, body: dict[str, Any], identity: RunIdentity, call: Any, child: ChildRunToCreate,
                    depth: int) -> str | None:
        try:
            params = {k: render_string(v, identity.template_context) for k, v in (call.params or {}).items()}
        except TemplateError as error:
            self._refused[(identity.namespace, child.name)] = f"cannot render its params: {error}"
            return f"task {child.task}: cannot render the child's params: {error}"
        parent_spec = body.get("spec") or {}
        spec: dict[str, Any] = {"workflowRef": {"name": child.workflow}, "params": params}
        logical = identity.template_context.get("run.logicalDate")
        if logical:
            spec["logicalDate"] = logical
        if parent_spec.get("dataInterval"):
            spec["dataInterval"] = parent_spec["dataInterval"]
        manifest = {
            "apiVersion": API_VERSION, "kind": "WorkflowRun",
            "metadata": {"name": child.name, "namespace": identity.namespace,
                         "labels": {LABEL_PARENT_RUN: label_value(identity.name), LABEL_PARENT_TASK: child.task,
                                    LABEL_DEPTH: str(depth), **MANAGED_BY},
                         "ownerReferences": [build_owner_reference(identity)]},
            "spec": spec,
        }
        try:
            resources.create_custom(self.http, identity.namespace, RUNS, manifest)
        except (BadRequest, Invalid, Forbidden) as error:
            if error.transient:
                raise
            self._refused[(identity.namespace, child.name)] = error.message
            return f"task {child.task}: the API server refused the child run: {error.message}"
        except AlreadyExists:  # created by an earlier pass (or operator): adopted, if it is this run's
            existing = resources.get_custom(self.http, identity.namespace, RUNS, child.name)
            owners = {o.get("uid") for o in ((existing or {}).get("metadata") or {}).get("ownerReferences") or []}
            if existing is not None and identity.uid not in owners:
                self._refused[(identity.namespace, child.name)] = "a WorkflowRun of that name exists and is not this run's"
                return f"task {child.task}: a WorkflowRun named {child.name} exists and is not this run's child"
        return None

    def _cancel_one(self, namespace: str, name: str) -> None:
        try:
            resources.patch_custom(self.http, namespace, RUNS, name, {"spec": {"cancel": True}})
        except NotFound:
            pass
