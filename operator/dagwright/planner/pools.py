"""Pool admission: which tasks that want a slot of a pool get one, in a fair, documented order.

A Pool (`spec.size`) is shared by every task naming it in its namespace, across workflows. The
slots in use are the unfinished attempts labelled with the pool (plus creates decided but not
yet carried out); what is left is handed out in this order, over every run waiting for the pool:

1. the oldest run first (its logical date, else its creation time),
2. then the task with the higher `priority`,
3. then by run name and task name (so the order is total and never flips between passes).

Pure: the controller gathers the claims of the other runs; the planner asks `admit` for its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

POOL_MISSING_REASON = "PoolMissing"


@dataclass(frozen=True)
class PoolClaim:
    """One task that is ready to start and waits for a slot of a pool."""

    run_order: str  # RFC 3339 logical date or creation time: sorts as time
    priority: int
    run: str
    task: str

    def sort_key(self) -> tuple[str, int, str, str]:
        """Oldest run first, then higher priority, then run name, then task name."""
        return (self.run_order, -self.priority, self.run, self.task)


@dataclass(frozen=True)
class PoolView:
    """What one run's planner may know of a pool: its size (None: no such Pool), the slots in
    use or reserved, and the claims of the other runs still waiting for it."""

    size: int | None
    in_use: int
    others_waiting: tuple[PoolClaim, ...] = ()

    @property
    def free(self) -> int:
        return max((self.size or 0) - self.in_use, 0)


def admit(claims: Iterable[PoolClaim], free: int) -> list[PoolClaim]:
    """The claims that get one of `free` slots: the first `free` in admission order."""
    return sorted(claims, key=PoolClaim.sort_key)[: max(free, 0)]


def admit_own(own: Iterable[PoolClaim], view: PoolView) -> list[PoolClaim]:
    """The claims of one run that get a slot, given the other runs' claims waiting before them."""
    own = list(own)
    if view.size is None:
        return []
    mine = set(own)
    return [claim for claim in admit([*own, *view.others_waiting], view.free) if claim in mine]


def waiting_message(pool: str, view: PoolView) -> str:
    """What a task that waits for the pool says (`kubectl describe` of its run)."""
    if view.size is None:
        return f"Waiting: pool {pool} does not exist"
    return f"Waiting: pool {pool} {view.in_use}/{view.size} in use"
