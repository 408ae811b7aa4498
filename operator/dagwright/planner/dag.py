"""Graph helpers for a validated workflow: topological order and dependents.

Pure. Assumes `api.validation` found no cycle and no unknown dependency.
"""

from __future__ import annotations

from collections import deque

from dagwright.api.models import WorkflowSpec
from dagwright.api.specmemo import per_spec


@per_spec
def topological_order(spec: WorkflowSpec) -> tuple[str, ...]:
    """Task names with every task after its dependencies; ties keep spec order.

    Memoised per spec object (frozen specs are shared and never mutated), since big runs ask
    for it on every pass.
    """
    return tuple(_kahn(spec))


def _kahn(spec: WorkflowSpec) -> list[str]:
    """Kahn's algorithm; ties keep spec order."""
    index = {t.name: i for i, t in enumerate(spec.tasks)}
    indegree = {t.name: len(set(t.depends_on or [])) for t in spec.tasks}
    dependents: dict[str, list[str]] = {t.name: [] for t in spec.tasks}
    for task in spec.tasks:
        for dep in set(task.depends_on or []):
            dependents[dep].append(task.name)
    ready = deque(sorted((n for n, d in indegree.items() if d == 0), key=index.__getitem__))
    order: list[str] = []
    while ready:
        name = ready.popleft()
        order.append(name)
        for child in sorted(dependents[name], key=index.__getitem__):
            indegree[child] -= 1
            if indegree[child] == 0:
                ready.append(child)
    if len(order) != len(spec.tasks):
        raise ValueError("workflow has a dependency cycle")
    return order
