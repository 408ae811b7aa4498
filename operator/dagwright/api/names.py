"""Deterministic names and label values for the objects the operator creates.

Pure. A task attempt's Job name is a function of (run, task, attempt) only, so a restarted
operator that creates it again gets 409 AlreadyExists instead of a duplicate Job. It is also
injective: `<run>-<task>` alone is not (run `etl` + task `daily-load` and run `etl-daily` +
task `load` join alike), so the name carries a hash of the exact, untruncated (run, task) pair.
Nothing parses these names: the operator maps a Job to its run, task and attempt by labels.
"""

from __future__ import annotations

import hashlib
import re

MAX_NAME = 63
_HASH_LEN = 8
PAIR_HASH_LEN = 12
"""Hex digits of the (run, task) hash in a Job name: 48 bits, so a collision needs ~16 million
tasks in one namespace (birthday bound) — not the accidental collisions of joined names."""


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
    """Name of the Job for `attempt` (1-based) of `task` in `run`: a DNS label ≤ 63 chars.

    `<run>-<task>-<hash>-<attempt>`: the readable part is trimmed to fit (and a run name's dots
    become dashes); `hash` covers the exact pair, so no two (run, task, attempt) share a name
    unless 48 bits of SHA-256 collide. The hash has a fixed length and no dash, so the attempt
    and the pair are never confused either.
    """
    pair = run + "\0" + task
    suffix = f"-{short_hash(pair, PAIR_HASH_LEN)}-{attempt}"
    readable = re.sub(r"[^a-z0-9-]", "-", f"{run}-{task}".lower())
    prefix = readable[: MAX_NAME - len(suffix)].strip("-")
    return f"{prefix}{suffix}" if prefix else suffix[1:]


def instance_job_name(run: str, task: str, item: int, attempt: int) -> str:
    """Name of the Job for `attempt` of instance `item` (0-based) of forEach `task` in `run`.

    `job_name` of the key `TASK[ITEM]`: brackets cannot appear in a task name (a DNS label), so no
    instance shares a name with a plain task, and the readable part shows the index.
    """
    return job_name(run, f"{task}[{item}]", attempt)


def child_run_name(run: str, task: str) -> str:
    """Name of the child WorkflowRun that workflow task `task` of `run` starts: `<run>-<task>-<hash>`.

    A function of (run, task) only, so a restarted operator that creates it again gets 409 and
    adopts it; at most 63 characters, since a run's name is also a label value of its Jobs.
    """
    suffix = f"-{short_hash(run + chr(0) + task, PAIR_HASH_LEN)}"
    readable = re.sub(r"[^a-z0-9-]", "-", f"{run}-{task}".lower())
    return readable[: MAX_NAME - len(suffix)].strip("-") + suffix


def label_value(value: str) -> str:
    """A valid label value (≤ 63 chars, alphanumeric at both ends) that stays unique."""
    value = re.sub(r"[^A-Za-z0-9._-]", "-", value)
    fitted = fit_dns_label(value)
    return fitted.strip("-._") or short_hash(value)
