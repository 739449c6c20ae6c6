"""Schedules and durations: what is accepted, and what the daemon gets from them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from apscheduler.triggers.cron import CronTrigger

from governor.durations import format_duration, parse_duration
from governor.policy import Policy
from governor.policy.schedule import cron_fields, schedule_interval, validate_schedule

FRIDAY = datetime(2026, 11, 27, 7, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "expression",
    [
        "0 6 * * *",
        "*/15 * * * *",
        "0 6 * * mon-fri",
        "0 6 * * 0,7",
        "30 2 1 jan,jul *",
        "0 0-23/4 * * *",
        "  0   6 * *   * ",
        "6h",
        "90m",
        "1w",
    ],
)
def test_valid_schedules_are_accepted(expression: str) -> None:
    assert validate_schedule(expression) == " ".join(expression.split())


def test_restricting_day_of_month_and_day_of_week_together_is_refused() -> None:
    with pytest.raises(ValueError, match="not both"):
        validate_schedule("0 6 1 * mon")


@pytest.mark.parametrize("expression", ["0 0 31 2 *", "0 0 30-31 feb *", "0 0 31 4,6,9,11 *"])
def test_a_cron_line_that_never_fires_is_refused_at_validation(expression: str) -> None:
    with pytest.raises(ValueError, match="never fires"):
        validate_schedule(expression)


@pytest.mark.parametrize("expression", ["0 0 29 2 *", "0 0 31 1-3 *", "0 0 */10 2 *"])
def test_a_cron_line_that_fires_in_some_month_is_accepted(expression: str) -> None:
    assert validate_schedule(expression) == expression
    fields = cron_fields(expression)
    assert fields is not None
    assert CronTrigger(**fields, timezone="UTC").get_next_fire_time(None, FRIDAY) is not None


@pytest.mark.parametrize(
    ("expression", "next_day"),
    [
        ("0 6 * * 0", "Sun"),
        ("0 6 * * 7", "Sun"),
        ("0 6 * * 1", "Mon"),
        ("0 6 * * 0-2", "Sun"),
        ("0 6 * * sat", "Sat"),
        ("0 6 * * */2", "Sat"),  # Sunday, Tuesday, Thursday, Saturday
    ],
)
def test_cron_weekdays_mean_the_same_day_to_the_scheduler(expression: str, next_day: str) -> None:
    fields = cron_fields(expression)
    assert fields is not None
    trigger = CronTrigger(**fields, timezone=UTC)
    next_run = trigger.get_next_fire_time(None, FRIDAY)
    assert next_run is not None
    assert next_run.strftime("%a") == next_day


def test_an_interval_schedule_is_not_a_cron_schedule() -> None:
    assert cron_fields("6h") is None
    assert schedule_interval("6h") == timedelta(hours=6)
    assert schedule_interval("0 6 * * *") is None


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("0s", 0), ("90s", 90), ("15m", 900), ("6h", 21600), ("30d", 2592000), ("2w", 1209600)],
)
def test_durations_read_back_as_written(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)
    assert format_duration(parse_duration(text)) == text


def test_a_policy_dumps_to_data_that_loads_back_the_same() -> None:
    policy = Policy.model_validate(
        {
            "name": "round-trip",
            "resource": "branch",
            "filters": [{"protected": False}, {"any": [{"created_at": {"older_than": "30d"}}]}],
            "action": {"type": "set_expiry", "after": "14d"},
            "grace": "1d12h",
            "schedule": "0 6 * * *",
            "exclude": {"ids": [12]},
        }
    )
    dumped = policy.model_dump(mode="json")
    assert dumped["grace"] == "36h"
    assert dumped["action"] == {"type": "set_expiry", "after": "2w"}
    assert dumped["exclude"]["ids"] == ["12"]
    again = Policy.model_validate(dumped)
    assert again.model_dump(mode="json") == dumped
