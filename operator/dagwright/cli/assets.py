"""`dagwright assets`: the asset graph — which task produces what from what (thin wiring).

Reads Workflows from the cluster (`-n`, or every namespace with `-A`) or from YAML files (`-f`),
builds the graph with the pure `planner/assets.py:asset_graph`, and draws one block per asset:
who produces it (and from which inputs), the checks on it, who consumes it, which workflows its
updates trigger; with the cluster, the DataAsset's last materialization too.
"""

from __future__ import annotations

import argparse
from typing import Any

from pydantic import ValidationError

from dagwright.api.assets import DataAssetStatus
from dagwright.api.models import API_VERSION, WorkflowSpec
from dagwright.cli.commands import _http, _namespace, common
from dagwright.cli.render import load_documents
from dagwright.kube import resources
from dagwright.kube.errors import ApiError
from dagwright.planner.assets import AssetGraph, asset_graph

__all__ = ["add_assets_command", "draw_asset_graph"]


def draw_asset_graph(graph: AssetGraph, materialized: dict[str, DataAssetStatus] | None = None) -> str:
    """The graph as text, one block per asset (pure)."""
    lines = []
    for asset in graph.assets:
        lines.append(asset)
        status = (materialized or {}).get(asset)
        if status is not None and status.last_updated:
            checks = f", checks {status.checks}" if status.checks else ""
            lines.append(f"  last updated {status.last_updated} by {status.last_run}/{status.last_task} "
                         f"({status.count} materializations{checks})")
        for producer in graph.producers.get(asset, []):
            inputs = graph.inputs.get(producer, [])
            lines.append(f"  ← produced by {producer}" + (f" from {', '.join(inputs)}" if inputs else ""))
        for check in graph.checks.get(asset, []):
            lines.append(f"  ✓ checked by {check}")
        for consumer in graph.consumers.get(asset, []):
            lines.append(f"  → consumed by {consumer}")
        for workflow in graph.triggers.get(asset, []):
            lines.append(f"  ⚡ triggers workflow {workflow}")
    return "\n".join(lines) if lines else "no assets: no task declares produces or consumes"


def _specs_from_files(paths: list[str]) -> dict[str, WorkflowSpec]:
    specs = {}
    for path in paths:
        for doc in load_documents(path):
            if isinstance(doc, dict) and doc.get("apiVersion") == API_VERSION and doc.get("kind") == "Workflow":
                try:
                    specs[doc["metadata"]["name"]] = WorkflowSpec.model_validate(doc.get("spec") or {})
                except ValidationError as error:
                    raise SystemExit(f"dagwright: {path}: {doc['metadata']['name']}: {error}") from None
    return specs


def cmd_assets(args: argparse.Namespace) -> int:
    if args.filename:
        print(draw_asset_graph(asset_graph(_specs_from_files(args.filename))))
        return 0
    http = _http(args)
    namespace = None if args.all_namespaces else _namespace(args)
    try:
        workflows = resources.list_custom(http, namespace, "workflows")
        assets = resources.list_custom(http, namespace, "dataassets")
    except ApiError as error:
        raise SystemExit(f"dagwright: {error.message}") from None
    specs: dict[str, WorkflowSpec] = {}
    for body in workflows:
        try:
            specs[_qualified(body, args.all_namespaces)] = WorkflowSpec.model_validate(body.get("spec") or {})
        except ValidationError:
            continue  # an invalid Workflow has its own Valid=False condition
    statuses = {}
    for body in assets:
        try:
            statuses[(body.get("spec") or {}).get("asset", "")] = DataAssetStatus.model_validate(body.get("status") or {})
        except ValidationError:
            continue
    print(draw_asset_graph(asset_graph(specs), statuses))
    return 0


def _qualified(body: dict[str, Any], all_namespaces: bool) -> str:
    meta = body["metadata"]
    return f"{meta['namespace']}/{meta['name']}" if all_namespaces else str(meta["name"])


def add_assets_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = common(sub.add_parser("assets", help="the asset graph: which task produces what from what"))
    p.add_argument("-f", "--filename", action="append", help="read Workflows from this YAML file (repeatable)")
    p.add_argument("--all-namespaces", "-A", action="store_true", help="every namespace")
    p.set_defaults(func=cmd_assets)
