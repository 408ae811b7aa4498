"""Cross-field checks of a workflow spec that a CRD schema cannot express.

Pure: takes a parsed `WorkflowSpec`, returns a list of problems, each naming the task or field
it is about. Used by the admission webhook (refuse at apply time) and by the controller (fail
the run with a condition when a bad spec slipped through).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from dagwright.api.expression import ExpressionError, names_in, parse_expression
from dagwright.api.models import MAX_WORKFLOW_NESTING, TASK_KINDS, NotifyOn, WorkflowSpec


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
        if task.large_outputs and task.container is not None and not task.container.command:
            problems.append(Problem(f"{where}.largeOutputs", "largeOutputs needs container.command: "
                                    "Dagwright runs the command in a shell that collects the outputs file"))
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
    if not cycle:
        problems.extend(when_problems(spec))
        problems.extend(for_each_problems(spec))
        problems.extend(output_problems(spec))
    problems.extend(_trigger_problems(spec))
    for check in extra:
        problems.extend(check(spec))
    return problems


RUN_FIELDS = ("run.name", "run.namespace", "run.logicalDate", "run.dataIntervalStart", "run.dataIntervalEnd",
              "workflow.name")
"""The run fields a `when:` expression may read (besides params.NAME and upstream outputs)."""


def when_problems(spec: WorkflowSpec) -> list[Problem]:
    """`when:` expressions that do not parse or read unknown names, with the position (acyclic spec)."""
    problems: list[Problem] = []
    params = {p.name for p in spec.params or []}
    deps = {t.name: t.depends_on or [] for t in spec.tasks}
    for i, task in enumerate(spec.tasks):
        if task.when is None:
            continue
        where = f"spec.tasks[{i}] ({task.name}).when"
        try:
            tree = parse_expression(task.when)
        except ExpressionError as error:
            problems.append(Problem(where, f"{error} in '{task.when}'"))
            continue
        upstream = _upstream(deps, task.name)
        for name in names_in(tree):
            reason = unknown_name(name.path, params, upstream)
            if reason:
                problems.append(Problem(where, f"{reason} at position {name.position} in '{task.when}'"))
    return problems


WorkflowLookup = Callable[[str], "WorkflowSpec | None"]


def workflow_call_problems(name: str, spec: WorkflowSpec, lookup: WorkflowLookup,
                           max_depth: int = MAX_WORKFLOW_NESTING) -> list[Problem]:
    """Cycles of workflow references (a -> b -> a) and chains deeper than `max_depth`, following
    `workflow:` tasks through `lookup` (Workflows of the namespace; unknown ones end a chain: a run
    of them fails when it starts)."""
    problems: list[Problem] = []
    for i, task in enumerate(spec.tasks):
        if task.workflow is None:
            continue
        where = f"spec.tasks[{i}] ({task.name}).workflow.name"
        path = _call_chain(name, task.workflow.name, lookup, max_depth)
        if path is not None:
            problems.append(Problem(where, path))
    return problems


def _call_chain(root: str, first: str, lookup: WorkflowLookup, max_depth: int) -> str | None:
    """Why calling `first` from `root` is refused (a cycle, too deep), else None (iterative DFS)."""
    stack: list[tuple[str, tuple[str, ...]]] = [(first, (root,))]
    seen: set[tuple[str, int]] = set()
    while stack:
        current, path = stack.pop()
        if current in path:
            return "workflow reference cycle: " + " -> ".join((*path, current))
        if len(path) >= max_depth:
            return f"workflows nested deeper than {max_depth}: " + " -> ".join((*path, current))
        if (current, len(path)) in seen:
            continue
        seen.add((current, len(path)))
        called = lookup(current)
        for task in called.tasks if called is not None else []:
            if task.workflow is not None:
                stack.append((task.workflow.name, (*path, current)))
    return None


def for_each_problems(spec: WorkflowSpec) -> list[Problem]:
    """forEach lists that name an undeclared parameter or a task that is not upstream; forEach with a pool."""
    problems: list[Problem] = []
    params = {p.name for p in spec.params or []}
    deps = {t.name: t.depends_on or [] for t in spec.tasks}
    for i, task in enumerate(spec.tasks):
        if task.for_each is None:
            continue
        where = f"spec.tasks[{i}] ({task.name}).forEach"
        if (task.for_each.items is None) == (task.for_each.from_ is None):
            problems.append(Problem(where, "exactly one of items or from is required"))
        if task.pool is not None:
            problems.append(Problem(f"spec.tasks[{i}] ({task.name})", "a forEach task cannot take a pool slot (yet)"))
        if task.workflow is not None:
            problems.append(Problem(f"spec.tasks[{i}] ({task.name})", "a forEach task cannot call a workflow (yet)"))
        if task.for_each.from_ is not None:
            name = task.for_each.from_.strip("{} \t")
            reason = unknown_name(name, params, _upstream(deps, task.name))
            if reason:
                problems.append(Problem(f"{where}.from", reason))
    return problems


def output_problems(spec: WorkflowSpec) -> list[Problem]:
    """Declared workflow outputs that read a task the workflow does not have; workflow tasks in a pool."""
    names = {t.name for t in spec.tasks}
    problems = [Problem(f"spec.outputs[{i}] ({output.name})", f"unknown task '{task}'")
                for i, output in enumerate(spec.outputs or [])
                if (task := output.value.strip("{} \t").split(".")[1]) not in names]
    problems += [Problem(f"spec.tasks[{i}] ({t.name})", "a workflow task cannot take a pool slot")
                 for i, t in enumerate(spec.tasks) if t.workflow is not None and t.pool is not None]
    return problems


def unknown_name(path: str, params: set[str], upstream: set[str]) -> str | None:
    """Why `path` is no name a `when:` of a task with these upstream tasks may read, or None."""
    parts = path.split(".")
    if path in RUN_FIELDS or (parts[0] == "params" and len(parts) == 2 and parts[1] in params):
        return None
    if parts[0] == "tasks" and len(parts) == 4 and parts[2] == "outputs":
        if parts[1] in upstream:
            return None
        return f"'{path}' reads outputs of '{parts[1]}', which is not upstream of this task"
    if parts[0] == "params" and len(parts) == 2:
        return f"unknown parameter '{path}' (not declared in spec.params)"
    return (f"unknown name '{path}' (known: params.NAME, {', '.join(RUN_FIELDS)}, "
            "tasks.TASK.outputs.KEY)")


def _upstream(deps: dict[str, list[str]], name: str) -> set[str]:
    seen: set[str] = set()
    stack = list(deps.get(name, []))
    while stack:
        current = stack.pop()
        if current not in seen and current in deps:
            seen.add(current)
            stack.extend(deps[current])
    return seen


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
