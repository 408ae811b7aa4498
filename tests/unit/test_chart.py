"""The Helm chart's checks that need no helm: the RBAC table against the code, the chart's CRD
copies, the image's lock file and Dockerfile.

The rendered chart is checked against the same table in tests/chart/test_chart_template.py,
which needs helm and runs with the cluster tier (`make test` builds helm first); this file runs
on a machine without any of the tools in .cache/bin.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

from .rbac_table import API_CALLS, OPERATOR_RULES, operator_needs

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "dagwright"
OPERATOR = REPO / "operator" / "dagwright"
RESOURCES = OPERATOR / "kube" / "resources.py"


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
        # the CLI runs with the user's rights, the web view (ui/) with its own read-only ServiceAccount
        if {"cli", "ui"} & set(path.relative_to(OPERATOR).parts) or path == RESOURCES:
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


# ----------------------------------------------------------------------------- CRDs


def test_the_charts_crds_are_identical_to_crds():
    committed = {p.name: p.read_bytes() for p in (REPO / "crds").glob("*.yaml")}
    in_chart = {p.name: p.read_bytes() for p in (CHART / "crds").glob("*.yaml")}
    stale = sorted(name for name in committed.keys() | in_chart.keys() if committed.get(name) != in_chart.get(name))
    assert not stale, (
        f"charts/dagwright/crds/ differs from crds/ in {stale}: "
        "run `make crds` (it refreshes both) or `cp crds/*.yaml charts/dagwright/crds/`"
    )


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


def test_the_dockerfile_runs_dagwright_as_a_non_root_user():
    text = (REPO / "Dockerfile").read_text()
    assert "ARG PYTHON_IMAGE=python:3.12-slim" in text and "FROM ${PYTHON_IMAGE}" in text
    assert re.search(r"pip install --only-binary=:all: --no-deps -r requirements.lock", text)
    assert re.findall(r"^USER (\S+)$", text, flags=re.MULTILINE) == ["65532:65532"]
    assert 'ENTRYPOINT ["dagwright"]' in text
    assert 'CMD ["operator", "--all-namespaces"]' in text
    ignored = (REPO / ".dockerignore").read_text().splitlines()
    assert ignored[ignored.index("*") + 1 :] and "!operator/" in ignored and "!requirements.lock" in ignored
