"""Deterministic names and label values for the objects the operator creates.

Pure. A task attempt's Job name is a function of (run, task, attempt) only, so a restarted
operator that creates it again gets 409 AlreadyExists instead of a duplicate Job.
"""

from __future__ import annotations

import hashlib
import re

MAX_NAME = 63
_HASH_LEN = 8


def short_hash(text: str, length: int = _HASH_LEN) -> str:
    """A stable lowercase hex digest prefix of `text`."""
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def fit_dns_label(name: str, limit: int = MAX_NAME) -> str:
    """`name` if it is at most `limit` long, else a prefix plus a hash of the whole name."""
    if len(name) <= limit:
        return name
    prefix = name[: limit - _HASH_LEN - 1].rstrip("-.")
    return f"{prefix}-{short_hash(name)}"


def job_name(run: str, task: str, attempt: int) -> str:
    """Name of the Job for `attempt` (1-based) of `task` in `run`: a DNS label ≤ 63 chars."""
    return fit_dns_label(f"{run}-{task}-{attempt}")


def label_value(value: str) -> str:
    """A valid label value (≤ 63 chars, alphanumeric at both ends) that stays unique."""
    value = re.sub(r"[^A-Za-z0-9._-]", "-", value)
    fitted = fit_dns_label(value)
    return fitted.strip("-._") or short_hash(value)
