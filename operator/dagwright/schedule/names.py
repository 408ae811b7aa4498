"""Deterministic names for scheduled WorkflowRuns.

A scheduled run's name is a pure function of (workflow name, fire time), so a
restarted scheduler, or two replicas racing, can never create the same fire
twice: the second create is answered 409 AlreadyExists. The name is a valid
DNS-1123 subdomain of at most 63 characters (so it is also a valid label
value), e.g. ``lakehouse-daily-20261124t020000z``; long workflow names are
truncated and suffixed with a short hash of the full name, so two long names
sharing a prefix still get different run names.

Pure: no Kubernetes API, no clock, no logging.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime

from dagwright.schedule.cron import to_utc

__all__ = ["MAX_NAME_LENGTH", "fire_time_suffix", "scheduled_run_name", "triggered_run_name"]

MAX_NAME_LENGTH = 63
_HASH_LENGTH = 8
_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


def fire_time_suffix(fire_time_utc: datetime) -> str:
    """``20261124t020000z``: the fire time in UTC, to the second, lower case."""
    return to_utc(fire_time_utc, "fire time").strftime("%Y%m%dt%H%M%Sz")


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:_HASH_LENGTH]


def scheduled_run_name(workflow_name: str, fire_time_utc: datetime) -> str:
    """The run name for one fire of one workflow: ``<workflow>-<yyyymmdd>t<hhmmss>z``.

    ``workflow_name`` must be a valid DNS-1123 subdomain (any Kubernetes object
    name is); ``fire_time_utc`` must be timezone-aware (sub-second parts are
    ignored: cron fires on whole minutes).
    """
    if len(workflow_name) > 253 or not _SUBDOMAIN.fullmatch(workflow_name):
        raise ValueError(f"workflow name {workflow_name!r} is not a valid DNS-1123 subdomain")
    suffix = fire_time_suffix(fire_time_utc)
    room = MAX_NAME_LENGTH - len(suffix) - 1
    if len(workflow_name) <= room:
        return f"{workflow_name}-{suffix}"
    prefix = workflow_name[: room - _HASH_LENGTH - 1].rstrip("-.")
    return f"{prefix}-{_short_hash(workflow_name)}-{suffix}"


def triggered_run_name(workflow_name: str, logical_date_utc: datetime, event: tuple[str, ...]) -> str:
    """The run name for one trigger event: ``<workflow>-<yyyymmdd>t<hhmmss>z-<hash>``.

    ``event`` names the upstream runs that make the event (one per upstream, in the order the
    triggers list them). The hash covers the workflow name, the logical date and the event, so
    the name is a pure, injective-in-practice function of the event: a second upstream run for
    the same logical date is a new event with a new name, the same event always the same name.
    """
    if len(workflow_name) > 253 or not _SUBDOMAIN.fullmatch(workflow_name):
        raise ValueError(f"workflow name {workflow_name!r} is not a valid DNS-1123 subdomain")
    suffix = fire_time_suffix(logical_date_utc)
    digest = _short_hash("\0".join((workflow_name, suffix, *event)))
    room = MAX_NAME_LENGTH - len(suffix) - len(digest) - 2
    prefix = workflow_name[:room].rstrip("-.")
    return f"{prefix}-{suffix}-{digest}"
