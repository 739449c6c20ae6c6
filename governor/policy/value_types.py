"""Value types shared by the policy models: durations and schedules as written in YAML."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, WithJsonSchema

from governor.durations import Duration
from governor.policy.schedule import validate_schedule
from governor.policy.window import validate_window

__all__ = ["Duration", "Schedule", "WindowText"]

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

WindowText = Annotated[
    str,
    AfterValidator(validate_window),
    WithJsonSchema(
        {
            "type": "string",
            "description": "Days and hours in UTC when disruptive actions may run.",
            "examples": ["Mon-Fri 02:00-05:00", "daily 22:00-02:00"],
        }
    ),
]
