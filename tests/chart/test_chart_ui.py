"""The chart's web view (`ui.enabled`), rendered with `helm template`: off by default; when on, a
Deployment running `dagwright ui` with its own ServiceAccount whose rules only read, a Service to
port-forward to, and the operator's restricted pod security. Needs helm (cluster tier)."""

from __future__ import annotations

from typing import Any

import pytest

from .test_chart_template import CHART, NS, helm, of_kind, one, render, rule_table

UI = "dagwright-ui"
READ_ONLY = {
    ("dagwright.io", "workflows"): {"get", "list", "watch"},
    ("dagwright.io", "workflowruns"): {"get", "list", "watch"},
    ("batch", "jobs"): {"get", "list", "watch"},
    ("", "pods"): {"get", "list", "watch"},
    ("", "pods/log"): {"get"},
}


def ui_objects(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [d for d in docs if (d["metadata"].get("labels") or {}).get("app.kubernetes.io/component") == "ui"]


@pytest.fixture(scope="module")
def enabled() -> list[dict[str, Any]]:
    return render("ui.enabled=true")


def test_helm_lint_passes_with_the_web_view_on():
    helm("lint", "--strict", str(CHART), "--set", "ui.enabled=true")
    helm("lint", "--strict", str(CHART), "--set", "ui.enabled=true", "--set", "watchNamespaces={a,b}")


def test_the_web_view_is_off_by_default():
    assert ui_objects(render()) == []


def test_the_web_view_runs_dagwright_ui_as_its_own_read_only_service_account(enabled):
    deployment = one(enabled, "Deployment", UI, NS)
    pod = deployment["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == UI
    assert one(enabled, "ServiceAccount", UI, NS)
    main = pod["containers"][0]
    assert main["args"] == ["ui", "--address=0.0.0.0", "--port=8080"]
    assert main["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    role = one(enabled, "ClusterRole", f"{NS}-dagwright-ui")
    assert rule_table(role["rules"]) == READ_ONLY
    binding = one(enabled, "ClusterRoleBinding", f"{NS}-dagwright-ui")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": UI, "namespace": NS}]
    assert binding["roleRef"]["name"] == role["metadata"]["name"]


def test_the_web_view_pod_meets_the_restricted_profile(enabled):
    pod = one(enabled, "Deployment", UI, NS)["spec"]["template"]["spec"]
    security = pod["containers"][0]["securityContext"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert security["readOnlyRootFilesystem"] is True and security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}


def test_the_web_view_service_selects_only_the_web_view_pod(enabled):
    service = one(enabled, "Service", UI, NS)
    ui_labels = one(enabled, "Deployment", UI, NS)["spec"]["template"]["metadata"]["labels"]
    operator_labels = one(enabled, "Deployment", "dagwright", NS)["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= ui_labels.items()
    assert not service["spec"]["selector"].items() <= operator_labels.items()
    assert [(p["port"], p["targetPort"]) for p in service["spec"]["ports"]] == [(8080, "http")]


def test_with_watch_namespaces_the_web_view_gets_a_role_per_namespace_and_shows_only_them():
    docs = render("ui.enabled=true", "watchNamespaces={a,b}")
    ui = ui_objects(docs)
    assert of_kind(ui, "ClusterRole") == [] and of_kind(ui, "ClusterRoleBinding") == []
    for namespace in ("a", "b"):
        assert rule_table(one(ui, "Role", UI, namespace)["rules"]) == READ_ONLY
        assert one(ui, "RoleBinding", UI, namespace)["subjects"][0]["namespace"] == NS
    args = one(docs, "Deployment", UI, NS)["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[-2:] == ["--namespace=a", "--namespace=b"]
