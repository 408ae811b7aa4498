"""The API calls Dagwright makes, one function each, on plain dicts (the thin API layer).

Every function is blocking and makes exactly one call (which the client may send again, see
`kube.retry`); failures are `kube.errors` types. Paths and verbs live here and nowhere else, so
the operator's RBAC (charts/) can be read off this file.
"""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from typing import Any

from dagwright.api.models import GROUP, VERSION
from dagwright.kube.errors import NotFound
from dagwright.kube.http import KubeHttp
from dagwright.kube.retry import MERGE_PATCH

CRD_BASE = f"/apis/{GROUP}/{VERSION}"
PROPAGATION_BACKGROUND = {"propagationPolicy": "Background"}


def _ns_path(base: str, namespace: str, plural: str, name: str | None = None) -> str:
    path = f"{base}/namespaces/{namespace}/{plural}"
    return f"{path}/{name}" if name else path


def create_job(http: KubeHttp, body: dict[str, Any]) -> dict[str, Any]:
    """POST a Job; AlreadyExists when one of that name exists."""
    return http.request("POST", _ns_path("/apis/batch/v1", body["metadata"]["namespace"], "jobs"), body)


def get_job(http: KubeHttp, namespace: str, name: str) -> dict[str, Any] | None:
    """A Job, or None when there is none of that name."""
    try:
        return http.request("GET", _ns_path("/apis/batch/v1", namespace, "jobs", name))
    except NotFound:
        return None


def _patch_job(http: KubeHttp, namespace: str, name: str, patch: dict[str, Any]) -> None:
    """Merge-patch a Job; a Job that is gone is not an error (nothing is left to change)."""
    try:
        http.request("PATCH", _ns_path("/apis/batch/v1", namespace, "jobs", name), patch, content_type=MERGE_PATCH)
    except NotFound:
        pass


def suspend_job(http: KubeHttp, namespace: str, name: str) -> None:
    """Suspend a Job: Kubernetes stops its pod, the Job (and its history) stays."""
    _patch_job(http, namespace, name, {"spec": {"suspend": True}})


def fail_job(http: KubeHttp, namespace: str, name: str, annotation: str, reason: str) -> None:
    """Mark a Job's attempt failed (`annotation`: `reason`) and suspend it, which stops its pod."""
    _patch_job(http, namespace, name, {"metadata": {"annotations": {annotation: reason}}, "spec": {"suspend": True}})


def annotate_job(http: KubeHttp, namespace: str, name: str, annotations: dict[str, str]) -> None:
    """Add annotations to a Job."""
    _patch_job(http, namespace, name, {"metadata": {"annotations": annotations}})


# ---- task attempts as bare Pods (`taskResource: Pod`)


def create_pod(http: KubeHttp, body: dict[str, Any]) -> dict[str, Any]:
    """POST a task Pod; AlreadyExists when one of that name exists."""
    return http.request("POST", f"/api/v1/namespaces/{body['metadata']['namespace']}/pods", body)


def get_pod(http: KubeHttp, namespace: str, name: str) -> dict[str, Any] | None:
    """A Pod, or None when there is none of that name."""
    try:
        return http.request("GET", f"/api/v1/namespaces/{namespace}/pods/{name}")
    except NotFound:
        return None


def delete_pod(http: KubeHttp, namespace: str, name: str, grace_seconds: int | None = None) -> None:
    """Delete a task Pod (its containers get `grace_seconds` to stop); gone already is fine."""
    body = {"gracePeriodSeconds": grace_seconds} if grace_seconds is not None else None
    try:
        http.request("DELETE", f"/api/v1/namespaces/{namespace}/pods/{name}", body)
    except NotFound:
        pass


def annotate_pod(http: KubeHttp, namespace: str, name: str, annotations: dict[str, str]) -> None:
    """Add annotations to a Pod; gone already is fine."""
    try:
        http.request("PATCH", f"/api/v1/namespaces/{namespace}/pods/{name}",
                     {"metadata": {"annotations": annotations}}, content_type=MERGE_PATCH)
    except NotFound:
        pass


def pod_log_tail(http: KubeHttp, namespace: str, name: str, lines: int, limit_bytes: int) -> str:
    """The last `lines` lines (at most `limit_bytes`) of a pod's main container log."""
    return http.text(f"/api/v1/namespaces/{namespace}/pods/{name}/log",
                     {"container": "main", "tailLines": str(lines), "limitBytes": str(limit_bytes)}, timeout=10.0)


def create_configmap(http: KubeHttp, body: dict[str, Any]) -> dict[str, Any]:
    """POST a ConfigMap; AlreadyExists when one of that name exists."""
    return http.request("POST", _ns_path("/api/v1", body["metadata"]["namespace"], "configmaps"), body)


def get_configmap(http: KubeHttp, namespace: str, name: str) -> dict[str, Any] | None:
    """A ConfigMap, or None when there is none of that name."""
    try:
        return http.request("GET", _ns_path("/api/v1", namespace, "configmaps", name))
    except NotFound:
        return None


def watch_jobs_path(namespace: str | None) -> str:
    """The path to list and watch Jobs of one namespace or of all."""
    return _ns_path("/apis/batch/v1", namespace, "jobs") if namespace else "/apis/batch/v1/jobs"


def watch_pods_path(namespace: str | None) -> str:
    """The path to list and watch pods of one namespace or of all."""
    return f"/api/v1/namespaces/{namespace}/pods" if namespace else "/api/v1/pods"


def list_pods(http: KubeHttp, namespace: str, selector: str) -> list[dict[str, Any]]:
    """Pods matching `selector` in `namespace`."""
    return http.request("GET", f"/api/v1/namespaces/{namespace}/pods", query={"labelSelector": selector}).get("items", [])


def attempt_pods(http: KubeHttp, namespace: str, attempt: str) -> list[dict[str, Any]]:
    """The pod(s) of one task attempt: its Job's pods, else (taskResource: Pod) the attempt's own
    Pod, which is named like the Job would be."""
    pods = list_pods(http, namespace, f"job-name={attempt}")
    if pods:
        return pods
    own = get_pod(http, namespace, attempt)
    return [own] if own is not None else []


def pod_log(http: KubeHttp, namespace: str, name: str, container: str = "main") -> str:
    """A pod's container log as text."""
    return http.text(f"/api/v1/namespaces/{namespace}/pods/{name}/log", {"container": container})


def get_custom(http: KubeHttp, namespace: str, plural: str, name: str) -> dict[str, Any] | None:
    """A Workflow or WorkflowRun, or None when absent."""
    try:
        return http.request("GET", _ns_path(CRD_BASE, namespace, plural, name))
    except NotFound:
        return None


def custom_path(namespace: str, plural: str) -> str:
    """The path to list and watch Workflows or WorkflowRuns of one namespace."""
    return _ns_path(CRD_BASE, namespace, plural)


def list_custom(http: KubeHttp, namespace: str | None, plural: str, selector: str | None = None) -> list[dict[str, Any]]:
    """Workflows or WorkflowRuns of a namespace (None: all)."""
    path = _ns_path(CRD_BASE, namespace, plural) if namespace else f"{CRD_BASE}/{plural}"
    return http.request("GET", path, query={"labelSelector": selector} if selector else None).get("items", [])


def create_custom(http: KubeHttp, namespace: str, plural: str, body: dict[str, Any]) -> dict[str, Any]:
    """Create a Workflow or WorkflowRun; AlreadyExists when that name exists."""
    return http.request("POST", _ns_path(CRD_BASE, namespace, plural), body)


def patch_custom(http: KubeHttp, namespace: str, plural: str, name: str, patch: dict[str, Any]) -> dict[str, Any]:
    """Merge-patch a Workflow's or WorkflowRun's spec or metadata."""
    return http.request("PATCH", _ns_path(CRD_BASE, namespace, plural, name), patch, content_type=MERGE_PATCH)


def delete_custom(http: KubeHttp, namespace: str, plural: str, name: str) -> None:
    """Delete a Workflow or WorkflowRun (its Jobs follow through garbage collection)."""
    try:
        http.request("DELETE", _ns_path(CRD_BASE, namespace, plural, name), PROPAGATION_BACKGROUND)
    except NotFound:
        pass


def patch_status(http: KubeHttp, namespace: str, plural: str, name: str, status_patch: dict[str, Any]) -> dict[str, Any]:
    """One merge patch of the status subresource; returns the updated object."""
    return http.request("PATCH", _ns_path(CRD_BASE, namespace, plural, name) + "/status",
                        {"status": status_patch}, content_type=MERGE_PATCH)


def replace_status(http: KubeHttp, namespace: str, plural: str, body: dict[str, Any]) -> dict[str, Any]:
    """PUT the status subresource: refused with 409 Conflict when `body`'s resourceVersion is stale."""
    return http.request("PUT", _ns_path(CRD_BASE, namespace, plural, body["metadata"]["name"]) + "/status", body)


def get_secret_value(http: KubeHttp, namespace: str, name: str, key: str) -> str:
    """A Secret's key, decoded."""
    import base64

    secret = http.request("GET", f"/api/v1/namespaces/{namespace}/secrets/{name}")
    return base64.b64decode(secret.get("data", {}).get(key, "")).decode()


def create_event(http: KubeHttp, involved: dict[str, Any], reason: str, message: str, event_type: str) -> None:
    """Post one core/v1 Event about `involved` (a Workflow or WorkflowRun)."""
    now = datetime.now(UTC)
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    micro = now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    meta = involved["metadata"]
    body = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"generateName": f"{meta['name'][:200]}.", "namespace": meta["namespace"]},
        "involvedObject": {
            "apiVersion": involved.get("apiVersion", f"{GROUP}/{VERSION}"),
            "kind": involved["kind"],
            "name": meta["name"],
            "namespace": meta["namespace"],
            "uid": meta.get("uid", ""),
        },
        "reason": reason,
        "message": message[:1024],
        "type": event_type,
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "eventTime": micro,
        "count": 1,
        "action": reason,
        "source": {"component": "dagwright"},
        "reportingComponent": "dagwright.io/operator",
        "reportingInstance": socket.gethostname()[:128],
    }
    http.request("POST", f"/api/v1/namespaces/{meta['namespace']}/events", body)
