"""Statistics and the printed table (pure)."""

from __future__ import annotations

import math
from typing import Any

# (key, label, unit, target text, check) - the targets.
TARGETS: list[tuple[str, str, str, str, Any]] = [
    ("dispatch_p50_ms", "dispatch p50 (from Job finished)", "ms", "<= 50", lambda v: v <= 50),
    ("dispatch_p99_ms", "dispatch p99 (from Job finished)", "ms", "<= 250", lambda v: v <= 250),
    ("dispatch_from_pod_p50_ms", "dispatch p50 (from pod finished)", "ms", "<= 50", lambda v: v <= 50),
    ("dispatch_from_pod_p99_ms", "dispatch p99 (from pod finished)", "ms", "<= 250", lambda v: v <= 250),
    ("fanout_tasks_per_s", "fan-out, Jobs/s (operator)", "/s", "", None),
    ("raw_jobs_per_s", "bare client, Jobs/s", "/s", "", None),
    ("fanout_ratio", "fan-out / bare client", "", ">= 0.80", lambda v: v >= 0.8),
    ("api_writes_per_task", "API writes per task", "", "<= 3", lambda v: v <= 3),
    ("rss_mib_idle", "RSS idle", "MiB", "", None),
    ("rss_mib_1000_active", "RSS peak, 1,000 active tasks", "MiB", "", None),
    ("rss_mib_10k_unrelated_jobs", "RSS with 10k unrelated Jobs", "MiB", "no growth", None),
    ("status_bytes_5000_tasks", "5,000-task run object", "bytes", "< 1,572,864", lambda v: v < 1.5 * 1024 * 1024),
]


def percentile(values: list[float], q: float) -> float | None:
    """Linear-interpolated percentile (q in 0..100), as numpy's default; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary_ms(latencies_s: list[float]) -> dict[str, Any]:
    """n, p50, p90, p99, max of latencies given in seconds, in milliseconds (1 decimal)."""
    def ms(value: float | None) -> float | None:
        return None if value is None else round(value * 1000, 1)
    return {"n": len(latencies_s), "p50_ms": ms(percentile(latencies_s, 50)), "p90_ms": ms(percentile(latencies_s, 90)),
            "p99_ms": ms(percentile(latencies_s, 99)), "max_ms": ms(max(latencies_s) if latencies_s else None)}


def _fmt(value: Any, unit: str) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        text = f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    else:
        text = f"{value:,}" if isinstance(value, int) else str(value)
    return f"{text} {unit}".strip()


def verdict(key: str, value: Any, results: dict[str, Any]) -> str:
    """'ok', 'MISS' or '' for one figure against its target."""
    if value is None:
        return ""
    if key in ("dispatch_p50_ms", "dispatch_p99_ms") and value < 0:
        return "ok (< 0: acted on the pod, see README)"
    if key == "rss_mib_10k_unrelated_jobs":
        before = (results.get("scenarios", {}).get("unrelated_jobs") or {}).get("rss_mib_before")
        if before is None:
            return ""
        return "ok" if value - before <= max(5.0, 0.05 * before) else "MISS"
    for k, _, _, _, check in TARGETS:
        if k == key and check is not None:
            return "ok" if check(value) else "MISS"
    return ""


def table(results: dict[str, Any]) -> str:
    """The figures as a fixed-width table, then per-scenario details."""
    rows = [("figure", "value", "target", "")]
    for key, label, unit, target, _ in TARGETS:
        value = results.get(key)
        rows.append((label, _fmt(value, unit), target, verdict(key, value, results)))
        if key == "api_writes_per_task":
            rows.append(("  chain / diamonds / fan-out / 5,000", per_scenario_writes(results), "", ""))
            rows += component_rows(results)
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append("")
    for name, scenario in (results.get("scenarios") or {}).items():
        lines.append(f"{name}: " + scenario_line(scenario))
    return "\n".join(lines)


def per_scenario_writes(results: dict[str, Any]) -> str:
    scenarios = results.get("scenarios") or {}
    values = [(scenarios.get(name) or {}).get("api_writes_per_task")
              for name in ("chain", "diamonds", "fanout", "status_5000")]
    return " / ".join("n/a" if v is None else f"{v:.2f}" for v in values)


COMPONENTS = ("operator", "job-controller", "scheduler", "kwok", "cluster")


def component_rows(results: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """Writes per task by component (audit log), one row per scenario: the whole cluster's cost."""
    rows = []
    for name in ("chain", "diamonds", "fanout"):
        per_task = (results.get("scenarios", {}).get(name) or {}).get("api_writes_per_task_by_component")
        if not per_task:
            continue
        cells = " / ".join(f"{per_task.get(c, 0):.2f}" for c in COMPONENTS)
        rows.append((f"  {name}: writes/task " + " / ".join(COMPONENTS), cells, "", ""))
    return rows


def scenario_line(scenario: dict[str, Any]) -> str:
    parts = []
    for key in ("dispatch", "dispatch_from_pod", "api_create_job_latency"):
        if key in scenario:
            d = scenario[key]
            parts.append(f"{key} n={d['n']} p50={d['p50_ms']} p90={d['p90_ms']} p99={d['p99_ms']} "
                         f"max={d['max_ms']} ms")
    for key, value in scenario.items():
        if isinstance(value, (int, float, str)) and not isinstance(value, bool):
            parts.append(f"{key}={value}")
    for i, round_ in enumerate(scenario.get("rounds") or [], 1):
        parts.append(f"round {i}: " + scenario_line(round_))
    return ", ".join(parts)
