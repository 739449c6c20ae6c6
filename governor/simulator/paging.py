"""Query parameters and the two pagination styles Neon uses."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from governor.simulator.responses import ApiError

Query = dict[str, list[str]]


def query_value(query: Query, name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


def parse_limit(query: Query, low: int, high: int, default: int | None) -> int | None:
    """``limit`` as an integer in ``low..high``; 400 with the reason otherwise."""
    text = query_value(query, "limit")
    if text is None:
        return default
    try:
        limit = int(text)
    except ValueError:
        raise ApiError(
            400, f"limit must be an integer from {low} to {high}, got {text!r}"
        ) from None
    if not low <= limit <= high:
        raise ApiError(400, f"limit must be from {low} to {high}, got {limit}")
    return limit


def parse_choice(query: Query, name: str, choices: tuple[str, ...], default: str) -> str:
    text = query_value(query, name)
    if text is None:
        return default
    if text not in choices:
        raise ApiError(400, f"{name} must be one of {', '.join(choices)}, got {text!r}")
    return text


def page_after_id(ids: list[str], cursor: str | None) -> int:
    """Index of the first item after ``cursor`` (an id) in ``ids``; 400 when it is unknown."""
    if cursor is None:
        return 0
    try:
        return ids.index(cursor) + 1
    except ValueError:
        raise ApiError(400, f"cursor {cursor!r} does not point into this list") from None


def encode_branch_cursor(sort_by: str, sort_order: str, sort_value: Any, item_id: str) -> str:
    raw = json.dumps([sort_by, sort_order, sort_value, item_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_branch_cursor(cursor: str) -> tuple[str, str, Any, str]:
    """The opaque ``pagination.next`` of the branch list, or 400 if it is not one of ours."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        sort_by, sort_order, sort_value, item_id = json.loads(base64.urlsafe_b64decode(padded))
    except (ValueError, TypeError, binascii.Error):
        raise ApiError(400, f"cursor {cursor!r} is not a valid pagination cursor") from None
    if (
        not isinstance(sort_by, str)
        or not isinstance(sort_order, str)
        or not isinstance(item_id, str)
    ):
        raise ApiError(400, f"cursor {cursor!r} is not a valid pagination cursor")
    return sort_by, sort_order, sort_value, item_id
