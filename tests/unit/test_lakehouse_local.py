"""The runnable lakehouse example (examples/lakehouse-local) without a cluster: its Workflow is
valid and renders, its inputs are what the pods expect, and its landed data is deterministic with
the bad rows each day is meant to have. tests/cluster/test_lakehouse_local.py runs it for real."""

from __future__ import annotations

import importlib.util
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from dagwright.api.models import WorkflowSpec
from dagwright.api.validation import validate_workflow_spec
from dagwright.cli.render import RenderOptions, render_documents

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "lakehouse-local"
ENDPOINTS = {"postgres": {"host": "10.89.0.1", "port": 15432, "user": "u", "password": "p", "crm": "crm",
                          "catalog": "lakehouse"},
             "s3": {"endpoint": "http://10.89.0.1:19000", "accessKey": "k", "secretKey": "s", "region": "us-east-1"},
             "receiver": {"url": "http://10.89.0.1:18080"}}


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"lakehouse_local_{name}", EXAMPLE / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


local = _load("local")
landing = sys.modules["landing"]


def _workflow() -> dict:
    return yaml.safe_load((EXAMPLE / "workflow.yaml").read_text())


def test_the_workflow_is_valid_and_renders_one_job_per_task_on_the_real_node():
    doc = _workflow()
    spec = WorkflowSpec.model_validate(doc["spec"])
    assert validate_workflow_spec(spec) == []
    jobs = render_documents([doc], RenderOptions(logical_date=datetime(2026, 11, 24, 1, tzinfo=UTC)),
                            datetime(2026, 11, 24, 1, 0, 5, tzinfo=UTC))
    assert [j["metadata"]["labels"]["dagwright.io/task"] for j in jobs] == [
        "validate-landing", "bronze-ingest", "silver", "gold", "quality-gate", "reverse-etl"]
    for job in jobs:
        pod = job["spec"]["template"]["spec"]
        assert pod["nodeSelector"] == {"dagwright.io/real-node": "true"}
        assert all(c["image"].startswith("localhost/dagwright/") for c in pod["containers"] + pod.get("initContainers", []))


def test_the_manifests_carry_the_code_the_dbt_project_as_paths_and_the_endpoints():
    code, dbt, endpoints, secret = local.manifests(ENDPOINTS)
    assert {"validate.py", "bronze.py", "reverse_etl.py", "lakeconf.py", "s3lite.py"} <= set(code["data"])
    assert {"dbt_project.yml", "profiles.yml", "models__silver__orders.sql", "models__gold__customer_value.sql",
            "tests__gate_rejected_share.sql"} <= set(dbt["data"])
    assert endpoints["data"]["LAKE_CATALOG_URI"] == "jdbc:postgresql://10.89.0.1:15432/lakehouse"
    assert endpoints["data"]["CRM_JDBC_URL"] == "jdbc:postgresql://10.89.0.1:15432/crm"
    assert secret["kind"] == "Secret" and secret["stringData"]["NOTIFY_URL"] == "http://10.89.0.1:18080/lakehouse"


def _bad_rows(files: dict[str, str]) -> tuple[int, int]:
    rows = [line for text in files.values() for line in text.splitlines()[1:]]
    bad = sum(1 for r in rows if ",," in r or ",-" in r or ",n/a," in r)
    return len(rows), bad + len(rows) - len(set(rows))


@pytest.mark.parametrize("quality, low, high", [("good", 0.005, 0.05), ("bad", 0.2, 0.5)],
                         ids=["a-good-day-has-a-few-bad-rows", "a-bad-day-has-many"])
def test_landed_days_are_deterministic_with_their_share_of_bad_rows(quality, low, high):
    first = landing.generate("2026-11-24", 7, quality, 600)
    assert first == landing.generate("2026-11-24", 7, quality, 600)
    assert first != landing.generate("2026-11-24", 8, quality, 600)
    rows, bad = _bad_rows(first)
    assert rows == 600 and low * rows <= bad <= high * rows
