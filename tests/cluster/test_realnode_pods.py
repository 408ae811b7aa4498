"""The real-node tier in the default task resource, Pods: what the operator does itself without Jobs.

With `taskResource: Pod` (the default) no Job controller stands between the operator and the
kubelet: the operator retries with a new Pod, the kubelet ends a timed-out Pod and keeps it with
its log, a Pod that cannot start is annotated and deleted, a cancelled run's Pod is deleted.
These are the same situations as test_realnode.py (which pins Jobs), seen on the same real node.
`DW_REAL_NODE=0` deselects this module (tests/conftest.py).
"""

from __future__ import annotations

import pytest

from .test_realnode import (
    QUICK_STOP,
    RUN_TIMEOUT,
    dagwright,
    py,
    real_node,
    run_over_its_memory_limit,
    run_with_a_missing_image,
    spec,
)

__all__ = ["real_node"]  # the module's autouse fixture: the real node is there and Ready

pytestmark = pytest.mark.realnode


def test_an_exit_code_fails_the_pod_and_the_retry_runs_a_second_pod(kube, operator, kube_env):
    fail = py("fail", "import sys\nprint('failing on purpose', flush=True)\nsys.exit(3)\n",
              retries={"limit": 1, "backoffSeconds": 1})
    kube.create_run("exit", spec=spec(fail))
    run = kube.wait_for_phase("exit", timeout=RUN_TIMEOUT)
    assert run["status"]["phase"] == "Failed"
    assert run["status"]["tasks"]["fail"]["message"].startswith("attempt 2 failed: exit code 3")
    assert kube.jobs("exit") == []
    assert kube.attempt_keys("exit") == [("fail", 1), ("fail", 2)]
    assert all(p.status.phase == "Failed" for p in kube.task_pods("exit"))
    logs = dagwright(kube_env, kube.ns, "logs", "exit", "fail")
    assert logs.returncode == 0, logs.stderr
    assert "failing on purpose" in logs.stdout


def test_a_pod_over_its_memory_limit_is_oom_killed(kube, operator):
    run_over_its_memory_limit(kube, "oom")
    assert kube.jobs("oom") == [] and len(kube.task_pods("oom")) == 1


def test_a_timed_out_pod_is_ended_by_the_kubelet_and_kept_with_its_log(kube, operator, kube_env):
    slow = py("slow", "import time\nfor i in range(600):\n    print('tick', i, flush=True)\n    time.sleep(0.5)\n",
              timeoutSeconds=8)
    kube.create_run("timeout", spec=spec(slow))
    run = kube.wait_for_phase("timeout", timeout=RUN_TIMEOUT)
    assert run["status"]["phase"] == "Failed"
    assert run["status"]["tasks"]["slow"]["message"] == "attempt 1 failed: timed out after 8s"
    (pod,) = kube.task_pods("timeout")
    assert pod.spec.active_deadline_seconds == 8
    assert pod.status.phase == "Failed" and pod.status.reason == "DeadlineExceeded"
    logs = dagwright(kube_env, kube.ns, "logs", "timeout", "slow")
    assert logs.returncode == 0, logs.stderr
    assert "tick 3" in logs.stdout  # the pod's own log, kept with the pod


def test_an_image_that_is_not_there_fails_at_once_and_its_pod_is_deleted(kube, operator):
    run_with_a_missing_image(kube, "noimage")
    kube.wait_for("the pod deleted", lambda: not kube.task_pods("noimage"), timeout=120, every=1)


def test_cancelling_a_run_deletes_its_running_pod(kube, operator):
    sleeper = py("sleeper", "import time\nprint('started', flush=True)\ntime.sleep(600)\n", podTemplate=QUICK_STOP)
    kube.create_run("cancel", spec=spec(sleeper))

    def running():
        return any(s.state.running for p in kube.task_pods("cancel") for s in p.status.container_statuses or [])

    kube.wait_for("the task's container running", running, timeout=RUN_TIMEOUT, every=0.5)
    kube.patch_run("cancel", {"spec": {"cancel": True}})
    run = kube.wait_for_phase("cancel", timeout=60)
    assert run["status"]["phase"] == "Cancelled"
    assert run["status"]["tasks"]["sleeper"]["phase"] == "Cancelled"
    kube.wait_for("the pod gone", lambda: not kube.task_pods("cancel"), timeout=120, every=1)
