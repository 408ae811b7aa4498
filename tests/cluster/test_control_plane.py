"""The test cluster is a real Kubernetes control plane: schema validation, the Job controller,
kwok-simulated pods (sim.dagwright.io/* annotations), garbage collection, namespace deletion.

Runs against the local control plane (hack/cluster-up.sh) or any cluster given by KUBECONFIG;
the sim.dagwright.io annotations need kwok with hack/kwok/stages.yaml.
"""

from __future__ import annotations

import os
import secrets
import time
from datetime import datetime

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException
from kubernetes.utils import parse_quantity

TASK_RESOURCE = "Job"  # these tests look at the runs' Jobs (the default, Pod, elsewhere: test_pod_mode.py)

LOCAL = not os.environ.get("KUBECONFIG")


def wait_until(fn, timeout: float, what: str, interval: float = 0.1):
    """Poll fn() until it returns a truthy value; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = fn()
        if last:
            return last
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what} (last: {last!r})", pytrace=False)
        time.sleep(interval)


def job_manifest(name: str, annotations=None, labels=None, owner=None) -> dict:
    meta = {"name": name}
    if owner is not None:
        meta["ownerReferences"] = [owner]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": meta,
        "spec": {
            "backoffLimit": 0,
            "template": {
                "metadata": {"annotations": annotations or {}, "labels": labels or {}},
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "main", "image": "example.invalid/task:1", "command": ["true"]}],
                },
            },
        },
    }


def job_condition(batch: client.BatchV1Api, ns: str, name: str):
    """'Complete' or 'Failed' once the Job finished, else None."""
    job = batch.read_namespaced_job(name, ns)
    for cond in job.status.conditions or []:
        if cond.type in ("Complete", "Failed") and cond.status == "True":
            return cond.type
    return None


def run_job(kube_api, ns: str, name: str, timeout: float = 60, **kw) -> tuple[str, client.V1Pod, float]:
    """Create a Job, wait until it finishes; returns (condition, its pod, seconds taken)."""
    batch = client.BatchV1Api(kube_api)
    core = client.CoreV1Api(kube_api)
    t0 = time.monotonic()
    batch.create_namespaced_job(ns, job_manifest(name, **kw))
    cond = wait_until(lambda: job_condition(batch, ns, name), timeout, f"Job {ns}/{name} to finish")
    took = time.monotonic() - t0
    pods = core.list_namespaced_pod(ns, label_selector=f"batch.kubernetes.io/job-name={name}").items
    assert len(pods) == 1, [p.metadata.name for p in pods]
    return cond, pods[0], took


def terminated(pod: client.V1Pod):
    (status,) = pod.status.container_statuses
    assert status.state.terminated is not None, status.state
    return status.state.terminated


def test_nodes_ready_and_version(kube_api):
    core = client.CoreV1Api(kube_api)
    nodes = core.list_node().items
    ready = [
        n.metadata.name
        for n in nodes
        if any(c.type == "Ready" and c.status == "True" for c in n.status.conditions or [])
    ]
    assert ready, "no Ready node"
    if LOCAL:
        kwok = [n for n in nodes if (n.metadata.annotations or {}).get("kwok.x-k8s.io/node") == "fake"]
        assert len(kwok) >= 3
        for n in kwok:
            assert n.metadata.name in ready
            assert not [t for t in n.spec.taints or [] if "not-ready" in t.key]
            assert parse_quantity(n.status.allocatable["pods"]) >= 1000  # a Quantity: "1k"
        version = client.VersionApi(kube_api).get_code()
        assert version.git_version.startswith("v1.33."), version.git_version


def test_crd_structural_schema_refuses_invalid_object(kube_api, namespace):
    ext = client.ApiextensionsV1Api(kube_api)
    custom = client.CustomObjectsApi(kube_api)
    suffix = secrets.token_hex(3)
    group, plural, kind = "test.dagwright.io", f"widgets{suffix}", f"Widget{suffix.upper()}"
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"plural": plural, "singular": plural[:-1], "kind": kind},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {
                                "spec": {
                                    "type": "object",
                                    "required": ["size"],
                                    "properties": {
                                        "size": {"type": "integer", "minimum": 1, "maximum": 10},
                                        "color": {"type": "string", "enum": ["red", "blue"]},
                                    },
                                    "x-kubernetes-validations": [
                                        {"rule": "self.size < 5 || has(self.color)", "message": "big widgets need a color"}
                                    ],
                                }
                            },
                        }
                    },
                }
            ],
        },
    }
    ext.create_custom_resource_definition(crd)
    try:
        wait_until(
            lambda: any(
                c.type == "Established" and c.status == "True"
                for c in ext.read_custom_resource_definition(f"{plural}.{group}").status.conditions or []
            ),
            30,
            "CRD Established",
        )

        def obj(name, spec):
            return {"apiVersion": f"{group}/v1", "kind": kind, "metadata": {"name": name}, "spec": spec}

        def create(name, spec):
            return custom.create_namespaced_custom_object(group, "v1", namespace, plural, obj(name, spec))

        # The REST endpoint appears shortly after Established: retry on 404 only.
        def created_valid():
            try:
                return create("ok", {"size": 2})
            except ApiException as exc:
                if exc.status == 404:
                    return None
                raise

        wait_until(created_valid, 30, "the CRD's endpoint to serve")

        for name, spec, needle in [
            ("wrong-type", {"size": "big"}, "spec.size"),
            ("too-big", {"size": 11}, "spec.size"),
            ("missing", {"color": "red"}, "spec.size"),
            ("bad-enum", {"size": 1, "color": "green"}, "spec.color"),
            ("cel", {"size": 7}, "big widgets need a color"),
        ]:
            with pytest.raises(ApiException) as err:
                create(name, spec)
            assert err.value.status == 422, (name, err.value.status, err.value.body)
            assert needle in err.value.body, (name, err.value.body)
        # Unknown fields are pruned, not stored (structural schema).
        got = create("pruned", {"size": 1, "extra": "x"})
        assert "extra" not in got["spec"]
    finally:
        ext.delete_custom_resource_definition(f"{plural}.{group}")


def test_job_completes_promptly(kube_api, namespace):
    cond, pod, took = run_job(kube_api, namespace, "plain")
    assert cond == "Complete"
    assert pod.status.phase == "Succeeded"
    assert terminated(pod).exit_code == 0
    if LOCAL:
        assert took < 10, f"a plain Job took {took:.1f}s"


def test_job_with_exit_code_fails(kube_api, namespace):
    cond, pod, _ = run_job(kube_api, namespace, "exit3", annotations={"sim.dagwright.io/exit-code": "3"})
    assert cond == "Failed"
    assert pod.status.phase == "Failed"
    assert terminated(pod).exit_code == 3


def test_fail_first_attempt(kube_api, namespace):
    ann = {"sim.dagwright.io/fail-first-attempt": "true"}
    cond1, pod1, _ = run_job(kube_api, namespace, "ffa-1", annotations=ann, labels={"dagwright.io/attempt": "1"})
    assert (cond1, pod1.status.phase, terminated(pod1).exit_code) == ("Failed", "Failed", 1)
    cond2, pod2, _ = run_job(kube_api, namespace, "ffa-2", annotations=ann, labels={"dagwright.io/attempt": "2"})
    assert (cond2, pod2.status.phase, terminated(pod2).exit_code) == ("Complete", "Succeeded", 0)
    # With an explicit exit code, attempt 1 fails with it.
    ann_code = {**ann, "sim.dagwright.io/exit-code": "4"}
    cond3, pod3, _ = run_job(kube_api, namespace, "ffa-3", annotations=ann_code, labels={"dagwright.io/attempt": "1"})
    assert (cond3, terminated(pod3).exit_code) == ("Failed", 4)


def test_duration_annotation(kube_api, namespace):
    cond, pod, took = run_job(kube_api, namespace, "two-secs", annotations={"sim.dagwright.io/duration": "2s"})
    assert cond == "Complete"
    assert took >= 2.0, took
    state = terminated(pod)
    # Timestamps have second precision; a run of >= 2s real time spans >= 2 whole seconds.
    assert (state.finished_at - state.started_at).total_seconds() >= 2, (state.started_at, state.finished_at)
    assert isinstance(state.started_at, datetime)


def test_duration_then_failure(kube_api, namespace):
    ann = {"sim.dagwright.io/duration": "1s", "sim.dagwright.io/exit-code": "2"}
    cond, pod, took = run_job(kube_api, namespace, "slow-fail", annotations=ann)
    assert (cond, terminated(pod).exit_code) == ("Failed", 2)
    assert took >= 1.0, took


def test_termination_message_annotation(kube_api, namespace):
    msg = '{"rows": 3, "path": "s3://bucket/out"}'
    ann = {"sim.dagwright.io/termination-message": msg}
    cond, pod, _ = run_job(kube_api, namespace, "outputs", annotations=ann)
    assert (cond, terminated(pod).message) == ("Complete", msg)
    cond, pod, _ = run_job(kube_api, namespace, "outputs-fail", annotations={**ann, "sim.dagwright.io/exit-code": "5"})
    assert (cond, terminated(pod).exit_code, terminated(pod).message) == ("Failed", 5, msg)


def test_deleting_owner_garbage_collects_jobs(kube_api, namespace):
    core = client.CoreV1Api(kube_api)
    batch = client.BatchV1Api(kube_api)
    owner = core.create_namespaced_config_map(
        namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="owner"))
    )
    ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner.metadata.uid}
    batch.create_namespaced_job(namespace, job_manifest("owned-a", owner=ref))
    batch.create_namespaced_job(namespace, job_manifest("owned-b", owner=ref, annotations={"sim.dagwright.io/duration": "1h"}))
    batch.create_namespaced_job(namespace, job_manifest("not-owned"))
    wait_until(lambda: job_condition(batch, namespace, "owned-a"), 60, "owned-a to finish")
    # The long-running Job's pod is Running on a kwok node.
    wait_until(
        lambda: [
            p
            for p in core.list_namespaced_pod(namespace, label_selector="batch.kubernetes.io/job-name=owned-b").items
            if p.status.phase == "Running"
        ],
        60,
        "owned-b's pod to run",
    )
    core.delete_namespaced_config_map("owner", namespace)

    def owned_gone():
        names = {j.metadata.name for j in batch.list_namespaced_job(namespace).items}
        return not names & {"owned-a", "owned-b"}

    wait_until(owned_gone, 60, "the garbage collector to delete the owned Jobs")
    wait_until(
        lambda: not core.list_namespaced_pod(namespace, label_selector="batch.kubernetes.io/job-name in (owned-a,owned-b)").items,
        60,
        "the owned Jobs' pods to be deleted",
    )
    assert batch.read_namespaced_job("not-owned", namespace).metadata.deletion_timestamp is None


def test_deleting_namespace_removes_its_jobs(kube_api, namespace):
    core = client.CoreV1Api(kube_api)
    batch = client.BatchV1Api(kube_api)
    batch.create_namespaced_job(namespace, job_manifest("done"))
    batch.create_namespaced_job(namespace, job_manifest("running", annotations={"sim.dagwright.io/duration": "1h"}))
    wait_until(lambda: job_condition(batch, namespace, "done"), 60, "Job done to finish")
    core.delete_namespace(namespace)

    def ns_gone():
        try:
            core.read_namespace(namespace)
            return False
        except ApiException as exc:
            if exc.status == 404:
                return True
            raise

    wait_until(ns_gone, 120, f"namespace {namespace} to be deleted", interval=0.5)
    assert not batch.list_namespaced_job(namespace).items
    assert not core.list_namespaced_pod(namespace).items
