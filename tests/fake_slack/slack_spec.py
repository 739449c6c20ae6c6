"""Check the fake's answers against Slack's published Web API spec (read from ../shared).

The spec (OpenAPI 2.0, last changed 2020) is old: it predates message metadata, omits
fields Slack sends today and has one plain error. ``ERRATA`` lists each correction made
before validating, with its reason, so everything else is checked as published.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator

SPEC_PATH = (
    Path(__file__).resolve().parents[2]
    / ".."
    / "shared"
    / "slack-api-specs"
    / "web-api"
    / "slack_web_openapi_v2_without_examples.json"
)

ERRATA = (
    "objs_message: allow app_id (sent with every app message today)",
    "objs_message: allow metadata (message metadata, launched 2022)",
    "objs_message: allow edited (sent after chat.update; missing from the spec)",
    "chat.update: message.blocks is an array of blocks, not an object",
)


def spec_available() -> bool:
    return SPEC_PATH.is_file()


@cache
def _spec() -> dict[str, Any]:
    with SPEC_PATH.open(encoding="utf-8") as handle:
        spec: dict[str, Any] = json.load(handle)
    fixed = copy.deepcopy(spec)
    message = fixed["definitions"]["objs_message"]["properties"]
    message["app_id"] = {"$ref": "#/definitions/defs_app_id"}
    message["metadata"] = {
        "type": "object",
        "required": ["event_type", "event_payload"],
        "properties": {"event_type": {"type": "string"}, "event_payload": {"type": "object"}},
    }
    message["edited"] = {
        "type": "object",
        "required": ["user", "ts"],
        "properties": {
            "user": {"$ref": "#/definitions/defs_user_id"},
            "ts": {"$ref": "#/definitions/defs_ts"},
        },
    }
    update = fixed["paths"]["/chat.update"]["post"]["responses"]["200"]["schema"]
    update["properties"]["message"]["properties"]["blocks"] = {"$ref": "#/definitions/blocks"}
    return fixed


def success_schema(method: str) -> dict[str, Any]:
    operations = _spec()["paths"][f"/{method}"]
    operation = operations.get("post") or operations["get"]
    schema: dict[str, Any] = operation["responses"]["200"]["schema"]
    return {"definitions": _spec()["definitions"], "allOf": [schema]}


def problems(method: str, answer: dict[str, Any]) -> list[str]:
    """Every way ``answer`` breaks the method's success schema (empty: it conforms)."""
    validator = Draft4Validator(success_schema(method))
    return sorted(
        f"{'/'.join(map(str, error.absolute_path)) or '<root>'}: {error.message}"
        for error in validator.iter_errors(answer)
    )
