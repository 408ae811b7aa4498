"""`dagwright assets -f`: the asset graph of the examples, drawn without a cluster."""

from __future__ import annotations

from pathlib import Path

from dagwright.api.assets import DataAssetStatus
from dagwright.cli.assets import draw_asset_graph
from dagwright.cli.main import main
from dagwright.planner.assets import AssetGraph

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "manifests" / "assets" / "workflow.yaml"


def test_the_examples_asset_graph_names_producers_inputs_checks_consumers_and_triggers(capsys):
    assert main(["assets", "-f", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "lake.silver.orders\n  ← produced by orders-silver/transform from lake.bronze.orders\n" \
           "  ✓ checked by orders-silver/not-null-ids (Blocking)\n  → consumed by segments/build\n" \
           "  ⚡ triggers workflow segments" in out
    assert "lake.gold.segments\n  ← produced by segments/build from lake.silver.orders, crm.accounts" in out


def test_the_last_materialization_is_shown_when_known():
    graph = AssetGraph(producers={"a": ["wf/t"]})
    status = DataAssetStatus(last_updated="2026-11-24T02:00:00Z", last_run="r1", last_task="t", count=3,
                             checks="Passed")
    assert "last updated 2026-11-24T02:00:00Z by r1/t (3 materializations, checks Passed)" in \
        draw_asset_graph(graph, {"a": status})


def test_no_assets_says_so():
    assert draw_asset_graph(AssetGraph()).startswith("no assets")
