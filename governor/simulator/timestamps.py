"""RFC 3339 timestamps as Neon writes them: UTC, second precision, ``Z`` suffix."""

from __future__ import annotations

import re
from datetime import UTC, datetime

_RFC3339 = re.compile(
    r"^\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d(?P<fraction>\.\d+)?(?P<zone>[Zz]|[+-]\d\d:\d\d)?$"
)


def format_timestamp(moment: datetime) -> str:
    """Render ``moment`` the way the API does (``2024-05-01T12:00:00Z``)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_precise_timestamp(moment: datetime) -> str:
    """Like ``format_timestamp`` with milliseconds, for the request log's ordering."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def has_fractional_seconds(text: str) -> bool:
    """True for an RFC 3339 timestamp written with a fraction of a second."""
    match = _RFC3339.match(text)
    return bool(match and match.group("fraction"))


def parse_timestamp(text: str) -> datetime:
    """Parse an RFC 3339 timestamp that carries a timezone; raise ValueError otherwise."""
    match = _RFC3339.match(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"{text!r} is not an RFC 3339 date-time")
    if match.group("zone") is None:
        raise ValueError(f"{text!r} has no timezone (RFC 3339 requires one, e.g. 'Z')")
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a valid RFC 3339 date-time") from None


def sort_key_of_timestamp(text: object) -> float:
    """A sortable number for a timestamp field; missing or bad values sort first."""
    if not isinstance(text, str):
        return float("-inf")
    try:
        return parse_timestamp(text).timestamp()
    except ValueError:
        return float("-inf")
