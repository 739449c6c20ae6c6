"""Schedules on a virtual clock: what was missed, how late a run may start, jitter, groups."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from governor.daemon.schedule import (
    DEFAULT_SCHEDULE,
    effective_jitter,
    is_due,
    last_ran_at,
    misfire_grace,
    next_fire_after,
    trigger_for,
)
from governor.daemon.sweeps import policies_for, sweep_schedules
from governor.policy.model import Policy
from governor.store.jobs import JobRunRecord

MONDAY_6 = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)


def policy(name: str, schedule: str | None) -> Policy:
    return Policy.model_validate(
        {"name": name, "resource": "branch", "filters": [{"default": False}], "schedule": schedule}
    )


def record(outcome: str | None, scheduled_for: datetime = MONDAY_6) -> JobRunRecord:
    iso = scheduled_for.isoformat()
    return JobRunRecord(1, "sweep:x", iso, iso, None, outcome, None, None)


def test_policies_sharing_a_schedule_are_one_job_and_unscheduled_ones_ride_along() -> None:
    policies = [policy("a", "6h"), policy("b", "0 6 * * *"), policy("c", "6h"), policy("d", None)]
    assert sweep_schedules(policies) == {"6h": ("a", "c"), "0 6 * * *": ("b",)}
    assert [p.name for p in policies_for(policies, ("a", "c"))] == ["a", "c", "d"]


def test_with_no_schedule_anywhere_everything_sweeps_on_the_default() -> None:
    assert sweep_schedules([policy("a", None), policy("b", None)]) == {DEFAULT_SCHEDULE: ("a", "b")}


def test_cron_fire_times_are_strictly_after_and_weekdays_follow_crontab() -> None:
    assert next_fire_after("0 6 * * *", MONDAY_6) == MONDAY_6 + timedelta(days=1)
    assert next_fire_after("0 6 * * *", MONDAY_6 - timedelta(seconds=1)) == MONDAY_6
    friday = MONDAY_6 + timedelta(days=4)
    assert next_fire_after("0 6 * * 1-5", friday) == MONDAY_6 + timedelta(days=7)
    assert next_fire_after("0 6 * * 0", MONDAY_6) == MONDAY_6 + timedelta(days=6)  # Sunday


@pytest.mark.parametrize(
    ("schedule", "grace"),
    [
        ("2s", timedelta(seconds=1)),
        ("1s", timedelta(seconds=1)),  # never below 1 s
        ("10m", timedelta(minutes=5)),
        ("*/30 * * * *", timedelta(minutes=15)),
        ("0 6 * * *", timedelta(hours=1)),  # capped
    ],
)
def test_misfire_grace_is_half_the_period_within_bounds(schedule: str, grace: timedelta) -> None:
    assert misfire_grace(schedule, MONDAY_6) == grace


def test_jitter_never_exceeds_a_quarter_of_the_period() -> None:
    assert effective_jitter("10s", timedelta(seconds=30), MONDAY_6) == timedelta(seconds=2.5)
    assert effective_jitter("1h", timedelta(seconds=30), MONDAY_6) == timedelta(seconds=30)


def test_catch_up_runs_once_what_fell_due_while_stopped() -> None:
    ran = last_ran_at(record("succeeded"))
    assert ran == MONDAY_6
    assert not is_due("0 6 * * *", ran, MONDAY_6 + timedelta(hours=23, minutes=59))
    assert is_due("0 6 * * *", ran, MONDAY_6 + timedelta(days=3))  # three missed: due (once)
    assert not is_due("6h", ran, MONDAY_6 + timedelta(hours=5))
    assert is_due("6h", ran, MONDAY_6 + timedelta(hours=6))


@pytest.mark.parametrize("outcome", [None, "cancelled", "abandoned"])
def test_a_job_killed_or_cancelled_last_time_counts_as_not_run(outcome: str | None) -> None:
    assert last_ran_at(record(outcome)) is None
    assert is_due("0 6 * * *", None, MONDAY_6)


@pytest.mark.parametrize("outcome", ["succeeded", "incomplete", "failed"])
def test_a_job_that_ended_counts_as_run(outcome: str) -> None:
    assert last_ran_at(record(outcome)) == MONDAY_6


def test_an_interval_keeps_its_rhythm_across_a_restart() -> None:
    now = MONDAY_6 + timedelta(hours=2)
    trigger = trigger_for("6h", jitter=timedelta(0), last_ran=MONDAY_6, now=now)
    assert trigger.get_next_fire_time(None, now) == MONDAY_6 + timedelta(hours=6)
    fresh = trigger_for("6h", jitter=timedelta(0), last_ran=None, now=now)
    assert fresh.get_next_fire_time(None, now) == now


def test_a_cron_trigger_is_utc() -> None:
    trigger = trigger_for("0 6 * * *", jitter=timedelta(0), last_ran=None, now=MONDAY_6)
    assert trigger.get_next_fire_time(
        None, MONDAY_6 + timedelta(minutes=1)
    ) == MONDAY_6 + timedelta(days=1)
