"""API writes per user, as the API server itself counted them (its audit log).

The local cluster logs one JSON line per write request (see hack/cluster/audit.py, whose
record format this follows). The log is large and shared with everyone using the cluster, so
`AuditLog` remembers where the file ended when the benchmark began and reads only what came
after, parsing only lines that mention the user asked for. A rotation in between (the API
server renames the file to audit-<time>.log at 500 MB) is followed.
"""

from __future__ import annotations

import collections
import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

WRITE_VERBS = frozenset({"create", "update", "patch", "delete", "deletecollection"})


@dataclass(frozen=True)
class Write:
    """One write request."""

    verb: str
    resource: str  # resource[/subresource]
    namespace: str
    code: int
    time: datetime
    seconds: float | None  # request received -> response complete, as the API server logged it
    user: str = ""


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class AuditLog:
    """The audit log from the moment this object was made."""

    def __init__(self, path: Path) -> None:
        self.path = path
        stat = path.stat()
        self.inode, self.offset = stat.st_ino, stat.st_size

    def _chunks(self) -> list[tuple[Path, int]]:
        """(file, start offset) to read, oldest first: the rotated file too if it rotated."""
        stat = self.path.stat()
        if stat.st_ino == self.inode and stat.st_size >= self.offset:
            return [(self.path, self.offset)]
        rotated = [p for p in self.path.parent.glob(self.path.stem + "-*" + self.path.suffix)
                   if p.stat().st_ino == self.inode]
        return [(p, self.offset) for p in rotated] + [(self.path, 0)]

    def writes(self, user: str | None) -> list[Write]:
        """Every write request by `user` (None: by anyone) since the start."""
        needle = json.dumps(user).encode() if user is not None else b""
        out: list[Write] = []
        for path, offset in self._chunks():
            with open(path, "rb") as fh:
                fh.seek(offset)
                for line in fh:
                    if needle not in line:
                        continue
                    try:
                        event = json.loads(line)
                    except ValueError:
                        continue  # a line being written
                    username = event.get("user", {}).get("username", "")
                    if (user is not None and username != user) or event.get("verb") not in WRITE_VERBS:
                        continue
                    ref = event.get("objectRef") or {}
                    resource = ref.get("resource", "") + (f"/{ref['subresource']}" if ref.get("subresource") else "")
                    out.append(Write(event["verb"], resource, ref.get("namespace", ""),
                                     (event.get("responseStatus") or {}).get("code", 0),
                                     _ts(event["requestReceivedTimestamp"]), _duration(event), username))
        return out


def _duration(event: dict) -> float | None:
    received, done = event.get("requestReceivedTimestamp"), event.get("stageTimestamp")
    return (_ts(done) - _ts(received)).total_seconds() if received and done else None


def within(writes: list[Write], namespaces: set[str], since: datetime, until: datetime) -> list[Write]:
    """The writes in those namespaces received within [since, until]."""
    return [w for w in writes if w.namespace in namespaces and since <= w.time <= until]


def latencies(writes: list[Write], verb: str, resource: str) -> list[float]:
    """How long the API server took (seconds) to answer each such write that logged both times."""
    return [w.seconds for w in writes if w.verb == verb and w.resource == resource and w.seconds is not None]


def count(writes: list[Write]) -> tuple[int, dict[str, int]]:
    """How many writes, and a breakdown `verb resource -> n`."""
    breakdown = collections.Counter(f"{w.verb} {w.resource}" + (f" ({w.code})" if w.code >= 400 else "")
                                    for w in writes)
    return len(writes), dict(breakdown.most_common())


# Who is who in the local cluster's audit log (kube-controller-manager runs each controller
# under its own ServiceAccount: --use-service-account-credentials).
COMPONENTS = {
    "system:serviceaccount:kube-system:job-controller": "job-controller",
    "system:kube-scheduler": "scheduler",
    "kwok-controller": "kwok",
    "system:serviceaccount:kube-system:generic-garbage-collector": "garbage-collector",
    "kubernetes-admin": "bench",  # the bench's own client: Workflows, runs
}
CLUSTER_COMPONENTS = ("operator", "job-controller", "scheduler", "kwok")  # the columns of the table


def component(user: str, operator: str) -> str:
    """The component behind an audit-log user name: operator, job-controller, scheduler, kwok..."""
    if user == operator:
        return "operator"
    return COMPONENTS.get(user, "other")


def by_component(writes: list[Write], operator: str) -> dict[str, int]:
    """How many of `writes` each component made, biggest first."""
    counts = collections.Counter(component(w.user, operator) for w in writes)
    return dict(counts.most_common())


def readable(path: Path | None) -> bool:
    return path is not None and path.exists() and os.access(path, os.R_OK)
