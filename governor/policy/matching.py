"""Test a filter against one resource, in three-valued logic.

A condition on a missing value is unknown (None). ``not`` keeps unknown unknown; ``all`` is
False if any part is False, else unknown if any part is unknown; ``any`` is True if any part
is True, else unknown if any part is unknown. Only True selects a resource, so a field the
sweep could not see never causes an action.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from governor.policy.filters import AllOf, Condition, Filter, Not
from governor.policy.operators import Outcome


def field_value(values: Mapping[str, Any], parts: tuple[str, ...]) -> Any:
    """The value at a dotted path; None when any step is missing or not a mapping."""
    current: Any = values
    for part in parts:
        if not isinstance(current, Mapping):
            return None
        current = current.get(part)
        if current is None:
            return None
    return current


def outcome(node: Filter, values: Mapping[str, Any], now: datetime) -> Outcome:
    if isinstance(node, Condition):
        value = field_value(values, node.parts)
        if value is None and not node.operator.sees_missing:
            return None
        return node.operator.test(value, node.expected, now)
    if isinstance(node, Not):
        inner = outcome(node.child, values, now)
        return None if inner is None else not inner
    if isinstance(node, AllOf):
        result: Outcome = True
        for child in node.children:
            part = outcome(child, values, now)
            if part is False:
                return False
            if part is None:
                result = None
        return result
    result = False
    for child in node.children:
        part = outcome(child, values, now)
        if part is True:
            return True
        if part is None:
            result = None
    return result


def deciding_fields(node: Filter, values: Mapping[str, Any], now: datetime) -> list[str]:
    """For a match, the fields that made it one (the first true branch of each ``any``)."""
    found: dict[str, None] = {}
    _deciding(node, values, now, found)
    return list(found)


def _deciding(
    node: Filter, values: Mapping[str, Any], now: datetime, found: dict[str, None]
) -> None:
    if isinstance(node, Condition):
        found.setdefault(node.field, None)
    elif isinstance(node, Not):
        _deciding(node.child, values, now, found)
    elif isinstance(node, AllOf):
        for child in node.children:
            _deciding(child, values, now, found)
    else:
        for child in node.children:
            if outcome(child, values, now) is True:
                _deciding(child, values, now, found)
                return
