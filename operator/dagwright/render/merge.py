"""Merging partial pod templates (defaults, then the task's own) over a rendered pod.

Pure. Dicts merge key by key; lists of named items (containers, env, volumes, volumeMounts,
ports) merge by `name`, so a podTemplate can add an env var to the task's `main` container
without repeating it; any other list is replaced by the overlay's.
"""

from __future__ import annotations

import copy
from typing import Any


def _is_named_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(i, dict) and "name" in i for i in value)


def deep_merge(base: Any, overlay: Any) -> Any:
    """`overlay` merged onto `base`; neither argument is modified."""
    if isinstance(base, dict) and isinstance(overlay, dict):
        merged = {k: copy.deepcopy(v) for k, v in base.items()}
        for key, value in overlay.items():
            merged[key] = deep_merge(base[key], value) if key in base else copy.deepcopy(value)
        return merged
    if _is_named_list(base) and _is_named_list(overlay) and base and overlay:
        merged_list = [copy.deepcopy(i) for i in base]
        index = {item["name"]: n for n, item in enumerate(merged_list)}
        for item in overlay:
            if item["name"] in index:
                n = index[item["name"]]
                merged_list[n] = deep_merge(merged_list[n], item)
            else:
                merged_list.append(copy.deepcopy(item))
        return merged_list
    return copy.deepcopy(overlay)
