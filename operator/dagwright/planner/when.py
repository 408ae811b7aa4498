"""`assess_when`: whether a task's `when:` condition lets it run (pure).

The expression was checked at apply time (`api.validation.when_problems`); here it is parsed
again (memoised per string) and evaluated over the run's parameters and fields and the outputs
its upstream tasks recorded in this pass. False → the task is Skipped with the expression and
the values it saw; an expression that cannot be evaluated (an output the upstream task did not
write, a word compared with a number) fails the task, saying why — running or skipping on a
guess would both be wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache

from dagwright.api.expression import EvaluationError, ExpressionError, Node, describe_values, evaluate, names_in, parse_expression
from dagwright.api.models import TaskStatus


class WhenVerdict(str, Enum):
    """What a task's condition says."""

    RUN = "Run"
    SKIP = "Skip"
    ERROR = "Error"


@dataclass(frozen=True)
class WhenJudgement:
    verdict: WhenVerdict
    message: str | None = None


@lru_cache(maxsize=512)
def _parsed(expression: str) -> Node:
    return parse_expression(expression)


def when_values(tree: Node, context: Mapping[str, str], tasks: Mapping[str, TaskStatus]) -> dict[str, str]:
    """The values of the names `tree` reads: run fields and params from `context`, outputs from `tasks`."""
    values: dict[str, str] = {}
    for name in names_in(tree):
        parts = name.path.split(".")
        if parts[0] == "tasks" and len(parts) == 4:
            outputs = (status.outputs if (status := tasks.get(parts[1])) is not None else None) or {}
            if parts[3] in outputs:
                values[name.path] = outputs[parts[3]]
        elif name.path in context:
            values[name.path] = context[name.path]
    return values


def assess_when(expression: str | None, context: Mapping[str, str], tasks: Mapping[str, TaskStatus]) -> WhenJudgement:
    """RUN when there is no condition or it holds; SKIP or ERROR with the message to record."""
    if expression is None:
        return WhenJudgement(WhenVerdict.RUN)
    try:
        tree = _parsed(expression)
    except ExpressionError as error:  # refused at apply time; a run of an older spec says so
        return WhenJudgement(WhenVerdict.ERROR, f"when: {error}")
    values = when_values(tree, context, tasks)
    try:
        holds = evaluate(tree, values)
    except EvaluationError as error:
        return WhenJudgement(WhenVerdict.ERROR, f"when '{expression}' cannot be evaluated: {error} "
                                                f"({describe_values(tree, values)})")
    if holds:
        return WhenJudgement(WhenVerdict.RUN)
    return WhenJudgement(WhenVerdict.SKIP, f"when '{expression}' is false ({describe_values(tree, values)})")
