"""Maintenance windows as people write them: days and hours in UTC, past midnight too."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from governor.policy.window import parse_window

FRIDAY_NOON = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def test_a_weekday_window_opens_next_on_monday_seen_from_a_weekend() -> None:
    window = parse_window("Mon-Fri 02:00-05:00")
    saturday = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    assert not window.contains(saturday)
    assert window.next_opening(saturday) == datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
    assert window.contains(datetime(2026, 11, 30, 4, 59, tzinfo=UTC))
    assert not window.contains(datetime(2026, 11, 30, 5, 0, tzinfo=UTC))


def test_a_window_past_midnight_belongs_to_the_day_it_starts() -> None:
    window = parse_window("Fri 22:00-02:00")
    assert window.contains(datetime(2026, 11, 28, 1, 30, tzinfo=UTC))  # Saturday 01:30
    assert not window.contains(datetime(2026, 11, 27, 1, 30, tzinfo=UTC))  # Friday 01:30
    assert window.next_opening(FRIDAY_NOON) == datetime(2026, 11, 27, 22, 0, tzinfo=UTC)


def test_ranges_wrap_around_the_week_and_daily_means_every_day() -> None:
    assert parse_window("Sat-Mon 00:00-01:00").days == frozenset({5, 6, 0})
    assert parse_window("daily 03:00-04:00").days == frozenset(range(7))


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("weekdays 02:00-05:00", "not a day"),
        ("Mon-Fri 2:00-5:00", "not a window"),
        ("Mon 25:00-26:00", "not a window"),
        ("Mon 02:00-02:00", "same time"),
    ],
)
def test_a_window_that_cannot_be_read_says_what_a_window_looks_like(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        parse_window(text)
