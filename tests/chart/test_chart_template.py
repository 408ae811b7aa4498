"""The Helm chart, rendered with `helm template`: lint, least-privilege RBAC, security, CRDs.

The rendered rules must be exactly the table of tests/unit/rbac_table.py (which
tests/unit/test_chart.py checks against the code); tests/cluster/test_chart.py then proves on
a real API server that these rules are enough.

Needs helm, so it runs with the cluster tier: `make test` (hack/test.sh) builds it into
.cache/bin first. A missing helm fails, never skips.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import yaml
from unit.rbac_table import KOPF_CLUSTER_NEEDS, OPERATOR_RULES, SPARK_RULES, needs_table

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "dagwright"
NS = "ops"


# ----------------------------------------------------------------------------- helpers


def helm_binary() -> str:
    local = REPO / ".cache" / "bin" / "helm"
    found = str(local) if local.exists() else shutil.which("helm")
    if not found:
        pytest.fail(
            "helm not found in .cache/bin or on PATH: run `make tools` (hack/build-tools.sh) "
            "or `make test`, which builds it",
            pytrace=False,
        )
    return found


def helm(*args: str) -> str:
    proc = subprocess.run(
        [helm_binary(), *args], check=False, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL
    )
    if proc.returncode != 0:
        pytest.fail(
            f"helm {' '.join(args)} failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}", pytrace=False
        )
    return proc.stdout


def render(*sets: str, include_crds: bool = False) -> list[dict[str, Any]]:
    args = ["template", "dagwright", str(CHART), "--namespace", NS]
    if include_crds:
        args.append("--include-crds")
    for value in sets:
        args += ["--set", value]
    return [doc for doc in yaml.safe_load_all(helm(*args)) if doc]


def of_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


def one(docs: list[dict[str, Any]], kind: str, name: str | None = None, namespace: str | None = None) -> dict[str, Any]:
    found = [
        d
        for d in of_kind(docs, kind)
        if (name is None or d["metadata"]["name"] == name)
        and (namespace is None or d["metadata"].get("namespace") == namespace)
    ]
    assert len(found) == 1, f"{len(found)} {kind} named {name} in {namespace}"
    return found[0]


def rule_table(rules: list[dict[str, Any]]) -> dict[tuple[str, str], set[str]]:
    table: dict[tuple[str, str], set[str]] = defaultdict(set)
    for rule in rules:
        assert "resourceNames" not in rule or rule["resourceNames"], rule
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                table[(group, resource)] |= set(rule["verbs"])
    return dict(table)


def container(docs: list[dict[str, Any]]) -> dict[str, Any]:
    return one(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]


@pytest.fixture(scope="module")
def default() -> list[dict[str, Any]]:
    return render()


@pytest.fixture(scope="module")
def namespaced() -> list[dict[str, Any]]:
    return render("watchNamespaces={a,b}")


# ----------------------------------------------------------------------------- lint, render


def test_helm_lint_passes_strict_for_default_and_namespaced_and_all_options():
    helm("lint", "--strict", str(CHART))
    helm("lint", "--strict", str(CHART), "--set", "watchNamespaces={a,b}")
    helm("lint", "--strict", str(CHART), "--set", "serviceMonitor.enabled=true", "--set", "webhook.enabled=true")


def test_default_install_grants_the_table_cluster_wide_and_nothing_namespaced(default):
    role = one(default, "ClusterRole", f"{NS}-dagwright")
    assert rule_table(role["rules"]) == OPERATOR_RULES
    binding = one(default, "ClusterRoleBinding", f"{NS}-dagwright")
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": f"{NS}-dagwright",
    }
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "dagwright", "namespace": NS}]
    assert [r["metadata"]["name"] for r in of_kind(default, "Role")] == ["dagwright-spark"]


def test_default_install_cluster_rules_are_crd_observation_only(default):
    role = one(default, "ClusterRole", f"{NS}-dagwright-cluster")
    assert rule_table(role["rules"]) == needs_table(KOPF_CLUSTER_NEEDS)
    assert one(default, "ClusterRoleBinding", f"{NS}-dagwright-cluster")["subjects"][0]["name"] == "dagwright"


def test_watch_namespaces_gives_a_role_per_namespace_and_no_cluster_role_at_all(namespaced):
    for ns in ("a", "b"):
        role = one(namespaced, "Role", "dagwright", ns)
        assert rule_table(role["rules"]) == OPERATOR_RULES
        binding = one(namespaced, "RoleBinding", "dagwright", ns)
        assert binding["roleRef"]["kind"] == "Role" and binding["roleRef"]["name"] == "dagwright"
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "dagwright", "namespace": NS}]
    assert of_kind(namespaced, "ClusterRole") == []
    assert of_kind(namespaced, "ClusterRoleBinding") == []


def test_no_rule_uses_wildcards_or_escalation_verbs():
    for docs in (render(), render("watchNamespaces={a,b}"), render("webhook.enabled=true")):
        for role in of_kind(docs, "Role") + of_kind(docs, "ClusterRole"):
            for rule in role["rules"]:
                flat = rule["apiGroups"] + rule["resources"] + rule["verbs"]
                assert "*" not in flat, role["metadata"]["name"]
                assert not {"escalate", "bind", "impersonate"} & set(rule["verbs"])
                assert not {"roles", "clusterroles", "rolebindings", "clusterrolebindings"} & set(rule["resources"])


@pytest.mark.parametrize(
    "sets, expected",
    [
        (
            (),
            [
                "operator",
                "--all-namespaces",
                "--json-logs",
                "--liveness-endpoint",
                "http://0.0.0.0:8080/healthz",
                "--metrics-port",
                "9090",
            ],
        ),
        (
            ("watchNamespaces={a,b}",),
            [
                "operator",
                "--namespace",
                "a",
                "--namespace",
                "b",
                "--json-logs",
                "--liveness-endpoint",
                "http://0.0.0.0:8080/healthz",
                "--metrics-port",
                "9090",
            ],
        ),
        (
            ("notifications.allowLinkLocalWebhooks=true",),
            [
                "operator",
                "--all-namespaces",
                "--json-logs",
                "--liveness-endpoint",
                "http://0.0.0.0:8080/healthz",
                "--metrics-port",
                "9090",
                "--allow-link-local-webhooks",
            ],
        ),
        (
            ("operator.podStartGraceSeconds=300",),
            [
                "operator",
                "--all-namespaces",
                "--json-logs",
                "--liveness-endpoint",
                "http://0.0.0.0:8080/healthz",
                "--metrics-port",
                "9090",
                "--pod-start-grace",
                "300",
            ],
        ),
    ],
    ids=["all namespaces by default", "a --namespace per watched namespace",
         "link-local webhooks only when notifications.allowLinkLocalWebhooks",
         "the pod start grace when operator.podStartGraceSeconds is set"],
)
def test_the_operator_command(sets, expected):
    docs = render(*sets)
    assert container(docs)["args"] == expected
    assert "command" not in container(docs)  # the image's ENTRYPOINT ["dagwright"]


def test_the_deployment_is_one_replica_recreated_with_a_liveness_probe_and_resources(default):
    deployment = one(default, "Deployment", "dagwright", NS)
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    main = container(default)
    assert main["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert {p["name"]: p["containerPort"] for p in main["ports"]} == {"health": 8080, "metrics": 9090, "webhook": 9443}
    assert set(main["resources"]) == {"requests", "limits"}
    assert {"cpu", "memory"} <= set(main["resources"]["requests"]) and {"cpu", "memory"} <= set(
        main["resources"]["limits"]
    )
    assert main["image"] == "ghcr.io/dagwright/dagwright:0.1.0"
    assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == "dagwright"


def test_the_operator_pod_meets_the_restricted_pod_security_profile(default):
    pod = one(default, "Deployment")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 65532
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    security = container(default)["securityContext"]
    assert security["runAsNonRoot"] is True and security["runAsUser"] == 65532
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert security["seccompProfile"] == {"type": "RuntimeDefault"}
    assert {"name": "tmp", "mountPath": "/tmp"} in container(default)["volumeMounts"]
    assert any(v["name"] == "tmp" and "emptyDir" in v for v in pod["volumes"])


def test_the_service_selects_the_operator_pod_with_metrics_and_webhook_ports(default):
    service = one(default, "Service", "dagwright", NS)
    pod_labels = one(default, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert {(p["name"], p["port"], p["targetPort"]) for p in service["spec"]["ports"]} == {
        ("metrics", 9090, "metrics"),
        ("webhook", 9443, "webhook"),
    }


def test_the_service_monitor_is_optional_and_scrapes_the_metrics_port(default):
    assert not of_kind(default, "ServiceMonitor")
    docs = render("serviceMonitor.enabled=true", "serviceMonitor.labels.release=prom")
    monitor = one(docs, "ServiceMonitor", "dagwright", NS)
    service = one(docs, "Service", "dagwright", NS)
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert monitor["spec"]["endpoints"][0]["port"] == "metrics"
    assert monitor["metadata"]["labels"]["release"] == "prom"


def test_the_admission_webhook_adds_its_flags_and_only_its_own_configuration_rights():
    docs = render("webhook.enabled=true")
    args = container(docs)["args"]
    assert args[args.index("--webhook-host") + 1] == f"dagwright.{NS}.svc"
    assert "--webhook" in args and args[args.index("--webhook-port") + 1] == "9443"
    rules = one(docs, "ClusterRole", f"{NS}-dagwright-cluster")["rules"]
    webhook_rules = [r for r in rules if r["apiGroups"] == ["admissionregistration.k8s.io"]]
    assert webhook_rules == [
        {
            "apiGroups": ["admissionregistration.k8s.io"],
            "resources": ["validatingwebhookconfigurations"],
            "verbs": ["create"],
        },
        {
            "apiGroups": ["admissionregistration.k8s.io"],
            "resources": ["validatingwebhookconfigurations"],
            "resourceNames": ["validate.dagwright.io"],
            "verbs": ["patch"],
        },
    ]
    unmanaged = render("webhook.enabled=true", "webhook.managed=false")
    assert "--webhook-unmanaged" in container(unmanaged)["args"]
    assert rule_table(one(unmanaged, "ClusterRole", f"{NS}-dagwright-cluster")["rules"]) == needs_table(
        KOPF_CLUSTER_NEEDS
    )


# ----------------------------------------------------------------------------- task identities


def test_the_task_service_account_has_no_token_and_no_rights(namespaced):
    for ns in ("a", "b"):
        account = one(namespaced, "ServiceAccount", "dagwright-task", ns)
        assert account["automountServiceAccountToken"] is False
    bound = [
        s for b in of_kind(namespaced, "RoleBinding") + of_kind(namespaced, "ClusterRoleBinding") for s in b["subjects"]
    ]
    assert not [s for s in bound if s["name"] == "dagwright-task"]


def test_the_spark_service_account_may_manage_executors_in_each_watched_namespace(namespaced):
    for ns in ("a", "b"):
        one(namespaced, "ServiceAccount", "dagwright-spark", ns)
        assert rule_table(one(namespaced, "Role", "dagwright-spark", ns)["rules"]) == SPARK_RULES
        binding = one(namespaced, "RoleBinding", "dagwright-spark", ns)
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "dagwright-spark", "namespace": ns}]


def test_task_service_accounts_go_to_the_release_namespace_when_watching_all(default):
    assert {(a["metadata"]["name"], a["metadata"]["namespace"]) for a in of_kind(default, "ServiceAccount")} == {
        ("dagwright", NS),
        ("dagwright-task", NS),
        ("dagwright-spark", NS),
    }
    docs = render("taskServiceAccounts.namespaces={x,y}", "taskServiceAccounts.spark.create=false")
    assert {(a["metadata"]["name"], a["metadata"]["namespace"]) for a in of_kind(docs, "ServiceAccount")} == {
        ("dagwright", NS),
        ("dagwright-task", "x"),
        ("dagwright-task", "y"),
    }


# ----------------------------------------------------------------------------- CRDs, image


def test_helm_installs_every_crd_and_templates_never_contain_them():
    docs = render(include_crds=True)
    assert sorted(d["metadata"]["name"] for d in of_kind(docs, "CustomResourceDefinition")) == [
        "dataassets.dagwright.io",
        "pools.dagwright.io",
        "workflowruns.dagwright.io",
        "workflows.dagwright.io",
    ]
    assert not of_kind(render(), "CustomResourceDefinition")


def test_the_chart_runs_the_operator_as_the_dockerfiles_user(default):
    user = re.findall(r"^USER (\d+):(\d+)$", (REPO / "Dockerfile").read_text(), flags=re.MULTILINE)
    assert len(user) == 1
    security = container(default)["securityContext"]
    assert (str(security["runAsUser"]), str(security["runAsGroup"])) == user[0]
