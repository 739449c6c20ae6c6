"""RFC 3339 timestamps as Neon writes them: UTC, second precision, ``Z`` suffix."""

from __future__ import annotations

from datetime import UTC, datetime


def format_timestamp(moment: datetime) -> str:
    """Render ``moment`` the way the API does (``2024-05-01T12:00:00Z``)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_timestamp(text: str) -> datetime:
    """Parse an RFC 3339 timestamp that carries a timezone; raise ValueError otherwise."""
    if not isinstance(text, str) or "T" not in text.upper():
        raise ValueError(f"{text!r} is not an RFC 3339 date-time")
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no timezone (RFC 3339 requires one, e.g. 'Z')")
    return moment


def sort_key_of_timestamp(text: object) -> float:
    """A sortable number for a timestamp field; missing or bad values sort first."""
    if not isinstance(text, str):
        return float("-inf")
    try:
        return parse_timestamp(text).timestamp()
    except ValueError:
        return float("-inf")
