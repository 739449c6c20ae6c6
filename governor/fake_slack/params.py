"""Reading Web API arguments the way Slack does, whatever the body's encoding.

Why: slack_sdk sends some methods as JSON (``chat.postMessage``: blocks is a list) and
others form-encoded (``files.completeUploadExternal``: files is a JSON string, booleans
are "1"/"0"), and AsyncWebClient sends GETs with a query string. Handlers read typed
values through these helpers and never care which it was.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

Params = Mapping[str, Any]


class SlackError(Exception):
    """An ``ok: false`` answer: the error code plus any extra fields Slack adds."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


def invalid_arguments(message: str) -> SlackError:
    return SlackError("invalid_arguments", response_metadata={"messages": [f"[ERROR] {message}"]})


def text(params: Params, name: str) -> str | None:
    """A string argument; absent or empty is None (Slack treats both as not given)."""
    value = params.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise invalid_arguments(f"{name} must be a string")


def required(params: Params, name: str, error: str | None = None) -> str:
    value = text(params, name)
    if value is None:
        raise SlackError(error) if error else invalid_arguments(f"missing required field: {name}")
    return value


def flag(params: Params, name: str) -> bool:
    value = params.get(name)
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes")
    return bool(value)


def integer(params: Params, name: str, default: int) -> int:
    value = params.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise invalid_arguments(f"{name} must be an integer") from None


def structured(params: Params, name: str, error: str) -> Any:
    """A JSON argument: already decoded in a JSON body, a JSON string in a form body."""
    value = params.get(name)
    if isinstance(value, str):
        if value == "":
            return None
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            raise SlackError(error) from None
    return value
