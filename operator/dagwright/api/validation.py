"""Cross-field checks of a workflow spec that a CRD schema cannot express.

Pure: takes a parsed `WorkflowSpec`, returns a list of problems, each naming the task or field
it is about. Used by the admission webhook (refuse at apply time) and by the controller (fail
the run with a condition when a bad spec slipped through).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from dagwright.api.models import TASK_KINDS, NotifyOn, WorkflowSpec


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a spec: where (`field`) and what (`message`)."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


ExtraCheck = Callable[[WorkflowSpec], list[Problem]]


def find_cycle(edges: dict[str, list[str]]) -> list[str] | None:
    """A cycle in `task -> dependencies` as a path `[a, b, ..., a]`, or None (iterative DFS)."""
    white, grey, black = 0, 1, 2
    color = {node: white for node in edges}
    for root in edges:
        if color[root] != white:
            continue
        stack: list[tuple[str, int]] = [(root, 0)]
        path: list[str] = [root]
        color[root] = grey
        while stack:
            node, index = stack[-1]
            deps = edges.get(node, [])
            if index < len(deps):
                stack[-1] = (node, index + 1)
                dep = deps[index]
                if dep not in color:
                    continue
                if color[dep] == grey:
                    return path[path.index(dep):] + [dep]
                if color[dep] == white:
                    color[dep] = grey
                    stack.append((dep, 0))
                    path.append(dep)
            else:
                color[node] = black
                stack.pop()
                path.pop()
    return None


def validate_workflow_spec(spec: WorkflowSpec, extra: Sequence[ExtraCheck] = ()) -> list[Problem]:
    """Every problem in `spec`, in task order; an empty list means the spec is runnable."""
    problems: list[Problem] = []
    seen: set[str] = set()
    for i, task in enumerate(spec.tasks):
        where = f"spec.tasks[{i}] ({task.name})"
        if task.name in seen:
            problems.append(Problem(where, f"duplicate task name '{task.name}'"))
        seen.add(task.name)
        kinds = [k for k in TASK_KINDS if getattr(task, k) is not None]
        if len(kinds) != 1:
            found = ", ".join(kinds) if kinds else "none"
            problems.append(
                Problem(where, f"exactly one of {', '.join(TASK_KINDS)} is required (found: {found})")
            )
        if task.python is not None and (task.python.script is None) == (task.python.module is None):
            problems.append(Problem(f"{where}.python", "exactly one of script or module is required"))
    names = {t.name for t in spec.tasks}
    for i, task in enumerate(spec.tasks):
        for dep in task.depends_on or []:
            if dep == task.name:
                problems.append(Problem(f"spec.tasks[{i}] ({task.name}).dependsOn", "a task cannot depend on itself"))
            elif dep not in names:
                problems.append(
                    Problem(f"spec.tasks[{i}] ({task.name}).dependsOn", f"unknown task '{dep}'")
                )
    edges = {t.name: [d for d in (t.depends_on or []) if d in names and d != t.name] for t in spec.tasks}
    cycle = find_cycle(edges)
    if cycle:
        problems.append(Problem("spec.tasks", "dependency cycle: " + " -> ".join(reversed(cycle))))
    param_names = [p.name for p in spec.params or []]
    for name in {n for n in param_names if param_names.count(n) > 1}:
        problems.append(Problem("spec.params", f"duplicate parameter '{name}'"))
    if spec.schedule is not None:
        for i, param in enumerate(spec.params or []):
            if param.default is None:
                problems.append(Problem(f"spec.params[{i}] ({param.name})",
                                        "a scheduled workflow's parameters need a default (its scheduled runs set none)"))
    for i, notification in enumerate(spec.notifications or []):
        if NotifyOn.DEADLINE_MISSED.value in notification.on and spec.deadline is None:
            problems.append(Problem(f"spec.notifications[{i}].on",
                                    "DeadlineMissed needs spec.deadline (a run cannot miss a deadline it does not have)"))
    problems.extend(_trigger_problems(spec))
    for check in extra:
        problems.extend(check(spec))
    return problems


def _trigger_problems(spec: WorkflowSpec) -> list[Problem]:
    """spec.triggers.params must name a declared parameter and one of the upstream workflows."""
    if spec.triggers is None:
        return []
    problems = []
    upstreams = {entry.name for entry in spec.triggers.workflows or []}
    declared = {param.name for param in spec.params or []}
    for i, param in enumerate(spec.triggers.params or []):
        where = f"spec.triggers.params[{i}] ({param.name})"
        if param.name not in declared:
            problems.append(Problem(where, "not a parameter of spec.params"))
        if param.from_output.workflow not in upstreams:
            problems.append(Problem(f"{where}.fromOutput.workflow",
                                    f"'{param.from_output.workflow}' is not one of spec.triggers.workflows"))
    for i, declared_param in enumerate(spec.params or []):
        if declared_param.default is None and spec.schedule is None:
            problems.append(Problem(f"spec.params[{i}] ({declared_param.name})",
                                    "a triggered workflow's parameters need a default (an event may not set them)"))
    return problems
