"""The web view reads and never writes: what it calls of kube/ is only lists, watches and GETs,
and its rules in the chart (templates/_helpers.tpl, dagwright.uiRules) are get/list/watch."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
UI = REPO / "operator" / "dagwright" / "ui"
READS = {"list_pods", "get_job", "pod_log_tail", "CRD_BASE"}  # JobIndex and LabelWatch only list and watch


def test_the_web_view_uses_only_reading_calls_of_kube_resources():
    used: set[str] = set()
    for path in UI.rglob("*.py"):
        text = path.read_text()
        used |= set(re.findall(r"\bresources\.(\w+)", text))
        for group in re.findall(r"from dagwright\.kube\.resources import ([^\n]+)", text):
            used |= set(re.findall(r"\w+", group))
    assert used and used <= READS, sorted(used - READS)


def test_the_web_view_sends_no_writing_http_method():
    for path in UI.rglob("*.py"):
        assert not re.search(r'"(POST|PUT|PATCH|DELETE)"', path.read_text()), path


def test_the_charts_ui_rules_are_read_only():
    helpers = (REPO / "charts" / "dagwright" / "templates" / "_helpers.tpl").read_text()
    rules = helpers.split('define "dagwright.uiRules"', 1)[1].split("{{- end }}", 1)[0]
    verbs = {verb.strip() for group in re.findall(r"verbs: \[([^\]]*)\]", rules) for verb in group.split(",")}
    assert verbs == {"get", "list", "watch"}
