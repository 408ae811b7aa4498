"""Timestamps and durations as they appear in status: RFC 3339 UTC strings, `1h2m3s`.

Pure. Whole seconds like Kubernetes' own timestamps, except where a decision needs better
(`precise=True`, milliseconds: a retry's next start time).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def format_time(moment: datetime, precise: bool = False) -> str:
    """`moment` as `2026-11-24T02:00:00Z` (or with `.123` milliseconds when `precise`)."""
    moment = moment.astimezone(UTC)
    if precise:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    """An RFC 3339 timestamp as an aware UTC datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def format_duration(span: timedelta) -> str:
    """A duration as kubectl shows ages: `45s`, `3m12s`, `2h5m`, `1d3h`."""
    seconds = max(int(span.total_seconds()), 0)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours}h"
    if hours:
        return f"{hours}h{minutes}m"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"
