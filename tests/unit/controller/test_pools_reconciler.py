"""Pools through the run reconciler and a fake API server: two runs never take the last slot twice."""

from __future__ import annotations

import asyncio

from dagwright.api.vocabulary import LABEL_POOL
from dagwright.controller.store import run_key

from .fakeapi import FakeApi
from .test_reconciler import NS, RUNS, Operator, add_run, complete, reasons, status

POOLED = [{"name": f"t{i}", "pool": "warehouse", "container": {"image": "busybox"}} for i in range(2)]


def pool(size: int) -> dict:
    return {"metadata": {"name": "warehouse", "namespace": NS}, "spec": {"size": size}}


async def reconcile_together(op: Operator, *names: str) -> None:
    for name in names:
        op.see_run(name)
    keys = [run_key(op.api.objects[f"{RUNS}/{name}"]) for name in names]
    await asyncio.gather(*(op.reconcile(name) for name in names))
    for key in keys:
        await op.reconciler.statuses.flush(key)


def test_two_runs_reconciled_at_once_share_a_pool_of_one_and_create_one_job():
    api = FakeApi()
    add_run(api, "first", POOLED[:1], logicalDate="2026-01-01T00:00:00Z")
    add_run(api, "second", POOLED[:1], logicalDate="2026-01-02T00:00:00Z")
    op = Operator(api)
    op.reconciler.pools.observe_pool(pool(1))
    asyncio.run(reconcile_together(op, "first", "second"))
    assert len(api.jobs()) == 1
    job = next(iter(api.jobs().values()))
    assert job["metadata"]["labels"][LABEL_POOL] == "warehouse"
    waiting = [s["tasks"]["t0"] for s in (status(api, "first"), status(api, "second")) if s["tasks"]["t0"]["phase"] == "Pending"]
    assert [t["message"] for t in waiting] == ["Waiting: pool warehouse 1/1 in use"]


def test_a_finished_job_frees_its_slot_and_wakes_the_waiting_run():
    api = FakeApi()
    add_run(api, "first", POOLED[:1], logicalDate="2026-01-01T00:00:00Z")
    add_run(api, "second", POOLED[:1], logicalDate="2026-01-02T00:00:00Z")
    op = Operator(api)
    op.reconciler.pools.observe_pool(pool(1))
    asyncio.run(op.reconcile("first"))
    asyncio.run(op.reconcile("second"))
    assert list(api.jobs()) == [status(api, "first")["tasks"]["t0"]["job"]]
    complete(api, op, status(api, "first")["tasks"]["t0"]["job"])
    op.reconciler.pools.slots_changed(NS)
    asyncio.run(op.reconcile("second"))
    assert status(api, "second")["tasks"]["t0"]["phase"] == "Running"
    assert len(api.jobs()) == 2


def test_the_older_run_gets_the_slot_even_when_the_younger_run_asks_first():
    api = FakeApi()
    add_run(api, "old", POOLED[:1], logicalDate="2026-01-01T00:00:00Z")
    add_run(api, "young", POOLED[:1], logicalDate="2026-01-02T00:00:00Z")
    op = Operator(api)
    op.reconciler.pools.observe_pool(pool(0))
    asyncio.run(op.reconcile("old"))  # waits: the pool has no slot yet
    op.reconciler.pools.observe_pool(pool(1))
    asyncio.run(op.reconcile("young"))
    assert status(api, "young")["tasks"]["t0"]["phase"] == "Pending"
    asyncio.run(op.reconcile("old"))
    assert status(api, "old")["tasks"]["t0"]["phase"] == "Running"


def test_a_missing_pool_makes_the_task_wait_with_one_warning_event():
    api = FakeApi()
    add_run(api, "etl", POOLED[:1])
    op = Operator(api)
    asyncio.run(op.reconcile("etl"))
    asyncio.run(op.reconcile("etl"))
    assert api.jobs() == {}
    assert status(api, "etl")["tasks"]["t0"]["message"] == "Waiting: pool warehouse does not exist"
    assert reasons(api).count("PoolMissing") == 1
    op.reconciler.pools.observe_pool(pool(1))
    asyncio.run(op.reconcile("etl"))
    assert len(api.jobs()) == 1


def test_a_pool_the_watch_has_not_shown_yet_is_read_from_the_api_not_called_missing():
    api = FakeApi()
    api.add(f"/apis/dagwright.io/v1alpha1/namespaces/{NS}/pools/warehouse",
            {"apiVersion": "dagwright.io/v1alpha1", "kind": "Pool", **pool(1)})
    add_run(api, "etl", POOLED[:1])
    op = Operator(api)  # just started: its Pool watch has not delivered anything yet
    asyncio.run(op.reconcile("etl"))
    assert len(api.jobs()) == 1
    assert "PoolMissing" not in reasons(api)


def test_the_pools_status_names_its_holders_and_counts_its_waiters():
    api = FakeApi()
    add_run(api, "first", POOLED, logicalDate="2026-01-01T00:00:00Z")
    add_run(api, "second", POOLED[:1], logicalDate="2026-01-02T00:00:00Z")
    op = Operator(api)
    op.reconciler.pools.observe_pool(pool(1))
    asyncio.run(op.reconcile("first"))
    asyncio.run(op.reconcile("second"))
    pool_status = op.reconciler.pools.status_of((NS, "warehouse")).to_wire()
    holder = {"run": "first", "task": "t0", "job": status(api, "first")["tasks"]["t0"]["job"]}
    assert pool_status == {"inUse": 1, "waiting": 2, "holders": [holder]}
    complete(api, op, holder["job"])
    assert op.reconciler.pools.status_of((NS, "warehouse")).in_use == 0
