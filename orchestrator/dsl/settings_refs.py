"""Tenant settings referenced from step params: ``{"$setting": "a.b", "default": 1}``.

The reference is an object, not a string template, so a Java backend builds it with a map
and the value keeps its JSON type; the step's params model then checks that type.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orchestrator.errors import Problem

SETTING_KEY = "$setting"
DEFAULT_KEY = "default"
MISSING = object()
"""What ``lookup`` returns for a name the settings do not hold."""


def is_setting_ref(value: Any) -> bool:
    """True for a dict that is meant as a settings reference."""
    return isinstance(value, dict) and SETTING_KEY in value


def lookup(settings: Mapping[str, Any], dotted: str) -> Any:
    """The settings value at ``dotted`` (``a.b`` reads ``settings["a"]["b"]``), or MISSING."""
    node: Any = settings
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return MISSING
        node = node[part]
    return node


def resolve(
    value: Any, settings: Mapping[str, Any], step: str, field: str, problems: list[Problem]
) -> Any:
    """``value`` with every settings reference replaced; problems are appended, not raised."""
    if is_setting_ref(value):
        return _resolve_ref(value, settings, step, field, problems)
    if isinstance(value, dict):
        return {k: resolve(v, settings, step, f"{field}.{k}", problems) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, settings, step, f"{field}.{i}", problems) for i, v in enumerate(value)]
    return value


def _resolve_ref(
    ref: dict[str, Any],
    settings: Mapping[str, Any],
    step: str,
    field: str,
    problems: list[Problem],
) -> Any:
    name = ref[SETTING_KEY]
    extra = set(ref) - {SETTING_KEY, DEFAULT_KEY}
    if extra:
        problems.append(
            Problem(
                step,
                field,
                f"a settings reference takes only '$setting' and 'default', not {sorted(extra)}",
            )
        )
        return None
    if not isinstance(name, str) or not name or any(not p for p in name.split(".")):
        problems.append(
            Problem(step, field, "'$setting' must be a dotted name like 'faces.min_size'")
        )
        return None
    found = lookup(settings, name)
    if found is not MISSING:
        return found
    if DEFAULT_KEY in ref:
        return ref[DEFAULT_KEY]
    problems.append(
        Problem(
            step,
            field,
            f"setting '{name}' is not in the task's settings and the reference has no default",
        )
    )
    return None
