"""Value types shared by the policy models: durations and schedules as written in YAML."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, PlainSerializer, PlainValidator, WithJsonSchema

from governor.policy.durations import DURATION_PATTERN, format_duration, parse_duration
from governor.policy.schedule import validate_schedule


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

Schedule = Annotated[
    str,
    AfterValidator(validate_schedule),
    WithJsonSchema(
        {
            "type": "string",
            "description": "A five-field cron expression (minute hour day-of-month month "
            "day-of-week) or an interval such as 6h.",
            "examples": ["0 6 * * *", "6h"],
        }
    ),
]
