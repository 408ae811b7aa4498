"""Outputs beyond the termination message (`largeOutputs: true`): how a pod publishes them and
how the operator reads them back. Pure: no I/O.

The kubelet keeps 4 KiB of a container's termination message, so a task with `largeOutputs`
writes its outputs JSON to a file on an emptyDir instead (`$DAGWRIGHT_OUTPUTS` points there;
task code is the same either way). Its command runs under a small `/bin/sh` wrapper which,
when the command exits 0 and the file is not empty:

- prints the file to the container's log, base64 in 76-column lines, between two marker lines,
  as the log's very last lines (only when it is within `MAX_LARGE_OUTPUT_BYTES`);
- writes a small manifest to the termination message: the file's size, how many base64 lines
  it printed and its SHA-256.

The operator reads the manifest with the pod's status (no extra call), refuses an oversized
file with its real size, reads exactly the last lines of the log that hold the block, checks
size and digest, and stores the JSON in an immutable ConfigMap owned by the run; the run's
status only names that ConfigMap. The task pod needs no API rights and the user no extra
service: the pod log is what the kubelet already serves.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from dagwright.render.container import OUTPUTS_ENV, escape_dollars

MAX_LARGE_OUTPUT_BYTES = 256 * 1024
"""The documented cap on one task's large outputs (the JSON file, before base64)."""
OUTPUTS_DIR = "/dagwright/outputs"
OUTPUTS_FILE = f"{OUTPUTS_DIR}/outputs.json"
OUTPUTS_VOLUME = "dagwright-outputs"
MANIFEST_KEY = "dagwright.io/outputs-in-log"
BEGIN_MARKER = "::dagwright-outputs-begin::"
END_MARKER = "::dagwright-outputs-end::"
CONFIGMAP_KEY = "outputs.json"
_LINE_WIDTH = 76

# "$@" is the task's own command; its exit code is the container's. The block is printed only on
# success and within the cap; the manifest is written whenever a file exists, so an oversized
# file fails the attempt with its real size. DAGWRIGHT_MANIFEST_PATH is for the wrapper's tests.
WRAPPER_SCRIPT = f"""\
"$@"; rc=$?
f="${{{OUTPUTS_ENV}:-{OUTPUTS_FILE}}}"
if [ "$rc" -eq 0 ] && [ -s "$f" ]; then
  n=$(wc -c < "$f" | tr -d ' ')
  s=$(sha256sum "$f" | cut -c1-64)
  l=0
  if [ "$n" -le {MAX_LARGE_OUTPUT_BYTES} ]; then
    l=$(base64 -w {_LINE_WIDTH} "$f" | wc -l | tr -d ' ')
    printf '\\n%s\\n' '{BEGIN_MARKER}'
    base64 -w {_LINE_WIDTH} "$f"
    printf '%s\\n' '{END_MARKER}'
  fi
  printf '{{"{MANIFEST_KEY}":{{"bytes":%s,"lines":%s,"sha256":"%s"}}}}' "$n" "$l" "$s" \
    > "${{DAGWRIGHT_MANIFEST_PATH:-/dev/termination-log}}"
fi
exit "$rc"
"""


def wrap_for_large_outputs(container: dict[str, Any]) -> dict[str, Any]:
    """`container` running its command (and args) under the wrapper, with the outputs file set.

    The original command and args become the wrapper's positional parameters, so Kubernetes'
    `$(VAR)` expansion treats them exactly as before; the wrapper's own `$` are escaped.
    """
    original = [*(container.get("command") or []), *(container.get("args") or [])]
    wrapped = {k: v for k, v in container.items() if k != "args"}
    wrapped["command"] = ["/bin/sh", "-c", escape_dollars(WRAPPER_SCRIPT), "dagwright-task", *original]
    env = [e for e in container.get("env") or [] if e.get("name") != OUTPUTS_ENV]
    wrapped["env"] = [*env, {"name": OUTPUTS_ENV, "value": OUTPUTS_FILE}]
    mounts = list(container.get("volumeMounts") or [])
    wrapped["volumeMounts"] = [*mounts, {"name": OUTPUTS_VOLUME, "mountPath": OUTPUTS_DIR}]
    return wrapped


def outputs_volume() -> dict[str, Any]:
    """The emptyDir the outputs file lives on (small: the cap plus slack)."""
    return {"name": OUTPUTS_VOLUME, "emptyDir": {"sizeLimit": "1Mi"}}


@dataclass(frozen=True)
class LogManifest:
    """What the wrapper wrote to the termination message about the block in the log."""

    size: int
    lines: int
    sha256: str

    def too_large(self) -> str | None:
        """The failure message for a file over the cap, else None."""
        if self.size > MAX_LARGE_OUTPUT_BYTES:
            return f"outputs too large: {self.size} bytes (limit {MAX_LARGE_OUTPUT_BYTES})"
        return None

    def tail_lines(self) -> int:
        """How many of the log's last lines hold the block (markers included)."""
        return self.lines + 3  # the empty line before the begin marker, for a log without a final newline

    def tail_bytes(self) -> int:
        """An upper bound on those lines' size, for the log request's limitBytes."""
        return (self.lines + 3) * (_LINE_WIDTH + 1) + 2 * len(BEGIN_MARKER) + 1024


def parse_manifest(message: str | None) -> LogManifest | None:
    """The manifest when a termination message is one, else None (plain outputs, or nothing)."""
    if not message or MANIFEST_KEY not in message:
        return None
    try:
        value = json.loads(message)[MANIFEST_KEY]
        return LogManifest(int(value["bytes"]), int(value["lines"]), str(value["sha256"]))
    except (ValueError, KeyError, TypeError):
        return None


def decode_block(log_tail: str, manifest: LogManifest) -> tuple[str | None, str | None]:
    """(the outputs JSON text, error) from the last lines of the log."""
    begin = log_tail.rfind(BEGIN_MARKER)
    end = log_tail.rfind(END_MARKER)
    if begin < 0 or end < begin:
        return None, "outputs block not found at the end of the task's log"
    encoded = "".join(log_tail[begin + len(BEGIN_MARKER):end].split())
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return None, "outputs block in the task's log is not valid base64"
    if len(data) != manifest.size or hashlib.sha256(data).hexdigest() != manifest.sha256:
        return None, (f"outputs block in the task's log is damaged ({len(data)} bytes read, "
                      f"{manifest.size} written)")
    try:
        text = data.decode()
        value = json.loads(text)
    except ValueError:
        return None, "outputs are not JSON: the outputs file must hold one JSON object"
    if not isinstance(value, dict):
        return None, "outputs must be a JSON object"
    return text, None


def outputs_from_json(text: str) -> dict[str, str]:
    """Template values from an outputs JSON object: strings as they are, the rest as JSON."""
    value = json.loads(text)
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in value.items()}


def outputs_configmap_name(job_name: str) -> str:
    """The ConfigMap of one attempt's large outputs (Job names leave room for the suffix)."""
    return f"{job_name[:245]}-outputs"


def build_outputs_configmap(namespace: str, name: str, labels: dict[str, str],
                            owner: dict[str, Any], text: str) -> dict[str, Any]:
    """An immutable ConfigMap holding one attempt's outputs JSON, owned by the run."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, "labels": labels, "ownerReferences": [owner]},
        "immutable": True,
        "data": {CONFIGMAP_KEY: text},
    }
