"""Safe `{{ scope.name }}` templating of task strings: substitution only, never code.

Pure. Known scopes: `params.NAME`, `run.name`, `run.namespace`, `run.logicalDate`,
`run.dataIntervalStart`, `run.dataIntervalEnd`, `workflow.name`. An unknown name raises
`TemplateError` naming it, so a typo fails the run (or the apply) instead of running with "".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][\w]*(?:\.[A-Za-z0-9_][\w-]*)+)\s*\}\}")


class TemplateError(ValueError):
    """A placeholder names something that does not exist."""


def placeholders(text: str) -> list[str]:
    """The dotted names used in `text`, e.g. ['params.date', 'run.name']."""
    return _PLACEHOLDER.findall(text)


def render_string(text: str, context: Mapping[str, str]) -> str:
    """`text` with every placeholder replaced from `context` (keys like 'params.date')."""

    def substitute(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in context:
            raise TemplateError(f"unknown template variable '{{{{ {key} }}}}'")
        return context[key]

    return _PLACEHOLDER.sub(substitute, text)


def render_value(value: Any, context: Mapping[str, str]) -> Any:
    """Every string inside `value` (nested dicts and lists too) rendered."""
    if isinstance(value, str):
        return render_string(value, context)
    if isinstance(value, list):
        return [render_value(v, context) for v in value]
    if isinstance(value, dict):
        return {k: render_value(v, context) for k, v in value.items()}
    return value


def unknown_placeholders(values: Iterable[str], known: set[str]) -> list[str]:
    """Placeholders in `values` that `known` does not define, in order of first use."""
    unknown: list[str] = []
    for text in values:
        for key in placeholders(text):
            if key not in known and key not in unknown:
                unknown.append(key)
    return unknown


def build_template_context(
    *,
    run_name: str,
    namespace: str,
    workflow: str,
    logical_date: str,
    param_defaults: Mapping[str, str | None],
    run_params: Mapping[str, str],
    data_interval: tuple[str, str] | None = None,
) -> dict[str, str]:
    """Every name a task string may use, for one run. Defaults may use `run.*` names."""
    context = {
        "run.name": run_name,
        "run.namespace": namespace,
        "run.logicalDate": logical_date,
        "workflow.name": workflow,
        "run.dataIntervalStart": data_interval[0] if data_interval else logical_date,
        "run.dataIntervalEnd": data_interval[1] if data_interval else logical_date,
    }
    for name, default in param_defaults.items():
        if name in run_params:
            context[f"params.{name}"] = run_params[name]
        elif default is not None:
            context[f"params.{name}"] = render_string(default, context)
    for name, value in run_params.items():
        context.setdefault(f"params.{name}", value)
    return context
