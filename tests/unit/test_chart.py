"""The Helm chart, rendered with `helm template`: lint, least-privilege RBAC, security, CRD copies.

The operator's RBAC is derived from operator/dagwright/kube/resources.py (the only module that
calls the API server): `API_CALLS` says what each of its functions needs when the operator calls
it, `KOPF_NEEDS` what kopf itself does. The rendered rules must be exactly their union - a verb
more or less fails - and a new function in resources.py fails until it is classified here.
tests/cluster/test_chart.py then proves on a real API server that these rules are enough.

Needs helm: `make test` builds it into .cache/bin first. A missing helm fails, never skips.
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "dagwright"
OPERATOR = REPO / "operator" / "dagwright"
RESOURCES = OPERATOR / "kube" / "resources.py"
NS = "ops"

Need = tuple[str, str, str]  # (apiGroup, resource, verb)

# What the operator needs when it calls each function of kube/resources.py. `()` marks a
# function only the user CLI calls (it runs with the user's own rights, not the operator's).
API_CALLS: dict[str, tuple[Need, ...]] = {
    "create_job": (("batch", "jobs", "create"),),
    "get_job": (("batch", "jobs", "get"),),  # adopt an existing Job after 409 AlreadyExists
    "suspend_job": (("batch", "jobs", "patch"),),  # cancel and timeouts
    "watch_jobs_path": (("batch", "jobs", "list"), ("batch", "jobs", "watch")),  # JobIndex, labelled Jobs only
    "watch_pods_path": (("", "pods", "list"), ("", "pods", "watch")),  # JobIndex, labelled pods only
    "list_pods": (("", "pods", "list"),),  # exit codes and termination messages of attempts
    "pod_log": (),  # `dagwright logs`
    "get_custom": (("dagwright.io", "workflows", "get"), ("dagwright.io", "workflowruns", "get")),
    "list_custom": (),  # `dagwright list`; the operator's lists are kopf's
    "custom_path": (),  # `dagwright watch`: list + watch of one run by name
    "create_custom": (("dagwright.io", "workflowruns", "create"),),  # the scheduler
    "patch_custom": (("dagwright.io", "workflowruns", "patch"),),  # Replace policy cancels a run
    "delete_custom": (("dagwright.io", "workflowruns", "delete"),),  # history limits
    "patch_status": (("dagwright.io", "workflows/status", "patch"), ("dagwright.io", "workflowruns/status", "patch")),
    "get_secret_value": (("", "secrets", "get"),),  # notification URLs (urlFrom.secretKeyRef)
    "create_event": (("", "events", "create"),),
}

# kopf: list + watch of the served resources; patch of them (it removes finalizers it no longer
# needs, and writes its annotations when change handlers exist); Events it posts itself.
KOPF_NEEDS: tuple[Need, ...] = (
    ("dagwright.io", "workflows", "list"),
    ("dagwright.io", "workflows", "watch"),
    ("dagwright.io", "workflows", "patch"),
    ("dagwright.io", "workflowruns", "list"),
    ("dagwright.io", "workflowruns", "watch"),
    ("dagwright.io", "workflowruns", "patch"),
    ("", "events", "create"),
)
# kopf, cluster-scoped, watching all namespaces: CRD observation. Watching named namespaces,
# kopf's scanning is off and the operator needs no cluster-scoped rule.
KOPF_CLUSTER_NEEDS: tuple[Need, ...] = (
    ("apiextensions.k8s.io", "customresourcedefinitions", "list"),
    ("apiextensions.k8s.io", "customresourcedefinitions", "watch"),
)

# The same, as the table a reader checks: resource -> verbs.
OPERATOR_RULES = {
    ("batch", "jobs"): {"create", "get", "list", "watch", "patch"},
    ("", "pods"): {"list", "watch"},
    ("", "events"): {"create"},
    ("", "secrets"): {"get"},
    ("dagwright.io", "workflows"): {"get", "list", "watch", "patch"},
    ("dagwright.io", "workflows/status"): {"patch"},
    ("dagwright.io", "workflowruns"): {"get", "list", "watch", "create", "patch", "delete"},
    ("dagwright.io", "workflowruns/status"): {"patch"},
}
SPARK_RULES = {
    ("", "pods"): {"create", "get", "list", "watch", "delete"},
    ("", "services"): {"create", "get", "delete"},
    ("", "configmaps"): {"create", "get", "delete"},
    ("", "persistentvolumeclaims"): {"list", "delete"},
}


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


def needs_table(needs: tuple[Need, ...] | list[Need]) -> dict[tuple[str, str], set[str]]:
    table: dict[tuple[str, str], set[str]] = defaultdict(set)
    for group, resource, verb in needs:
        table[(group, resource)].add(verb)
    return dict(table)


def operator_needs() -> dict[tuple[str, str], set[str]]:
    return needs_table([need for needs in API_CALLS.values() for need in needs] + list(KOPF_NEEDS))


def container(docs: list[dict[str, Any]]) -> dict[str, Any]:
    return one(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]


@pytest.fixture(scope="module")
def default() -> list[dict[str, Any]]:
    return render()


@pytest.fixture(scope="module")
def namespaced() -> list[dict[str, Any]]:
    return render("watchNamespaces={a,b}")


# ----------------------------------------------------------------------------- the table


def test_every_api_function_in_kube_resources_is_classified_in_the_rbac_table():
    tree = ast.parse(RESOURCES.read_text())
    functions = {node.name for node in tree.body if isinstance(node, ast.FunctionDef) and not node.name.startswith("_")}
    assert functions == set(API_CALLS), (
        f"kube/resources.py functions not in API_CALLS: {sorted(functions - set(API_CALLS))}; "
        f"stale entries: {sorted(set(API_CALLS) - functions)} - classify them and update the chart's rules"
    )


def test_the_operator_calls_no_function_marked_cli_only():
    cli_only = {name for name, needs in API_CALLS.items() if not needs}
    used: dict[str, set[str]] = defaultdict(set)
    for path in OPERATOR.rglob("*.py"):
        if "cli" in path.relative_to(OPERATOR).parts or path == RESOURCES:
            continue
        text = path.read_text()
        for name in re.findall(r"\bresources\.(\w+)", text):
            used[name].add(str(path.relative_to(REPO)))
        for group in re.findall(r"from dagwright\.kube\.resources import ([^\n]+)", text):
            for name in re.findall(r"\w+", group):
                used[name].add(str(path.relative_to(REPO)))
    wrongly = {name: sorted(paths) for name, paths in used.items() if name in cli_only}
    assert not wrongly, f"the operator calls functions the RBAC table marks CLI-only: {wrongly}"
    assert set(used) - {"resources"} <= set(API_CALLS)


def test_the_table_is_the_union_of_api_calls_and_kopf_needs():
    assert operator_needs() == OPERATOR_RULES


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
    ],
    ids=["all namespaces by default", "a --namespace per watched namespace"],
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


# ----------------------------------------------------------------------------- CRDs


def test_the_charts_crds_are_identical_to_crds():
    committed = {p.name: p.read_bytes() for p in (REPO / "crds").glob("*.yaml")}
    in_chart = {p.name: p.read_bytes() for p in (CHART / "crds").glob("*.yaml")}
    stale = sorted(name for name in committed.keys() | in_chart.keys() if committed.get(name) != in_chart.get(name))
    assert not stale, (
        f"charts/dagwright/crds/ differs from crds/ in {stale}: "
        "run `make crds` (it refreshes both) or `cp crds/*.yaml charts/dagwright/crds/`"
    )


def test_helm_installs_both_crds_and_templates_never_contain_them():
    docs = render(include_crds=True)
    assert sorted(d["metadata"]["name"] for d in of_kind(docs, "CustomResourceDefinition")) == [
        "workflowruns.dagwright.io",
        "workflows.dagwright.io",
    ]
    assert not of_kind(render(), "CustomResourceDefinition")


# ----------------------------------------------------------------------------- the image


def test_the_lock_pins_every_runtime_dependency_within_pyproject():
    import tomllib

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    pins = {}
    for line in (REPO / "requirements.lock").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"requirements.lock: {line!r} is not pinned with =="
            pins[canonicalize_name(name)] = version
    for text in tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        assert name in pins, (
            f"{name} is a runtime dependency but not in requirements.lock: run hack/lock-requirements.py"
        )
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"requirements.lock pins {name}=={pins[name]}, outside pyproject's {requirement.specifier}"
        )
    assert not {"pytest", "hypothesis", "lupa"} & set(pins)


def test_the_dockerfile_runs_dagwright_as_the_charts_non_root_user(default):
    text = (REPO / "Dockerfile").read_text()
    assert "ARG PYTHON_IMAGE=python:3.12-slim" in text and "FROM ${PYTHON_IMAGE}" in text
    assert re.search(r"pip install --only-binary=:all: --no-deps -r requirements.lock", text)
    assert re.findall(r"^USER (\S+)$", text, flags=re.MULTILINE) == ["65532:65532"]
    assert 'ENTRYPOINT ["dagwright"]' in text
    assert 'CMD ["operator", "--all-namespaces"]' in text
    assert container(default)["securityContext"]["runAsUser"] == 65532
    ignored = (REPO / ".dockerignore").read_text().splitlines()
    assert ignored[ignored.index("*") + 1 :] and "!operator/" in ignored and "!requirements.lock" in ignored
