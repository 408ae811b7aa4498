"""`LargeOutputs`: collects a `largeOutputs` task's outputs from its pod's log into a ConfigMap
owned by the run, and loads them back when a later task's Job is rendered.

The decisions (the manifest, the size cap, decoding and checking the block) are the pure
`render.large_outputs`; this module makes the API calls. The ConfigMap is immutable, so what
was loaded once is cached (bounded) for every later render. After an operator restart the
ConfigMap answers before the log is read again, so an attempt whose pod has been deleted keeps
its outputs once they were collected.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from typing import Any

from dagwright.api.models import API_VERSION
from dagwright.api.names import label_value
from dagwright.api.vocabulary import LABEL_RUN, LABEL_TASK, MANAGED_BY
from dagwright.kube import resources
from dagwright.kube.errors import AlreadyExists, ApiError
from dagwright.kube.http import KubeHttp
from dagwright.render.large_outputs import (
    CONFIGMAP_KEY,
    LogManifest,
    build_outputs_configmap,
    decode_block,
    outputs_configmap_name,
    outputs_from_json,
)

log = logging.getLogger("dagwright.outputs")
_CACHE_SIZE = 128
MAX_READ_TRIES = 5
"""API errors reading one attempt's outputs before the attempt fails (a node whose kubelet does
not serve logs must not keep a run waiting forever)."""


class Collected:
    """What collecting one attempt's outputs gave: the ConfigMap's name, or why it failed."""

    def __init__(self, ref: str | None = None, error: str | None = None) -> None:
        self.ref = ref
        self.error = error


class LargeOutputs:
    """Large outputs of the runs' attempts: collected once, loaded with a bounded cache."""

    def __init__(self, http: KubeHttp) -> None:
        self.http = http
        self._cache: OrderedDict[tuple[str, str], dict[str, str]] = OrderedDict()
        self._failed_reads: dict[tuple[str, str], int] = {}

    async def collect(self, namespace: str, run: str, run_uid: str, task: str, job: str,
                      manifest: LogManifest) -> Collected:
        """The attempt's outputs stored in their ConfigMap (created here when missing).

        Raises ApiError when the API server could not answer (the pass is retried), up to
        `MAX_READ_TRIES` times for one attempt; then the attempt fails with that error.
        """
        too_large = manifest.too_large()
        if too_large:
            return Collected(error=too_large)
        return await asyncio.to_thread(self._collect, namespace, run, run_uid, task, job, manifest)

    def _collect(self, namespace: str, run: str, run_uid: str, task: str, job: str,
                 manifest: LogManifest) -> Collected:
        name = outputs_configmap_name(job)
        try:
            if resources.get_configmap(self.http, namespace, name) is not None:
                return Collected(ref=name)
            pods = [p for p in resources.attempt_pods(self.http, namespace, job)
                    if (p.get("status") or {}).get("phase") == "Succeeded"]
            if not pods:
                return Collected(error="outputs are in the task's log, but its pod is gone")
            tail = resources.pod_log_tail(self.http, namespace, pods[0]["metadata"]["name"],
                                          manifest.tail_lines(), manifest.tail_bytes())
            text, error = decode_block(tail, manifest)
            if text is None:
                return Collected(error=error)
            labels = {LABEL_RUN: label_value(run), LABEL_TASK: task, **MANAGED_BY}
            owner = {"apiVersion": API_VERSION, "kind": "WorkflowRun", "name": run, "uid": run_uid,
                     "controller": True, "blockOwnerDeletion": True}
            try:
                resources.create_configmap(self.http, build_outputs_configmap(namespace, name, labels, owner, text))
            except AlreadyExists:
                pass  # a previous pass stored it: the same bytes (the digest was checked)
            self._remember(namespace, name, outputs_from_json(text))
            return Collected(ref=name)
        except ApiError as error:
            tries = self._failed_reads.get((namespace, job), 0) + 1
            self._failed_reads[(namespace, job)] = tries
            log.warning("could not collect the outputs of %s/%s (try %d): %s", namespace, job, tries, error)
            if tries < MAX_READ_TRIES:
                raise
            self._failed_reads.pop((namespace, job), None)
            return Collected(error=f"could not read the outputs from the task's log: {error.message}")

    async def load(self, namespace: str, name: str) -> dict[str, str]:
        """The outputs stored in ConfigMap `name` (raises ApiError when it cannot be read)."""
        cached = self._cache.get((namespace, name))
        if cached is not None:
            self._cache.move_to_end((namespace, name))
            return cached
        configmap = await asyncio.to_thread(resources.get_configmap, self.http, namespace, name)
        if configmap is None:
            return {}
        outputs = outputs_from_json((configmap.get("data") or {}).get(CONFIGMAP_KEY) or "{}")
        self._remember(namespace, name, outputs)
        return outputs

    async def context(self, namespace: str, tasks: dict[str, Any]) -> dict[str, str]:
        """Template names for the large outputs of `tasks` (task statuses with outputsRef)."""
        context: dict[str, str] = {}
        for task, status in tasks.items():
            ref = getattr(status, "outputs_ref", None)
            if ref:
                for key, value in (await self.load(namespace, ref)).items():
                    context[f"tasks.{task}.outputs.{key}"] = value
        return context

    def _remember(self, namespace: str, name: str, outputs: dict[str, str]) -> None:
        self._cache[(namespace, name)] = outputs
        while len(self._cache) > _CACHE_SIZE:
            self._cache.popitem(last=False)
