"""`PoolBook`: what the run reconciler knows of Pools — sizes, held and reserved slots, waiters.

Slots in use are never counted up and down: they are the unfinished attempts labelled with the
pool in the Job index (so a crash, a deleted run or a cancelled task frees them), plus the
creates a pass has decided but not yet carried out. Those are reserved synchronously right
after planning, before the pass's first await: the reconcile workers are asyncio tasks in one
thread, so two runs can never both take the last slot. The claims of runs waiting for a pool
are kept so that other runs' planners respect the admission order (planner/pools.py), and so
that the waiting runs are woken when a slot may have freed. Pool status is written at most
once a second per pool, and only when it changed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from dagwright.api.models import MAX_POOL_HOLDERS, PoolHolder, PoolStatus, WorkflowSpec
from dagwright.controller.mergepatch import merge_patch
from dagwright.kube import resources
from dagwright.kube.errors import ApiError, NotFound
from dagwright.kube.http import KubeHttp
from dagwright.kube.jobindex import JobIndex, RunKey
from dagwright.planner.pools import PoolClaim, PoolView
from dagwright.planner.snapshot import JobToCreate

log = logging.getLogger("dagwright.pools")

POOLS = "pools"
STATUS_INTERVAL_SECONDS = 1.0
PoolKey = tuple[str, str]  # (namespace, pool name)


class PoolBook:
    """Pool sizes (from the watch), reservations and waiting claims, for one operator."""

    def __init__(self, http: KubeHttp, jobs: JobIndex, wake: Callable[[RunKey], None]) -> None:
        self.http = http
        self.jobs = jobs
        self.wake = wake
        self._sizes: dict[PoolKey, int] = {}
        self._reserved: dict[PoolKey, set[str]] = {}  # Jobs about to be created, by pool
        self._waiting: dict[PoolKey, dict[RunKey, list[PoolClaim]]] = {}
        self._written: dict[PoolKey, dict[str, Any]] = {}
        self._status_due: set[PoolKey] = set()
        self._absent: set[PoolKey] = set()  # the API server said these do not exist
        self._writers: set[asyncio.Task[None]] = set()  # status writes in flight (kept referenced)

    # ----------------------------------------------------------------- watch

    def observe_pool(self, body: dict[str, Any], deleted: bool = False) -> None:
        """A Pool was added, changed or deleted: note its size and wake the runs waiting for it."""
        meta = body["metadata"]
        key = (meta["namespace"], meta["name"])
        if deleted:
            self._sizes.pop(key, None)
            self._written.pop(key, None)
            self._absent.add(key)
        else:
            self._absent.discard(key)
            self._sizes[key] = int((body.get("spec") or {}).get("size", 0))
            self._written.setdefault(key, dict(body.get("status") or {}))
        self.slots_changed(key[0])

    def slots_changed(self, namespace: str) -> None:
        """A Job (or Pool) of `namespace` changed: wake its pools' waiters, refresh their status."""
        for (ns, _pool), waiters in self._waiting.items():
            if ns == namespace:
                for run in waiters:
                    self.wake(run)
        for key in self._sizes:
            if key[0] == namespace:
                self._schedule_status(key)

    # ----------------------------------------------------------------- one pass

    async def look_up(self, namespace: str, spec: WorkflowSpec) -> None:
        """Ask the API server for pools `spec` names that the watch has not shown yet.

        Right after a start the Pool watch may lag the Job index: without this, a task would
        be told its pool is missing (and a PoolMissing Event posted) for a pool that exists.
        Raises ApiError when it cannot tell (the pass is retried).
        """
        names = {task.pool for task in spec.tasks if task.pool}
        for name in sorted(names):
            pool = (namespace, name)
            if pool in self._sizes or pool in self._absent:
                continue
            body = await asyncio.to_thread(resources.get_custom, self.http, namespace, POOLS, name)
            if body is None:
                self._absent.add(pool)
            elif pool not in self._sizes and pool not in self._absent:  # the watch did not answer meanwhile
                self.observe_pool(body)

    def views(self, key: RunKey, spec: WorkflowSpec) -> dict[str, PoolView]:
        """The planner's view of the pools `spec` names, for run `key`."""
        names = {task.pool for task in spec.tasks if task.pool}
        if not names:
            return {}
        holders = self.jobs.pool_holders(key[0])
        views = {}
        for name in sorted(names):
            pool = (key[0], name)
            others = tuple(c for run, claims in self._waiting.get(pool, {}).items() if run != key for c in claims)
            held = {job.name for _run, job in holders.get(name, [])} | self._reserved.get(pool, set())
            views[name] = PoolView(size=self._sizes.get(pool), in_use=len(held), others_waiting=others)
        return views

    def reserve(self, key: RunKey, spec: WorkflowSpec, create: list[JobToCreate]) -> list[tuple[PoolKey, str]]:
        """Hold the slots of the pool tasks about to be created; call before the first await."""
        pool_of = {task.name: task.pool for task in spec.tasks if task.pool}
        held = [((key[0], pool_of[job.task]), job.name) for job in create if job.task in pool_of]
        for pool, job in held:
            self._reserved.setdefault(pool, set()).add(job)
        return held

    def release(self, held: list[tuple[PoolKey, str]]) -> None:
        """The creates are carried out (the Job index holds them) or abandoned: drop the hold."""
        for pool, job in held:
            self._reserved.get(pool, set()).discard(job)
            if not self._reserved.get(pool, True):
                del self._reserved[pool]
            self._schedule_status(pool)

    def set_waiting(self, key: RunKey, waiting: dict[str, list[PoolClaim]]) -> None:
        """Record which of run `key`'s tasks wait for which pool (none: forget the run)."""
        for (ns, name), waiters in list(self._waiting.items()):
            if ns == key[0] and name not in waiting and waiters.pop(key, None) is not None:
                self._schedule_status((ns, name))
                if not waiters:
                    del self._waiting[(ns, name)]
        for name, claims in waiting.items():
            pool = (key[0], name)
            if self._waiting.setdefault(pool, {}).get(key) != claims:
                self._waiting[pool][key] = list(claims)
                self._schedule_status(pool)

    def forget_run(self, key: RunKey) -> None:
        self.set_waiting(key, {})

    # ----------------------------------------------------------------- status

    def status_of(self, pool: PoolKey) -> PoolStatus:
        """The Pool's status as the index and the waiting claims tell it now."""
        holders = sorted(self.jobs.pool_holders(pool[0]).get(pool[1], []), key=lambda h: h[1].name)
        return PoolStatus(
            in_use=len(holders),
            waiting=sum(len(c) for c in self._waiting.get(pool, {}).values()),
            holders=[PoolHolder(run=run, task=job.task, job=job.name) for run, job in holders[:MAX_POOL_HOLDERS]],
        )

    def _schedule_status(self, pool: PoolKey) -> None:
        if pool not in self._sizes or pool in self._status_due:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (unit tests of the bookkeeping): nothing to write
            return
        self._status_due.add(pool)
        loop.call_later(STATUS_INTERVAL_SECONDS, self._start_write, loop, pool)

    def _start_write(self, loop: asyncio.AbstractEventLoop, pool: PoolKey) -> None:
        writer = loop.create_task(self._write_status(pool))
        self._writers.add(writer)
        writer.add_done_callback(self._writers.discard)

    async def _write_status(self, pool: PoolKey) -> None:
        self._status_due.discard(pool)
        if pool not in self._sizes:
            return
        wire = self.status_of(pool).to_wire()
        patch = merge_patch(self._written.get(pool, {}), wire)
        if not patch:
            return
        try:
            await asyncio.to_thread(resources.patch_status, self.http, pool[0], POOLS, pool[1], patch)
        except NotFound:
            return
        except ApiError as error:
            log.warning("writing the status of pool %s/%s failed: %s", *pool, error)
            self._schedule_status(pool)
            return
        self._written[pool] = wire
