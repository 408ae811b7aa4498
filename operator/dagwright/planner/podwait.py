"""Whether a task pod that has not started yet fails its attempt (pure).

A real kubelet reports why a container is not running: a waiting reason and its message
(`ErrImagePull`, `ContainerCreating`, ...), or the scheduler says the pod fits no node. Some
reasons can never resolve by themselves — the attempt fails at once with the kubelet's own
words. The others (pulling, back-off, volumes, scheduling) may, so they get a grace period,
counted from the pod's creation, before the attempt fails. kwok nodes never report these.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dagwright.planner.snapshot import DEFAULT_START_GRACE_SECONDS, PodWaiting

# Waiting reasons that no amount of waiting cures (the image is absent with pullPolicy Never,
# the image name is malformed, a Secret/ConfigMap/key the container's env names does not exist —
# the last can in principle appear later, but a task should not sit waiting for it).
FATAL_WAIT_REASONS = frozenset({"ErrImageNeverPull", "InvalidImageName", "CreateContainerConfigError"})
# Every other reason (ContainerCreating, ErrImagePull/ImagePullBackOff, Unschedulable...) gets
# the grace period, DEFAULT_START_GRACE_SECONDS unless the operator is told otherwise: generous,
# since a loaded node can take long to start a container.
__all__ = ["DEFAULT_START_GRACE_SECONDS", "FATAL_WAIT_REASONS", "WaitVerdict", "describe_wait", "judge_wait"]


@dataclass(frozen=True)
class WaitVerdict:
    """`failure`: the attempt failed, with this text; else look again after `recheck_after` s."""

    failure: str | None = None
    recheck_after: float | None = None


def describe_wait(waiting: PodWaiting) -> str:
    """'ErrImageNeverPull: Container image "x" is not present...' (reason alone without a message)."""
    message = waiting.message.strip()
    return f"{waiting.reason}: {message}" if message else waiting.reason


def judge_wait(waiting: PodWaiting, now: datetime, grace_seconds: float) -> WaitVerdict:
    """Fail at once, fail after the grace period, or look again when it ends."""
    if waiting.reason in FATAL_WAIT_REASONS:
        return WaitVerdict(failure=describe_wait(waiting))
    waited = (now - waiting.since).total_seconds()
    if waited >= grace_seconds:
        return WaitVerdict(failure=f"not started after {grace_seconds:g}s: {describe_wait(waiting)}")
    return WaitVerdict(recheck_after=grace_seconds - waited)
