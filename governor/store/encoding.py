"""How values become TEXT columns and back: UTC ISO-8601 times, canonical JSON, no secrets.

Times are stored with microseconds always present so that text order is time order.
JSON is canonical (sorted keys) so equal values give equal text. Values under keys that
name a secret (tokens, passwords, authorization headers, connection URIs) are replaced
before they reach the file: the API objects the governor stores carry none, and this keeps
it that way if a future object or error dict ever does.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

REDACTED = "[redacted]"
_SECRET_KEYS = frozenset(
    {
        "authorization",
        "bearer",
        "connection_uri",
        "connection_uris",
        "cookie",
        "headers",
        "key",
        "set-cookie",
    }
)
_SECRET_PARTS = ("password", "secret", "token", "api_key_value")


class EncodingError(ValueError):
    """A value that cannot be stored; the message says which and why."""


def encode_time(moment: datetime, *, what: str = "time") -> str:
    """Aware datetime -> UTC ISO-8601 text with microseconds."""
    if not isinstance(moment, datetime):
        raise EncodingError(f"{what}: expected a datetime, got {type(moment).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise EncodingError(f"{what}: naive datetime {moment.isoformat()}; pass a UTC-aware one")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def decode_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def decode_optional_time(text: str | None) -> datetime | None:
    return None if text is None else decode_time(text)


def is_secret_key(name: str) -> bool:
    lowered = name.lower()
    return lowered in _SECRET_KEYS or any(part in lowered for part in _SECRET_PARTS)


def _could_hold_a_secret(value: Any) -> bool:
    """Flags and counts under secret-sounding names (``store_passwords``) are kept."""
    return not (value is None or isinstance(value, bool | int | float))


def scrub(value: Any) -> Any:
    """A copy of ``value`` with every secret-named key's value redacted."""
    if isinstance(value, dict):
        return {
            key: REDACTED
            if isinstance(key, str) and is_secret_key(key) and _could_hold_a_secret(item)
            else scrub(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [scrub(item) for item in value]
    return value


def _json_default(value: object) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def encode_json(value: Any, *, what: str) -> str:
    """Scrubbed, canonical JSON text; ``what`` names the value in the error."""
    try:
        return json.dumps(
            scrub(value),
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
            allow_nan=False,
            default=_json_default,
        )
    except (TypeError, ValueError) as error:
        raise EncodingError(f"{what}: cannot be stored as JSON: {error}") from error


def decode_json(text: str | None, *, default: Any) -> Any:
    return default if text is None else json.loads(text)
