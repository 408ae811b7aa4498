"""The real-node tier: Dagwright's python tasks on the local cluster's real kubelet (hack/realnode/).

What only a real kubelet shows: real exit codes and termination messages, the OOM killer, pods
deleted at a timeout, images that are not there, a Secret that is missing, a restricted pod,
cancellation stopping a real process. Pods opt in to the node (its label + toleration, the
workflow's `defaults.podTemplate`) and use the locally built image (hack/image/task-images.sh).

Generous time limits only: the node is a 2-core machine shared with the rest of the suite (a
trivial task takes ~3 s here, ~100 ms on kwok), and no assertion is about speed, except that an
attempt that cannot start fails well before the 180 s grace period would end it.
`DW_REAL_NODE=0` (a kwok-only cluster) deselects this module (tests/conftest.py).
"""

from __future__ import annotations

import subprocess
import sys

import pytest

REAL_NODE_LABEL = "dagwright.io/real-node"
PYTHON_IMAGE = "localhost/dagwright/python:bookworm"
ON_REAL_NODE = {
    "nodeSelector": {REAL_NODE_LABEL: "true"},
    "tolerations": [{"key": REAL_NODE_LABEL, "operator": "Equal", "value": "true", "effect": "NoSchedule"}],
}
# python as PID 1 ignores SIGTERM: a stopped pod would take the default 30 s grace to go.
QUICK_STOP = {"spec": {"terminationGracePeriodSeconds": 5}}
RUN_TIMEOUT = 240  # seconds: a run of a few tasks, on a loaded 2-core machine

pytestmark = pytest.mark.realnode
TASK_RESOURCE = "Job"  # these tests look at the Jobs; test_realnode_pods.py sees the same on Pods (the default)


@pytest.fixture(scope="module", autouse=True)
def real_node(kube_api):
    """The real node is there and Ready (hack/cluster-up.sh starts it unless DW_REAL_NODE=0)."""
    from kubernetes import client

    nodes = client.CoreV1Api(kube_api).list_node(label_selector=f"{REAL_NODE_LABEL}=true").items
    ready = [n.metadata.name for n in nodes
             if any(c.type == "Ready" and c.status == "True" for c in n.status.conditions or [])]
    assert ready, ("no Ready node labelled dagwright.io/real-node=true: start the cluster with hack/cluster-up.sh "
                   "as root (or set DW_REAL_NODE=0 to leave this tier out)")
    return ready[0]


def spec(*tasks: dict, **extra) -> dict:
    return {"defaults": {"podTemplate": {"spec": ON_REAL_NODE}}, "tasks": list(tasks), **extra}


def py(name: str, script: str, **fields) -> dict:
    python = {"image": PYTHON_IMAGE, "script": script}
    python.update(fields.pop("python", {}))
    return {"name": name, "python": python, **fields}


def main_container(**settings) -> dict:
    return {"spec": {"containers": [{"name": "main", **settings}]}}


def dagwright(kube_env, namespace: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dagwright.cli.main", *args, "-n", namespace,
                           "--kubeconfig", kube_env["KUBECONFIG"]],
                          env=kube_env, capture_output=True, text=True, timeout=60)


def test_a_python_task_passes_its_outputs_to_a_dependent_and_its_log_is_shown(kube, operator, kube_env):
    produce = py("produce", "import json, platform\n"
                            "print('producing on', platform.python_version())\n"
                            "open('/dev/termination-log', 'w').write(json.dumps({'rows': 42}))\n")
    consume = py("consume", "import sys\nprint('consumer got', sys.argv[1], 'rows')\n",
                 python={"args": ["{{ tasks.produce.outputs.rows }}"]}, dependsOn=["produce"])
    kube.create_run("outputs", spec=spec(produce, consume))
    run = kube.wait_for_phase("outputs", timeout=RUN_TIMEOUT)
    assert run["status"]["phase"] == "Succeeded", run["status"]
    assert run["status"]["tasks"]["produce"]["outputs"] == {"rows": "42"}
    logs = dagwright(kube_env, kube.ns, "logs", "outputs")
    assert logs.returncode == 0, logs.stderr
    assert "producing on 3." in logs.stdout
    assert "consumer got 42 rows" in logs.stdout
    # The node has clusterDNS set: its pods get no MissingClusterDNS warning (a misleading last Event).
    reasons = {e.reason for e in kube.core.list_namespaced_event(kube.ns).items if e.involved_object.kind == "Pod"}
    assert "Started" in reasons and "MissingClusterDNS" not in reasons


def test_an_exit_code_fails_the_attempt_and_the_retry_runs_again(kube, operator):
    fail = py("fail", "import sys\nprint('failing on purpose', flush=True)\nsys.exit(3)\n",
              retries={"limit": 1, "backoffSeconds": 1})
    kube.create_run("exit", spec=spec(fail))
    run = kube.wait_for_phase("exit", timeout=RUN_TIMEOUT)
    assert run["status"]["phase"] == "Failed"
    assert run["status"]["tasks"]["fail"]["attempts"] == 2
    assert run["status"]["tasks"]["fail"]["message"].startswith("attempt 2 failed: exit code 3")
    assert kube.attempt_keys("exit") == [("fail", 1), ("fail", 2)]


def run_over_its_memory_limit(kube, name: str) -> None:
    """A run whose task allocates past its 48 MiB limit: the kernel's OOM killer ends it, and the run says so."""
    hog = py("hog", "chunks = []\nwhile True:\n    chunks.append(bytearray(16 * 1024 * 1024))\n",
             podTemplate=main_container(resources={"limits": {"memory": "48Mi"}, "requests": {"memory": "48Mi"}}))
    kube.create_run(name, spec=spec(hog))
    run = kube.wait_for_phase(name, timeout=RUN_TIMEOUT)
    assert run["status"]["phase"] == "Failed"
    assert "OOMKilled (exit code 137)" in run["status"]["tasks"]["hog"]["message"]


def test_a_task_over_its_memory_limit_is_oom_killed(kube, operator):
    run_over_its_memory_limit(kube, "oom")
    assert len(kube.jobs("oom")) == 1


def test_a_timed_out_attempt_keeps_the_end_of_its_log(kube, operator, kube_env):
    slow = py("slow", "import time\nfor i in range(600):\n    print('tick', i, flush=True)\n    time.sleep(0.5)\n",
              timeoutSeconds=8)  # the default 30 s grace: the operator reads the log while the pod stops
    kube.create_run("timeout", spec=spec(slow))
    run = kube.wait_for_phase("timeout", timeout=RUN_TIMEOUT)
    assert run["status"]["phase"] == "Failed"
    assert run["status"]["tasks"]["slow"]["message"] == "attempt 1 failed: timed out after 8s"

    def kept_tail():
        job = kube.jobs("timeout")[0]
        return (job.metadata.annotations or {}).get("dagwright.io/log-tail")

    tail = kube.wait_for("the log tail kept on the Job", kept_tail, timeout=60, every=0.5)
    lines = tail.splitlines()
    assert 0 < len(lines) <= 20 and lines[-1].startswith("tick ")  # the end of the log
    kube.wait_for("the pod deleted at the timeout",
                  lambda: not kube.core.list_namespaced_pod(kube.ns, label_selector="dagwright.io/run=timeout").items,
                  timeout=120, every=1)
    logs = dagwright(kube_env, kube.ns, "logs", "timeout", "slow")
    assert logs.returncode == 0, logs.stderr
    assert "kept by the operator" in logs.stdout
    assert lines[-1] in logs.stdout


def run_with_a_missing_image(kube, name: str) -> None:
    """A run whose task's image is not on the node (pull policy Never): it fails at once, in the kubelet's words."""
    missing = py("missing", "print('never runs')",
                 python={"image": "localhost/dagwright/does-not-exist:1"},
                 podTemplate=main_container(imagePullPolicy="Never"))
    kube.create_run(name, spec=spec(missing))
    run = kube.wait_for_phase(name, timeout=150)  # the 180 s grace would come later
    assert run["status"]["phase"] == "Failed"
    message = run["status"]["tasks"]["missing"]["message"]
    assert message.startswith("attempt 1 failed: ErrImageNeverPull: ")
    assert 'image "localhost/dagwright/does-not-exist:1" is not present with pull policy of Never' in message


def test_an_image_that_is_not_there_fails_at_once_with_the_kubelets_words(kube, operator):
    run_with_a_missing_image(kube, "noimage")
    job = kube.jobs("noimage")[0]
    assert job.spec.suspend is True  # its pod is stopped; the Job stays as the attempt's record


def test_a_missing_secret_fails_at_once_with_the_kubelets_words(kube, operator):
    needs_secret = py("db", "print('never runs')", podTemplate=main_container(
        env=[{"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "no-such-secret", "key": "password"}}}]))
    kube.create_run("nosecret", spec=spec(needs_secret))
    run = kube.wait_for_phase("nosecret", timeout=150)
    assert run["status"]["phase"] == "Failed"
    assert run["status"]["tasks"]["db"]["message"] == \
        'attempt 1 failed: CreateContainerConfigError: secret "no-such-secret" not found'


def test_an_image_pull_that_keeps_failing_ends_after_the_grace_period(kube, operator):
    operator.stop()
    operator.extra_args = ["--pod-start-grace", "20"]
    operator.start()
    unpullable = py("pull", "print('never runs')", python={"image": "localhost/dagwright/does-not-exist:1"})
    kube.create_run("pull", spec=spec(unpullable))
    run = kube.wait_for_phase("pull", timeout=RUN_TIMEOUT)
    assert run["status"]["phase"] == "Failed"
    message = run["status"]["tasks"]["pull"]["message"]
    assert message.startswith("attempt 1 failed: not started after 20s: ")
    assert "ImagePull" in message and "localhost/dagwright/does-not-exist:1" in message


def test_a_restricted_non_root_task_runs_without_privileges(kube, operator, kube_env):
    script = ("import os\nstatus = open('/proc/self/status').read()\n"
              "fields = dict(l.split(':', 1) for l in status.splitlines() if ':' in l)\n"
              "print('uid', os.getuid(), 'gid', os.getgid(), 'CapEff', fields['CapEff'].strip(),"
              " 'NoNewPrivs', fields['NoNewPrivs'].strip())\n")
    restricted = py("restricted", script, podTemplate={"spec": {"securityContext": {
        "runAsNonRoot": True, "runAsUser": 65532, "runAsGroup": 65532}}})
    kube.create_run("restricted", spec=spec(restricted))
    run = kube.wait_for_phase("restricted", timeout=RUN_TIMEOUT)
    assert run["status"]["phase"] == "Succeeded", run["status"]
    job = kube.jobs("restricted")[0]
    main = job.spec.template.spec.containers[0]
    assert main.security_context.allow_privilege_escalation is False
    logs = dagwright(kube_env, kube.ns, "logs", "restricted")
    assert "uid 65532 gid 65532 CapEff 0000000000000000 NoNewPrivs 1" in logs.stdout, logs.stdout + logs.stderr


def test_cancelling_a_run_stops_its_running_task(kube, operator):
    sleeper = py("sleeper", "import time\nprint('started', flush=True)\ntime.sleep(600)\n", podTemplate=QUICK_STOP)
    kube.create_run("cancel", spec=spec(sleeper))

    def running():
        pods = kube.core.list_namespaced_pod(kube.ns, label_selector="dagwright.io/run=cancel").items
        return any(s.state.running for p in pods for s in p.status.container_statuses or [])

    kube.wait_for("the task's container running", running, timeout=RUN_TIMEOUT, every=0.5)
    kube.patch_run("cancel", {"spec": {"cancel": True}})
    run = kube.wait_for_phase("cancel", timeout=60)
    assert run["status"]["phase"] == "Cancelled"
    assert run["status"]["tasks"]["sleeper"]["phase"] == "Cancelled"
    assert kube.jobs("cancel")[0].spec.suspend is True
    kube.wait_for("the pod stopped", lambda: not running(), timeout=120, every=1)
