"""How values become TEXT columns and back: UTC ISO-8601 times, canonical JSON, no secrets.

Times are stored with microseconds always present so that text order is time order.
JSON is canonical (sorted keys) so equal values give equal text. Values under keys that
name a secret (tokens, passwords, authorization headers, connection URIs) are replaced
before they reach the file: the API objects the governor stores carry none, and this keeps
it that way if a future object or error dict ever does.

Speed: most values hold no secret-named key, and a Python walk of every object was most of
what storing a large snapshot cost. So ``encode_json`` encodes first (in C), searches the
text for a secret-named key whose value could hold a secret, and only then scrubs and
encodes again. The search may say yes wrongly (the slow path then gives the same text);
it never says no wrongly (tests/store/test_encoding.py).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
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
# In lowered canonical JSON: a key (a string followed by ":") that contains a secret part
# or is a secret name, whose value starts as a string, object or array could (null, true,
# false and numbers are kept by ``scrub``). From a part onwards the key is scanned escape
# by escape, so an escaped quote never ends it early.
_STRING_REST = r'[^"\\]*(?:\\.[^"\\]*)*'
_MAYBE_SECRET = re.compile(
    "(?:"
    + "|".join(re.escape(part) for part in _SECRET_PARTS)
    + ")"
    + _STRING_REST
    + r'":["{\[]'
    + '|"(?:'
    + "|".join(re.escape(key) for key in sorted(_SECRET_KEYS))
    + r')":["{\[]',
    re.DOTALL,
)


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


_ENCODER = json.JSONEncoder(
    sort_keys=True,
    separators=(",", ":"),
    ensure_ascii=False,
    allow_nan=False,
    default=_json_default,
)


def _canonical(value: Any) -> str:
    """``_ENCODER.encode(value)``; straight to the C encoder when there is one, as
    ``JSONEncoder.iterencode`` does, without its two Python frames per value (at 100,000
    rows of two or three values each, a visible share)."""
    if c_make_encoder is None:  # pragma: no cover - CPython has the accelerator
        return _ENCODER.encode(value)
    encoder = c_make_encoder(
        {}, _json_default, encode_basestring, None, ":", ",", True, False, False
    )
    return "".join(encoder(value, 0))


def may_hold_a_secret(text: str) -> bool:
    """Whether canonical JSON ``text`` may have a value ``scrub`` would redact."""
    lowered = text.lower()
    # Substrings of every match of _MAYBE_SECRET, fewer than its alternatives ("cookie"
    # covers "set-cookie", 'key"' the key "key"): one C scan each, no generator between.
    hinted = (
        "password" in lowered
        or "secret" in lowered
        or "token" in lowered
        or "api_key_value" in lowered
        or "authorization" in lowered
        or "bearer" in lowered
        or "connection_uri" in lowered
        or "cookie" in lowered
        or "headers" in lowered
        or 'key"' in lowered
    )
    return hinted and bool(_MAYBE_SECRET.search(lowered))


def encode_json(value: Any, *, what: str) -> str:
    """Scrubbed, canonical JSON text; ``what`` names the value in the error."""
    try:
        text = _canonical(value)
    except (TypeError, ValueError):
        text = None  # perhaps only under a secret key, which scrub replaces: try that
    if text is not None and not may_hold_a_secret(text):
        return text
    try:
        return _canonical(scrub(value))
    except (TypeError, ValueError) as error:
        raise EncodingError(f"{what}: cannot be stored as JSON: {error}") from error


def decode_json(text: str | None, *, default: Any) -> Any:
    return default if text is None else json.loads(text)
