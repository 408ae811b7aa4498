"""Freezing a workflow spec into a run's status: compact, and identical on every read.

Pure. The spec's JSON is gzip-compressed and base64-encoded so a 5,000-task DAG fits beside
its task statuses; decoding is cached, since a frozen spec never changes.
"""

from __future__ import annotations

import base64
import gzip
import json
from functools import lru_cache

from dagwright.api.models import WorkflowSpec


def freeze_spec(spec: WorkflowSpec) -> str:
    """`spec` as the string stored in `status.frozenSpec`."""
    raw = json.dumps(spec.to_wire(), separators=(",", ":"), sort_keys=True).encode()
    return base64.b64encode(gzip.compress(raw, compresslevel=9, mtime=0)).decode()


@lru_cache(maxsize=256)
def thaw_spec(frozen: str) -> WorkflowSpec:
    """The spec stored by `freeze_spec`."""
    return WorkflowSpec.model_validate(json.loads(gzip.decompress(base64.b64decode(frozen))))
