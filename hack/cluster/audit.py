"""Count API writes per user from the local cluster's audit log (.cluster/logs/audit.log).

The API server logs one JSON line per write request (create/update/patch/delete/
deletecollection, Metadata level, stage ResponseComplete); see hack/cluster-up.sh.

    python hack/cluster/audit.py [--since 2026-01-01T00:00:00Z] [--namespace-prefix t-]
                                 [--user system:serviceaccount:dagwright:dagwright] [LOG]

From Python (benchmarks):

    import runpy
    read_writes = runpy.run_path("hack/cluster/audit.py")["read_writes"]
    writes = read_writes(since=t0, namespace_prefix="bench-")   # t0: aware datetime (UTC)
    per_user = collections.Counter(w["user"] for w in writes)

Read-only; needs nothing beyond the standard library.
"""

from __future__ import annotations

import argparse
import collections
import json
from datetime import datetime
from pathlib import Path

DEFAULT_LOG = Path(__file__).resolve().parents[2] / ".cluster" / "logs" / "audit.log"


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def read_writes(
    path: str | Path = DEFAULT_LOG,
    since: datetime | str | None = None,
    namespace_prefix: str | None = None,
    user: str | None = None,
    include_failed: bool = True,
) -> list[dict]:
    """One dict per write request: user, verb, resource, subresource, namespace, name, code, time.

    `since` (aware datetime or RFC 3339 string) keeps requests received at or after it;
    `namespace_prefix` keeps namespaced requests whose namespace starts with it.
    Rotated files (audit-<time>.log next to it) are not read.
    """
    if isinstance(since, str):
        since = _ts(since)
    out = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            try:
                ev = json.loads(line)
            except ValueError:
                continue  # a partially written last line
            ref = ev.get("objectRef") or {}
            rec = {
                "user": ev["user"]["username"],
                "verb": ev["verb"],
                "resource": ref.get("resource", ""),
                "subresource": ref.get("subresource", ""),
                "namespace": ref.get("namespace", ""),
                "name": ref.get("name", ""),
                "code": (ev.get("responseStatus") or {}).get("code", 0),
                "time": _ts(ev["requestReceivedTimestamp"]),
            }
            if since is not None and rec["time"] < since:
                continue
            if namespace_prefix is not None and not rec["namespace"].startswith(namespace_prefix):
                continue
            if user is not None and rec["user"] != user:
                continue
            if not include_failed and rec["code"] >= 400:
                continue
            out.append(rec)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("log", nargs="?", default=str(DEFAULT_LOG))
    ap.add_argument("--since")
    ap.add_argument("--namespace-prefix")
    ap.add_argument("--user")
    ap.add_argument("--by", choices=["user", "verb", "resource"], default="resource",
                    help="finest grouping below user (default: user+verb+resource/subresource)")
    args = ap.parse_args(argv)
    writes = read_writes(args.log, args.since, args.namespace_prefix, args.user)
    counts: collections.Counter = collections.Counter()
    for w in writes:
        key = [w["user"]]
        if args.by in ("verb", "resource"):
            key.append(w["verb"])
        if args.by == "resource":
            key.append(w["resource"] + (f"/{w['subresource']}" if w["subresource"] else ""))
        counts[tuple(key)] += 1
    for key, n in counts.most_common():
        print(f"{n:8d}  {'  '.join(key)}")
    print(f"{len(writes):8d}  total")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
