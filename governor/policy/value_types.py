"""Value types shared by the policy models: durations and schedules as written in YAML."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, WithJsonSchema

from governor.durations import Duration
from governor.policy.schedule import validate_schedule

__all__ = ["Duration", "Schedule"]

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
