"""Turn pydantic's validation errors into sentences about the policy file.

Why: pydantic reports ``('action', 'resize', 'min_cux')`` and "Extra inputs are not
permitted"; a person wants ``action.min_cux: unknown key 'min_cux'; did you mean 'min_cu'?``
at the line where they typed it.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from governor.durations import describe_type
from governor.model.actions import ACTION_TYPES
from governor.policy.model import Exclude, Limits, Policy
from governor.policy.yaml_source import Path

_TYPE_WORDS = {
    "string_type": "a string",
    "int_type": "a whole number",
    "float_type": "a number",
    "bool_type": "true or false",
    "list_type": "a list",
    "model_type": "a mapping",
    "dict_type": "a mapping",
    "model_attributes_type": "a mapping",
}


def explain(error: ErrorDetails, item: Any) -> tuple[Path, bool, str]:
    """``(path within the policy, points at the key?, message)`` for one pydantic error."""
    path = _path(error["loc"])
    kind = error["type"]
    value = error.get("input")
    if kind == "missing":
        return path, False, f"required key {path[-1]!r} is missing"
    if kind == "extra_forbidden":
        return path, True, _unknown_key(path, item)
    if kind == "union_tag_invalid":
        tag = (error.get("ctx") or {}).get("tag")
        return (*path, "type"), False, f"unknown action type {tag!r}; {_action_types()}"
    if kind == "union_tag_not_found":
        return path, False, f"an action needs a type; {_action_types()}"
    if kind == "action_resource_mismatch":
        return ("action", "type"), False, error["msg"]
    if kind == "literal_error":
        return path, False, _literal(value, str((error.get("ctx") or {}).get("expected", "")))
    if kind in _TYPE_WORDS:
        expected = _TYPE_WORDS[kind]
        if not path:
            expected = "a policy (a mapping with name, resource, filters and action)"
        return path, False, f"expected {expected}, got {describe_type(value)}"
    if kind == "string_pattern_mismatch" and path == ("name",):
        return (
            path,
            False,
            (
                f"{value!r} is not a valid policy name: use letters, digits, '-', '_' and '.', "
                "starting with a letter or digit, at most 64 characters"
            ),
        )
    message = error["msg"].removeprefix("Value error, ")
    if kind in ("value_error", "assertion_error"):
        return path, False, message
    return path, False, f"{message[:1].lower()}{message[1:]} (got {value!r})"


def _path(loc: tuple[int | str, ...]) -> Path:
    if len(loc) >= 2 and loc[0] == "action" and loc[1] in ACTION_TYPES:
        return (loc[0], *loc[2:])
    return tuple(loc)


def _action_types() -> str:
    return "valid types are: " + ", ".join(ACTION_TYPES)


def _literal(value: Any, expected: str) -> str:
    options = re.findall(r"'([^']*)'", expected)
    close = difflib.get_close_matches(str(value), options, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"{value!r} is not one of {', '.join(options)}{hint}"


def _unknown_key(path: Path, item: Any) -> str:
    key = str(path[-1])
    model = _model_at(path[:-1], item)
    if model is None:
        return f"unknown key {key!r}"
    valid = list(model.model_fields)
    close = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"unknown key {key!r}; {hint}valid keys are: {', '.join(valid)}"


def _model_at(path: Path, item: Any) -> type[BaseModel] | None:
    if path == ():
        return Policy
    if path == ("limits",):
        return Limits
    if path == ("exclude",):
        return Exclude
    if path == ("action",) and isinstance(item, dict) and isinstance(item.get("action"), dict):
        return ACTION_TYPES.get(str(item["action"].get("type")))
    return None
