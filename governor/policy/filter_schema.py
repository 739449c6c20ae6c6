"""The JSON Schema of the filter language, for editors (the loader does the real checks)."""

from __future__ import annotations

from typing import Any

from governor.durations import DURATION_PATTERN
from governor.policy.fields import DERIVED_FIELDS, DERIVED_KINDS
from governor.policy.filters import FIELD_PATTERN
from governor.policy.operators import OPERATORS

_SCALAR: dict[str, Any] = {"type": ["string", "number", "boolean"]}
_ORDERED: dict[str, Any] = {
    "anyOf": [{"type": "number"}, {"type": "string", "format": "date-time"}]
}
_OPERATOR_VALUES: dict[str, dict[str, Any]] = {
    "eq": _SCALAR,
    "ne": _SCALAR,
    "in": {"type": "array", "items": _SCALAR, "minItems": 1},
    "gt": _ORDERED,
    "gte": _ORDERED,
    "lt": _ORDERED,
    "lte": _ORDERED,
    "glob": {"type": "string"},
    "regex": {"type": "string", "format": "regex"},
    "present": {"type": "boolean"},
    "absent": {"type": "boolean"},
    "older_than": {"type": "string", "pattern": DURATION_PATTERN},
    "newer_than": {"type": "string", "pattern": DURATION_PATTERN},
}


def _derived_text() -> str:
    return " ".join(
        f"{resource}: "
        + "; ".join(
            f"{name} ({DERIVED_KINDS[resource][name]}: {text})" for name, text in fields.items()
        )
        + "."
        for resource, fields in DERIVED_FIELDS.items()
    )


def filter_definitions() -> dict[str, Any]:
    """``$defs`` entries: ``Filter``, ``Condition`` and ``Operators``."""
    operators = {
        "type": "object",
        "description": "One or more operators on a field; all must hold.",
        "properties": {
            name: {**_OPERATOR_VALUES[name], "description": operator.description}
            for name, operator in OPERATORS.items()
        },
        "additionalProperties": False,
        "minProperties": 1,
    }
    condition = {
        "type": "object",
        "description": "Conditions, all of which must hold. Keys are all / any / not, or a "
        "field: the API object's own field names (dotted for nested fields) or a derived "
        "field. Derived fields: " + _derived_text() + " A condition on a missing field is "
        "unknown and never selects a resource (use present / absent to test for it).",
        "properties": {
            "all": {"type": "array", "items": {"$ref": "#/$defs/Filter"}, "minItems": 1,
                    "description": "Every filter in the list holds."},
            "any": {"type": "array", "items": {"$ref": "#/$defs/Filter"}, "minItems": 1,
                    "description": "At least one filter in the list holds."},
            "not": {"$ref": "#/$defs/Filter", "description": "The filter does not hold."},
        },
        "propertyNames": {"pattern": FIELD_PATTERN},
        "additionalProperties": {
            "description": "A value (shorthand for eq) or a mapping of operators.",
            "anyOf": [_SCALAR, {"$ref": "#/$defs/Operators"}],
        },
        "minProperties": 1,
    }  # fmt: skip
    filter_schema = {
        "description": "A condition mapping, or a list of filters that must all hold.",
        "anyOf": [
            {"$ref": "#/$defs/Condition"},
            {"type": "array", "items": {"$ref": "#/$defs/Filter"}, "minItems": 1},
        ],
    }
    return {"Filter": filter_schema, "Condition": condition, "Operators": operators}
