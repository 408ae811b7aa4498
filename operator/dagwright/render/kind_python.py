"""The `python` task kind: an inline script or a module, run by the image's `python`.

Pure. `python -c SCRIPT ARGS…` or `python -m MODULE ARGS…`, unbuffered so logs stream.

Scripts larger than `INLINE_SCRIPT_LIMIT` do not go into the command line as they are (they
would bloat the Job, its pod and every `kubectl get -o yaml`): the script is gzip + base64
encoded into the env var `DAGWRIGHT_SCRIPT_GZ` and a one-line `python -c` bootstrap decodes and
runs it, with `sys.argv` and `__name__ == "__main__"` exactly as for an inline script. No other
API object (ConfigMap) is involved. `{{ … }}` templates inside such a script still work: each
placeholder becomes an env var (`DAGWRIGHT_SCRIPT_VAR_<n>: "{{ params.date }}"`, rendered with
the rest of the pod) that the bootstrap substitutes back into the text before running it.

An encoded script may take at most `MAX_ENCODED_SCRIPT` bytes (one env var must stay under
Linux's 128 KiB); bigger code belongs in the image (`module:`).
"""

from __future__ import annotations

import base64
import gzip
import json
import re
from typing import Any

from dagwright.api.models import PythonTask
from dagwright.render.container import KindPod, build_container, build_env, escape_dollars
from dagwright.render.templating import check_templates, placeholders

INLINE_SCRIPT_LIMIT = 8 * 1024
"""Scripts up to this many bytes (UTF-8) go inline into the command."""

MAX_ENCODED_SCRIPT = 96 * 1024
"""Largest gzip + base64 payload of a script (a few hundred KiB of source); beyond it rendering
fails with a clear message. Linux refuses to start a process with one env var (or argument)
over 128 KiB, and the Workflow and the Job must stay under about 1.5 MiB."""

SCRIPT_ENV = "DAGWRIGHT_SCRIPT_GZ"
SCRIPT_VAR_ENV = "DAGWRIGHT_SCRIPT_VAR_"

BOOTSTRAP = (
    "import base64 as _b,gzip as _g,json as _j,os as _o;"
    f"_p=_j.loads(_g.decompress(_b.b64decode(_o.environ['{SCRIPT_ENV}'])));"
    f"exec(compile(''.join(x if isinstance(x,str) else _o.environ['{SCRIPT_VAR_ENV}%d'%x] for x in _p),"
    "'<dagwright-script>','exec'))"
)
"""Decode the script parts, put the rendered template values back in, run it as `__main__`."""


def split_script(script: str) -> tuple[list[str | int], list[str]]:
    """`script` as literal text parts and placeholder indexes, plus the placeholder names.

    `"a {{ params.x }} b"` -> `(["a ", 0, " b"], ["params.x"])`; a name used twice gets one index.
    """
    check_templates(script)  # an encoded script is not rendered with the pod: check it here
    names: list[str] = []
    for name in placeholders(script):
        if name not in names:
            names.append(name)
    if not names:
        return [script], []
    pattern = re.compile(
        r"\{\{\s*(" + "|".join(re.escape(n) for n in names) + r")\s*\}\}"
    )
    parts: list[str | int] = []
    position = 0
    for match in pattern.finditer(script):
        if match.start() > position:
            parts.append(script[position : match.start()])
        parts.append(names.index(match.group(1)))
        position = match.end()
    if position < len(script):
        parts.append(script[position:])
    return parts, names


def encode_script(script: str) -> tuple[str, list[str]]:
    """The base64 of the gzip of the script's parts (JSON), and the placeholder names in it."""
    parts, names = split_script(script)
    raw = json.dumps(parts, ensure_ascii=False, separators=(",", ":")).encode()
    payload = base64.b64encode(gzip.compress(raw, compresslevel=9, mtime=0)).decode("ascii")
    if len(payload) > MAX_ENCODED_SCRIPT:
        raise ValueError(
            f"python script too large: {len(script.encode())} bytes compress to {len(payload)} "
            f"(at most {MAX_ENCODED_SCRIPT}); put the code in the image and use `module`"
        )
    return payload, names


def build_script_command(script: str) -> tuple[list[str], list[dict[str, Any]]]:
    """The command that runs `script`, and the env vars it needs (none when inline)."""
    if len(script.encode()) <= INLINE_SCRIPT_LIMIT:
        return ["python", "-c", escape_dollars(script)], []
    payload, names = encode_script(script)
    env: list[dict[str, Any]] = [{"name": SCRIPT_ENV, "value": payload}]
    env += [{"name": f"{SCRIPT_VAR_ENV}{i}", "value": f"{{{{ {n} }}}}"} for i, n in enumerate(names)]
    return ["python", "-c", BOOTSTRAP], env


def build_python_kind(task: PythonTask) -> KindPod:
    """`python -c SCRIPT` (or the bootstrap of a large one) or `python -m MODULE`, with args."""
    env: list[dict[str, Any]] = [{"name": "PYTHONUNBUFFERED", "value": "1"}]
    if task.script is not None:
        command, script_env = build_script_command(task.script)
        env += script_env
    else:
        command = ["python", "-m", task.module or ""]
    return KindPod(build_container(task.image, command, task.args, env + build_env(task.env)))
