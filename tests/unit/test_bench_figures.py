"""The bench's pure figures: writes by component, dependency gaps, the side-by-side table."""

from __future__ import annotations

from datetime import UTC, datetime

from bench import auditlog
from bench.sidebyside import Pods, measure, shapes, table

T = datetime(2026, 12, 6, tzinfo=UTC)
OPERATOR = "system:serviceaccount:bench-operator-1:bench-operator"


def write(user: str) -> auditlog.Write:
    return auditlog.Write("create", "pods", "ns", 201, T, 0.01, user)


def test_writes_are_counted_by_component_and_unknown_users_are_other():
    writes = [write(OPERATOR), write(OPERATOR), write("system:serviceaccount:kube-system:job-controller"),
              write("kwok-controller"), write("system:kube-scheduler"), write("kubernetes-admin"), write("someone")]
    assert auditlog.by_component(writes, OPERATOR) == {
        "operator": 2, "job-controller": 1, "kwok": 1, "scheduler": 1, "bench": 1, "other": 1}


def test_a_dependents_gap_is_from_its_last_dependency_ending_to_its_pod_appearing():
    pods = Pods()
    for task, added, finished in (("a", 0.0, 1.0), ("b", 1.2, 2.0), ("c", 1.1, 3.0), ("d", 3.05, 4.0)):
        pods.note("ns", "diamond-00", task, added, finished)
    figures = measure(pods, "ns", "diamonds", shapes()["diamonds"])
    assert (figures["gaps"], figures["unmeasured"]) == (3, 0)
    assert figures["gap_p50_ms"] == 100.0  # 200, 100, 50 ms


def test_the_fanout_figure_is_the_root_end_to_the_200th_middle_pod():
    pods = Pods()
    pods.note("ns", "fanout-1", "root", 0.0, 1.0)
    for i in range(200):
        pods.note("ns", "fanout-1", f"m{i:03d}", 1.0 + i / 100, None)
    assert measure(pods, "ns", "fanout", shapes()["fanout"])["root_end_to_200th_pod_s"] == 1.99


def test_the_table_gives_argo_tuned_over_dagwright_ratios():
    results = {"dagwright-jobs": {"chain": {"gap_p50_ms": 10.0}}, "argo-tuned": {"chain": {"gap_p50_ms": 900.0}}}
    row = next(line for line in table(results).splitlines() if "gap p50, pod end" in line)
    assert row.split("|")[3:6] == [" 10.0 ", " 900.0 ", " 90.0x "]
