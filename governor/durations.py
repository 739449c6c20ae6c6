"""Durations as people write them in policy and config files: ``30d``, ``6h``, ``1d12h``.

Why a unit is mandatory: a bare ``30`` could mean seconds or days, and a policy that deletes
branches must not guess. Months and years are left out on purpose (their length varies).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import PlainSerializer, PlainValidator, WithJsonSchema

UNIT_SECONDS: dict[str, int] = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
DURATION_PATTERN = r"^([0-9]+[smhdw])+$"
DURATION_HELP = "write a number and a unit, e.g. 30d, 6h or 1d12h (units: s m h d w)"
# Longer than any sensible policy or config needs, and far below timedelta's own limit.
MAX_DURATION = timedelta(days=36500)

_WHOLE = re.compile(DURATION_PATTERN)
_PART = re.compile(r"([0-9]+)([smhdw])")


def parse_duration(text: object) -> timedelta:
    """Return the duration ``text`` names; raise ValueError saying how to write one."""
    if isinstance(text, bool) or not isinstance(text, str):
        if isinstance(text, int | float) and not isinstance(text, bool):
            raise ValueError(f"{text!r} has no unit; {DURATION_HELP}")
        raise ValueError(f"expected a duration, got {describe_type(text)}; {DURATION_HELP}")
    compact = text.strip()
    if not _WHOLE.match(compact):
        raise ValueError(f"{text!r} is not a duration; {DURATION_HELP}")
    parts = _PART.findall(compact)
    if any(len(number) > 12 for number, _ in parts):
        raise ValueError(f"{text!r} is longer than 36500d (100 years)")
    seconds = sum(int(number) * UNIT_SECONDS[unit] for number, unit in parts)
    if seconds > MAX_DURATION.total_seconds():
        raise ValueError(f"{text!r} is longer than 36500d (100 years)")
    return timedelta(seconds=seconds)


def format_duration(duration: timedelta) -> str:
    """``duration`` in the largest unit that divides it evenly (``30d``, ``2w``, ``90m``)."""
    seconds = int(duration.total_seconds())
    for unit in ("w", "d", "h", "m"):
        if seconds and seconds % UNIT_SECONDS[unit] == 0:
            return f"{seconds // UNIT_SECONDS[unit]}{unit}"
    return f"{seconds}s"


def describe_type(value: object) -> str:
    """A YAML-ish name for the type of ``value``, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    return parse_duration(value)


Duration = Annotated[
    timedelta,
    PlainValidator(_duration),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": DURATION_PATTERN,
            "description": "A duration: a number and a unit, e.g. 30d, 6h or 1d12h "
            "(units: s m h d w).",
            "examples": ["30d", "6h"],
        }
    ),
]
