"""Validate JSON against Neon's official OpenAPI 3.0 spec (read from ../shared, never copied).

OpenAPI 3.0 schemas are close to JSON Schema but not equal: ``nullable: true`` instead of
a ``"null"`` type, ``$ref`` into ``#/components/schemas``. ``json_schema_for`` translates
them once so jsonschema can check responses and request bodies; formats that matter for
interoperability (date-time with a timezone, uuid) are checked too.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError

SPEC_PATH = (
    Path(__file__).resolve().parents[1]
    / ".."
    / "shared"
    / "neon-openapi"
    / "openAPIDefinition.json"
)
JSON_MEDIA_TYPE = "application/json"
RFC3339_DATE_TIME = re.compile(
    r"^\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(?:\.\d+)?(?:[Zz]|[+-]\d\d:\d\d)$"
)


class SpecMismatch(AssertionError):
    """A document that does not match the spec; the message says where and why."""


def spec_available() -> bool:
    return SPEC_PATH.is_file()


@cache
def load_spec() -> dict[str, Any]:
    """The parsed spec; FileNotFoundError when ../shared is absent (tests skip then)."""
    with SPEC_PATH.open(encoding="utf-8") as handle:
        spec: dict[str, Any] = json.load(handle)
    return spec


def _translate(node: Any) -> Any:
    """OpenAPI 3.0 schema → JSON Schema 2020-12 (nullable, refs, boolean exclusives)."""
    if isinstance(node, list):
        return [_translate(item) for item in node]
    if not isinstance(node, dict):
        return node
    result = {key: _translate(value) for key, value in node.items() if key != "nullable"}
    if isinstance(result.get("$ref"), str):
        result["$ref"] = result["$ref"].replace("#/components/schemas/", "#/$defs/")
    for bound, exclusive in (("minimum", "exclusiveMinimum"), ("maximum", "exclusiveMaximum")):
        if result.get(exclusive) is True:
            result[exclusive] = result.pop(bound)
        elif result.get(exclusive) is False:
            del result[exclusive]
    if node.get("nullable") is True:
        if isinstance(result.get("type"), str):
            result["type"] = [result["type"], "null"]
            if "enum" in result:
                result["enum"] = [*result["enum"], None]
        else:
            return {"anyOf": [result, {"type": "null"}]}
    return result


@cache
def _definitions() -> dict[str, Any]:
    return {
        name: _translate(schema) for name, schema in load_spec()["components"]["schemas"].items()
    }


def json_schema_for(openapi_schema: dict[str, Any]) -> dict[str, Any]:
    """A standalone JSON Schema for one OpenAPI schema (all components as ``$defs``)."""
    return {**_translate(openapi_schema), "$defs": _definitions()}


def _format_checker() -> FormatChecker:
    checker = FormatChecker(formats=())

    @checker.checks("date-time", raises=ValueError)
    def is_date_time(value: object) -> bool:
        if not isinstance(value, str):
            return True
        if not RFC3339_DATE_TIME.match(value):
            raise ValueError(f"{value!r} is not an RFC 3339 date-time with a timezone")
        datetime.fromisoformat(value)
        return True

    @checker.checks("uuid", raises=ValueError)
    def is_uuid(value: object) -> bool:
        if isinstance(value, str):
            uuid.UUID(value)
        return True

    return checker


FORMAT_CHECKER = _format_checker()


@cache
def _validator(schema_text: str) -> Draft202012Validator:
    schema = json_schema_for(json.loads(schema_text))
    return Draft202012Validator(schema, format_checker=FORMAT_CHECKER)


def _check(schema: dict[str, Any], document: Any, where: str) -> None:
    validator = _validator(json.dumps(schema, sort_keys=True))
    errors = sorted(validator.iter_errors(document), key=lambda error: list(error.absolute_path))
    if errors:
        raise SpecMismatch(f"{where}:\n" + "\n".join(_describe(error) for error in errors[:10]))


def _describe(error: ValidationError) -> str:
    location = "".join(
        f"[{part}]" if isinstance(part, int) else f".{part}" for part in error.absolute_path
    )
    return f"  at $({location or ''}): {error.message[:300]}"


def _operation(method: str, path_template: str) -> dict[str, Any]:
    paths = load_spec()["paths"]
    if path_template not in paths:
        raise SpecMismatch(f"the spec has no path {path_template!r}")
    operation = paths[path_template].get(method.lower())
    if operation is None:
        raise SpecMismatch(f"the spec has no {method.upper()} {path_template}")
    return dict(operation)


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    spec = load_spec()
    while "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def response_schema(method: str, path_template: str, status: int) -> dict[str, Any] | None:
    """The JSON schema the spec gives for this status (``default`` if not listed), or None
    when the spec says the answer has no body (e.g. 204)."""
    responses = _operation(method, path_template)["responses"]
    response = responses.get(str(status)) or responses.get("default")
    if response is None:
        raise SpecMismatch(f"{method.upper()} {path_template}: the spec lists no {status} answer")
    content = _resolve(response).get("content")
    if not content:
        return None
    if JSON_MEDIA_TYPE not in content:
        raise SpecMismatch(f"{method.upper()} {path_template} {status}: no JSON content in spec")
    schema: dict[str, Any] = content[JSON_MEDIA_TYPE]["schema"]
    return schema


def validate_response(method: str, path_template: str, status: int, body: Any) -> None:
    """Raise SpecMismatch unless ``body`` (parsed JSON, or None for no body) fits the spec."""
    schema = response_schema(method, path_template, status)
    where = f"{method.upper()} {path_template} answered {status}"
    if schema is None:
        if body not in (None, b"", ""):
            raise SpecMismatch(f"{where}: the spec says no body, got {body!r:.200}")
        return
    _check(schema, body, where)


def validate_request_body(method: str, path_template: str, body: Any) -> None:
    """Raise SpecMismatch unless ``body`` (parsed JSON) fits the operation's request schema."""
    operation = _operation(method, path_template)
    request_body = operation.get("requestBody")
    where = f"request body of {method.upper()} {path_template}"
    if request_body is None:
        if body is not None:
            raise SpecMismatch(f"{where}: the spec takes no body, got {body!r:.200}")
        return
    content = _resolve(request_body).get("content", {})
    if JSON_MEDIA_TYPE not in content:
        raise SpecMismatch(f"{where}: the spec takes no JSON body")
    _check(content[JSON_MEDIA_TYPE]["schema"], body, where)


def validate_schema(schema_name: str, document: Any) -> None:
    """Raise SpecMismatch unless ``document`` fits ``#/components/schemas/<schema_name>``."""
    if schema_name not in load_spec()["components"]["schemas"]:
        raise SpecMismatch(f"the spec has no schema {schema_name!r}")
    _check({"$ref": f"#/components/schemas/{schema_name}"}, document, f"schema {schema_name}")
