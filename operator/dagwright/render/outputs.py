"""Task outputs: which tasks' outputs a workflow uses, and reading them from a termination message.

Pure. A task publishes outputs by writing a small JSON object to its termination message
(`/dev/termination-log`; Kubernetes keeps at most 4 KiB). Dagwright keeps at most
`MAX_OUTPUT_BYTES` per task on the run's status, and only for tasks that a later task reads
with `{{ tasks.NAME.outputs.KEY }}`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from dagwright.api.expression import ExpressionError, names_in, parse_expression
from dagwright.api.models import Task, WorkflowSpec
from dagwright.api.specmemo import per_spec
from dagwright.render.templating import placeholders

MAX_OUTPUT_BYTES = 1024
_OUTPUT_KEY = re.compile(r"^tasks\.([a-z0-9-]+)\.outputs\.([A-Za-z0-9_.-]+)$")


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)


def output_references(task: Task) -> list[tuple[str, str]]:
    """(task, key) pairs that `task` reads as {{ tasks.TASK.outputs.KEY }}."""
    return [ref for text in _strings(task.model_dump(mode="json")) for ref in _references_in(text)]


def _references_in(text: str) -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for name in placeholders(text) if (m := _OUTPUT_KEY.match(name))]


@per_spec
def tasks_with_read_outputs(spec: WorkflowSpec) -> frozenset[str]:
    """Names of the tasks whose outputs the operator reads (memoised per frozen spec object): the
    ones some task, a `when:` or the workflow's declared outputs use, the ones that publish them
    (to triggered workflows, a check's verdict), and every `largeOutputs` task (collected and
    size-checked in any case)."""
    declared = {p for output in spec.outputs or [] for p, _ in _references_in(output.value)}  # spec.outputs
    used = frozenset(producer for task in spec.tasks for producer, _ in output_references(task)
                     ) | condition_producers(spec) | declared
    used |= {task.name for task in spec.tasks
             if task.large_outputs or task.publish_outputs or task.check is not None}
    return used


def condition_producers(spec: WorkflowSpec) -> frozenset[str]:
    """Tasks whose outputs a `when:` condition reads (tasks.TASK.outputs.KEY)."""
    found: set[str] = set()
    for task in spec.tasks:
        if task.when is None:
            continue
        try:
            tree = parse_expression(task.when)
        except ExpressionError:
            continue
        for name in names_in(tree):
            parts = name.path.split(".")
            if parts[0] == "tasks" and len(parts) == 4 and parts[2] == "outputs":
                found.add(parts[1])
    return frozenset(found)


def ancestors(spec: WorkflowSpec, name: str) -> set[str]:
    """Every task `name` depends on, directly or not."""
    deps = {t.name: t.depends_on or [] for t in spec.tasks}
    seen: set[str] = set()
    stack = list(deps.get(name, []))
    while stack:
        current = stack.pop()
        if current not in seen:
            seen.add(current)
            stack.extend(deps.get(current, []))
    return seen


def parse_outputs(message: str | None) -> tuple[dict[str, str] | None, str | None]:
    """(outputs, error) from a termination message; values become strings."""
    if not message or not message.strip():
        return {}, None
    size = len(message.encode())
    if size > MAX_OUTPUT_BYTES:
        return None, f"outputs too large: {size} bytes (limit {MAX_OUTPUT_BYTES})"
    try:
        value = json.loads(message)
    except ValueError:
        return None, "outputs are not JSON: the termination message must be one JSON object"
    if not isinstance(value, dict):
        return None, "outputs must be a JSON object"
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in value.items()}, None


def output_context(tasks: dict[str, Any]) -> dict[str, str]:
    """Template names for every recorded output: {'tasks.a.outputs.rows': '42', ...}."""
    context = {}
    for name, status in tasks.items():
        for key, value in (getattr(status, "outputs", None) or {}).items():
            context[f"tasks.{name}.outputs.{key}"] = value
    return context


class OutputPlaceholders(dict[str, str]):
    """A template context that also accepts tasks.X.outputs.K for X in `producers` (validation)."""

    def __init__(self, base: dict[str, str], producers: set[str], items: bool = False) -> None:
        super().__init__(base)
        self.producers = producers
        if items:  # a forEach task: its instances' item names
            self.update({"item": "<item>", "itemIndex": "<itemIndex>"})
        self.for_each = items

    def _allowed(self, key: object) -> bool:
        if self.for_each and str(key).startswith("item."):
            return True
        match = _OUTPUT_KEY.match(str(key))
        return bool(match and match.group(1) in self.producers)

    def __contains__(self, key: object) -> bool:
        return super().__contains__(key) or self._allowed(key)

    def __getitem__(self, key: str) -> str:
        if super().__contains__(key):
            return super().__getitem__(key)
        if self._allowed(key):
            return f"<{key}>"
        raise KeyError(key)
