"""Maintenance windows: when a policy's disruptive actions may run, in UTC.

Written ``"Mon-Fri 02:00-05:00"``, ``"Sat,Sun 00:00-06:00"`` or ``"daily 22:00-02:00"``
(an end before the start runs past midnight; the days name the day it starts). Why a
string and not cron: people write windows as days and hours, and a window has a length.
Pure: the planner asks ``contains`` and ``next_opening``; nothing here reads a clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME = r"([01]\d|2[0-3]):([0-5]\d)"
_PATTERN = re.compile(rf"^\s*(\S+)\s+{_TIME}\s*-\s*{_TIME}\s*$")


@dataclass(frozen=True)
class Window:
    days: frozenset[int]  # Monday = 0
    start: time
    end: time
    text: str

    @property
    def length(self) -> timedelta:
        start = timedelta(hours=self.start.hour, minutes=self.start.minute)
        end = timedelta(hours=self.end.hour, minutes=self.end.minute)
        return end - start if end > start else end - start + timedelta(days=1)

    def _openings_around(self, moment: datetime) -> list[datetime]:
        day = moment.astimezone(UTC).date()
        return [
            datetime.combine(day + timedelta(days=offset), self.start, tzinfo=UTC)
            for offset in range(-1, 8)
            if (day + timedelta(days=offset)).weekday() in self.days
        ]

    def contains(self, moment: datetime) -> bool:
        return any(
            opening <= moment < opening + self.length for opening in self._openings_around(moment)
        )

    def next_opening(self, moment: datetime) -> datetime:
        """The next time the window opens at or after ``moment`` (``moment`` if open now)."""
        if self.contains(moment):
            return moment
        return min(opening for opening in self._openings_around(moment) if opening > moment)


def parse_window(text: str) -> Window:
    """A ``Window``, or ValueError saying what a window looks like."""
    match = _PATTERN.match(text)
    if match is None:
        raise ValueError(
            f"{text!r} is not a window: write days and hours in UTC, such as "
            "'Mon-Fri 02:00-05:00', 'Sat,Sun 00:00-06:00' or 'daily 22:00-02:00'"
        )
    days_text, start_h, start_m, end_h, end_m = match.groups()
    start, end = time(int(start_h), int(start_m)), time(int(end_h), int(end_m))
    if start == end:
        raise ValueError(f"{text!r}: the window starts and ends at the same time")
    return Window(_days(days_text, text), start, end, text.strip())


def _days(days_text: str, text: str) -> frozenset[int]:
    lowered = days_text.lower()
    if lowered in ("daily", "everyday", "*"):
        return frozenset(range(7))
    found: set[int] = set()
    for part in lowered.split(","):
        first, _, last = part.partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise ValueError(
                f"{text!r}: {part!r} is not a day or a range of days "
                "(use Mon, Tue, Wed, Thu, Fri, Sat, Sun, ranges like Mon-Fri, or 'daily')"
            )
        begin, finish = DAYS.index(first), DAYS.index(last or first)
        index = begin
        while True:
            found.add(index)
            if index == finish:
                break
            index = (index + 1) % 7
    return frozenset(found)


def validate_window(text: str) -> str:
    parse_window(text)
    return text
