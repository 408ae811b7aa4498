"""Pools on a real API server: two workflows sharing a pool of 2 never run 3 pool tasks at once,
even with the operator SIGKILLed mid-way; a missing pool holds its task back until it exists."""

from __future__ import annotations

import time
from datetime import datetime

from .kube import GROUP, VERSION
from .kube import container_task as task

TASK_RESOURCE = "Job"  # these tests look at the runs' Jobs (the default, Pod, elsewhere: test_pod_mode.py)

POOL_LABEL = "dagwright.io/pool"


def create_pool(kube, name: str, size: int) -> None:
    body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Pool", "metadata": {"name": name}, "spec": {"size": size}}
    kube.custom.create_namespaced_custom_object(GROUP, VERSION, kube.ns, "pools", body)


def pool_status(kube, name: str) -> dict:
    return kube.custom.get_namespaced_custom_object(GROUP, VERSION, kube.ns, "pools", name).get("status") or {}


def pooled_tasks(count: int, pool: str = "warehouse") -> list[dict]:
    return [task(f"load{i}", annotations={"sim.dagwright.io/duration": "3s"}, pool=pool) for i in range(count)]


def pod_finished_at(kube, job) -> datetime:
    """When the Job's pod finished (the slot is free from then on)."""
    pods = kube.core.list_namespaced_pod(kube.ns, label_selector=f"job-name={job.metadata.name}").items
    return pods[0].status.container_statuses[0].state.terminated.finished_at


def most_at_once(spans: list[tuple[datetime, datetime]]) -> int:
    """The largest number of spans open at one moment (an end at t comes before a start at t)."""
    edges = sorted([(start, 1) for start, _end in spans] + [(end, -1) for _start, end in spans],
                   key=lambda edge: (edge[0], edge[1]))
    most = now = 0
    for _when, step in edges:
        now += step
        most = max(most, now)
    return most


def test_two_workflows_sharing_a_pool_of_two_never_run_three_at_once_across_an_operator_kill(kube, operator):
    create_pool(kube, "warehouse", 2)
    kube.create_run("alpha", spec={"tasks": pooled_tasks(4)})
    kube.create_run("beta", spec={"tasks": pooled_tasks(4)})
    kube.wait_for("a waiter", lambda: any((t.get("message") or "").startswith("Waiting: pool warehouse 2/2")
                                          for r in ("alpha", "beta")
                                          for t in ((kube.run(r).get("status") or {}).get("tasks") or {}).values()))
    kube.wait_for("pool status", lambda: pool_status(kube, "warehouse").get("inUse") == 2, timeout=15)
    assert len(pool_status(kube, "warehouse")["holders"]) == 2
    kube.wait_for("3 pool Jobs created", lambda: len(kube.jobs()) >= 3, timeout=30)
    operator.kill()
    time.sleep(2)
    operator.start()
    for run in ("alpha", "beta"):
        assert kube.wait_for_phase(run, timeout=120)["status"]["phase"] == "Succeeded"
    jobs = kube.jobs()
    assert len(jobs) == 8 and all(j.metadata.labels[POOL_LABEL] == "warehouse" for j in jobs)
    spans = [(j.metadata.creation_timestamp, pod_finished_at(kube, j)) for j in jobs]
    assert most_at_once(spans) == 2, sorted(spans)
    kube.wait_for("pool status back to 0", lambda: pool_status(kube, "warehouse").get("inUse") == 0, timeout=15)
    operator.assert_alive()


def test_a_missing_pool_holds_the_task_back_with_an_event_until_the_pool_is_created(kube, operator):
    kube.create_run("lonely", spec={"tasks": pooled_tasks(1, pool="mutex")})
    kube.wait_for("PoolMissing event", lambda: "PoolMissing" in kube.event_reasons("lonely"), timeout=30)
    kube.wait_for("the task says why it waits", lambda: ((kube.run("lonely").get("status") or {}).get("tasks") or {})
                  .get("load0", {}).get("message") == "Waiting: pool mutex does not exist", timeout=15)
    assert kube.jobs("lonely") == []
    create_pool(kube, "mutex", 1)
    assert kube.wait_for_phase("lonely", timeout=60)["status"]["phase"] == "Succeeded"
    assert kube.event_reasons("lonely").count("PoolMissing") == 1
