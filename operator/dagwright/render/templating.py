"""Safe `{{ scope.name }}` templating of task strings: substitution only, never code.

Pure. Known scopes: `params.NAME`, `run.name`, `run.namespace`, `run.logicalDate`,
`run.dataIntervalStart`, `run.dataIntervalEnd`, `workflow.name`; in a forEach task also
`item`, `item.KEY` and `itemIndex`. An unknown name raises
`TemplateError` naming it, so a typo fails the run (or the apply) instead of running with "".
So does anything else between `{{` and `}}` — `{{ date }}`, `{{ 7*7 }}`, `{{ run.name | upper }}`,
code: it is refused, quoted, and never evaluated (nor passed on verbatim). Literal double braces
(a Go template in a Vault annotation, a Python format string) are written `{{ literal.open }}` and
`{{ literal.close }}`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_PLACEHOLDER = re.compile(r"\{\{\s*(item|itemIndex|[A-Za-z_][\w]*(?:\.[A-Za-z0-9_][\w-]*)+)\s*\}\}")
"""`{{ scope.name }}`, and the two bare names of a forEach instance: `{{ item }}`, `{{ itemIndex }}`."""


_LOOKS_LIKE_TEMPLATE = re.compile(r"\{\{.*?\}\}", re.DOTALL)
"""From `{{` to the next `}}`: what a reader takes for a template."""

_BARE_NAME = re.compile(r"^\{\{\s*([A-Za-z_]\w*)\s*\}\}$")
_QUOTED_LIMIT = 80


class TemplateError(ValueError):
    """A placeholder names something that does not exist, or `{{ … }}` text is no placeholder."""


def malformed_templates(text: str) -> list[str]:
    """Every `{{ … }}` in `text` that is not a `{{ scope.name }}` placeholder, in order."""
    if "{{" not in text:
        return []
    return [m.group(0) for m in _LOOKS_LIKE_TEMPLATE.finditer(text) if not _PLACEHOLDER.fullmatch(m.group(0))]


def check_templates(text: str, known: Mapping[str, str] | None = None) -> None:
    """Raise `TemplateError` quoting the first `{{ … }}` of `text` that is no placeholder.

    `known` (template names) only improves the message: `{{ date }}` suggests `{{ params.date }}`.
    """
    bad = malformed_templates(text)
    if not bad:
        return
    quoted = bad[0] if len(bad[0]) <= _QUOTED_LIMIT else bad[0][: _QUOTED_LIMIT - 5] + "…}}"
    hint = ("templates are '{{ scope.name }}', e.g. '{{ params.NAME }}', and are never evaluated; "
            "literal braces are '{{ literal.open }}' and '{{ literal.close }}'")
    bare = _BARE_NAME.match(bad[0])
    if bare and known is not None and f"params.{bare.group(1)}" in known:
        hint = f"did you mean '{{{{ params.{bare.group(1)} }}}}'? " + hint
    raise TemplateError(f"not a template: '{quoted}' ({hint})")


def placeholders(text: str) -> list[str]:
    """The dotted names used in `text`, e.g. ['params.date', 'run.name']."""
    return _PLACEHOLDER.findall(text)


def render_string(text: str, context: Mapping[str, str]) -> str:
    """`text` with every placeholder replaced from `context` (keys like 'params.date').

    Any other `{{ … }}` raises `TemplateError`. Substituted values are not scanned again.
    """
    check_templates(text, context)

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
        "literal.open": "{{",
        "literal.close": "}}",
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
