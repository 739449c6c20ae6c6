"""The JSON Schema of a policy file, for editors (``neon-governor policies schema``).

Generated from the pydantic models, with the filter language's definitions added; the
loader stays the authority (it also checks regexes, cron fields and field-name typos).
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from governor.policy.filter_schema import filter_definitions
from governor.policy.model import FILTER_SCHEMA_MARK, Policy

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def policy_file_schema() -> dict[str, Any]:
    generated = _with_filter_refs(TypeAdapter(list[Policy]).json_schema())
    definitions = {**generated.pop("$defs", {}), **filter_definitions()}
    return {
        "$schema": SCHEMA_DIALECT,
        "title": "neon-governor policy file",
        "description": "A list of policies. Each selects resources of one type with filters "
        "and proposes an action for them.",
        **generated,
        "minItems": 1,
        "$defs": definitions,
    }


def _with_filter_refs(schema: Any) -> Any:
    """Replace the filter placeholder (pydantic cannot reference foreign definitions)."""
    if isinstance(schema, list):
        return [_with_filter_refs(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if schema.pop(FILTER_SCHEMA_MARK, False):
        schema["$ref"] = "#/$defs/Filter"
    return {key: _with_filter_refs(value) for key, value in schema.items()}
