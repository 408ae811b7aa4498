"""`per_spec`: memoise a pure function of a `WorkflowSpec` per spec object, and `SpecTraits`, the
facts about a spec that the reconciler asks on every pass.

Pure. A run's spec is thawed once from its frozen form (`api.frozen.thaw_spec` is cached) and
never mutated, so the same object comes back pass after pass: whatever is derived from it can be
computed once. Entries are keyed by `id(spec)` and hold the spec itself, so a recycled id is never
mistaken for another spec; at most `SIZE` specs are remembered per function.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import TypeVar

from dagwright.api.models import WorkflowSpec

SIZE = 256
T = TypeVar("T")


def per_spec(fn: Callable[[WorkflowSpec], T]) -> Callable[[WorkflowSpec], T]:
    """`fn`, memoised per spec object."""
    cache: dict[int, tuple[WorkflowSpec, T]] = {}

    @wraps(fn)
    def memoised(spec: WorkflowSpec) -> T:
        cached = cache.get(id(spec))
        if cached is not None and cached[0] is spec:
            return cached[1]
        value = fn(spec)
        if len(cache) >= SIZE:
            cache.pop(next(iter(cache)))
        cache[id(spec)] = (spec, value)
        return value

    return memoised


@dataclass(frozen=True)
class SpecTraits:
    """Which optional features a workflow uses: the reconciler skips the work of those it does not."""

    produces_assets: bool  # some task declares `produces` (materializations to record)
    reads_run_context: bool  # a `when:` or a `forEach.from` reads params and run fields
    depends_on_past: tuple[str, ...]  # tasks with dependsOnPast
    calls_workflows: bool  # some task is a `workflow:` task (child runs)


@per_spec
def spec_traits(spec: WorkflowSpec) -> SpecTraits:
    """The traits of `spec` (memoised per spec object)."""
    return SpecTraits(
        produces_assets=any(task.produces for task in spec.tasks),
        reads_run_context=any(task.when or (task.for_each and task.for_each.from_) for task in spec.tasks),
        depends_on_past=tuple(task.name for task in spec.tasks if task.depends_on_past),
        calls_workflows=any(task.workflow is not None for task in spec.tasks),
    )
