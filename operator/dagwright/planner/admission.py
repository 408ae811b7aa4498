"""`assess_admission`: whether a run may start now under its workflow's `maxActiveRuns`.

Pure. Runs of one workflow start in order — by logical date, then name — and at most
`maxActiveRuns` of them are started-and-unfinished at once. A run that has started stays
admitted whatever happens to the limit afterwards.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class RunInLine:
    """What admission looks at for one run of a workflow."""

    name: str
    order: str  # the logical date (or creation time) as RFC 3339 text: sorts like time
    started: bool
    finished: bool

    def sort_key(self) -> tuple[str, str]:
        return self.order, self.name


def assess_admission(run: RunInLine, siblings: Iterable[RunInLine], max_active_runs: int | None) -> bool:
    """True when `run` may start: no limit, already started, or fewer than the limit ahead of it.

    A sibling is ahead when it is unfinished and either has started or comes earlier in line.
    """
    if max_active_runs is None or run.started:
        return True
    ahead = sum(
        1 for other in siblings
        if other.name != run.name and not other.finished
        and (other.started or other.sort_key() < run.sort_key())
    )
    return ahead < max_active_runs
