"""Bounded status: a 2,000-task run's object stays well under the API server's 1.5 MiB limit."""

from __future__ import annotations

import json

from .kube import container_task as task

TASK_RESOURCE = "Job"  # these tests look at the runs' Jobs (the default, Pod, elsewhere: test_pod_mode.py)

MIB = 1024 * 1024


def test_the_status_of_a_2000_task_run_stays_under_1_mib(kube, operator):
    tasks = [task(f"task-{i:04d}", ["task-0000"] if i else None) for i in range(2000)]
    kube.apply_workflow("big", {"tasks": tasks})
    kube.create_run("big", workflow="big")
    run = kube.wait_for_phase("big", timeout=600)
    assert run["status"]["phase"] == "Succeeded", run["status"].get("message")
    assert run["status"]["progress"] == "2000/2000"
    assert len(kube.jobs("big")) == 2000
    size = len(json.dumps(run).encode())
    print(f"2000-task run object: {size} bytes ({size / MIB:.2f} MiB); status alone: "
          f"{len(json.dumps(run['status']).encode())} bytes")
    assert size < MIB
