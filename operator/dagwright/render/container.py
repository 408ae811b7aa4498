"""What every task kind's `main` container shares, and what a kind may add to its pod.

Pure. A task kind (`render.kind_*`) returns a `KindPod`: the main container plus the pod-level
things the kind needs (volumes, a ServiceAccount). `render.job` puts the pod around it and merges
`podTemplate` on top, so everything set here is a default a user can override.

Every main container gets:

- `terminationMessagePolicy: FallbackToLogsOnError`: a task that wrote nothing to its
  termination message and failed still says why (the tail of its log);
- env `DAGWRIGHT_OUTPUTS=/dev/termination-log` (the container's `terminationMessagePath`): a
  task writes its outputs there as one small JSON object (Kubernetes keeps at most 4 KiB), and
  later tasks read them as `{{ tasks.NAME.outputs.KEY }}`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dagwright.api.models import EnvVar

MAIN_CONTAINER = "main"
OUTPUTS_ENV = "DAGWRIGHT_OUTPUTS"
OUTPUTS_PATH = "/dev/termination-log"
MAX_OUTPUTS_BYTES = 4096
"""Kubernetes truncates a termination message to 4 KiB (and to 12 KiB over all containers)."""


@dataclass(frozen=True)
class KindPod:
    """What one task kind contributes to the task pod."""

    container: dict[str, Any]
    volumes: tuple[dict[str, Any], ...] = ()
    service_account_name: str | None = None
    """A ServiceAccount the kind needs (e.g. Spark on Kubernetes); the task's own wins."""


def build_env(env: list[EnvVar] | None) -> list[dict[str, Any]]:
    """The user's literal environment variables as container env entries."""
    return [{"name": e.name, "value": e.value} for e in env or []]


def build_outputs_env() -> dict[str, str]:
    """The env var that tells a task where to write its outputs JSON."""
    return {"name": OUTPUTS_ENV, "value": OUTPUTS_PATH}


def build_container(
    image: str,
    command: list[str] | None = None,
    args: list[str] | None = None,
    env: list[dict[str, Any]] | None = None,
    working_dir: str | None = None,
) -> dict[str, Any]:
    """A `main` container with the settings every kind shares; empty parts are left out."""
    container: dict[str, Any] = {"name": MAIN_CONTAINER, "image": image}
    if command:
        container["command"] = list(command)
    if args:
        container["args"] = list(args)
    container["env"] = [*(env or []), build_outputs_env()]
    if working_dir:
        container["workingDir"] = working_dir
    container["terminationMessagePolicy"] = "FallbackToLogsOnError"
    return container


def escape_dollars(text: str) -> str:
    """`text` with every `$` doubled, so Kubernetes' `$(VAR)` expansion leaves it as it is.

    Kubernetes expands `$(NAME)` in a container's command, args and env values and turns `$$`
    into `$`; code (a Python script, a shell wrapper) must reach the process unchanged.
    """
    return text.replace("$", "$$")
