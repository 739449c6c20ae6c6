"""When a policy runs: a five-field cron expression or an interval such as ``6h``.

Only validated here; the daemon schedules (``cron_fields`` gives it APScheduler arguments).
Cron follows crontab(5): minute, hour, day of month, month, day of week (0 and 7 are
Sunday; names such as ``mon`` and ``jan`` work). Restricting both day of month and day of
week is refused: crontab and APScheduler disagree on what it means.
"""

from __future__ import annotations

import re
from datetime import timedelta

from governor.durations import DURATION_PATTERN, parse_duration

_FIELDS: tuple[tuple[str, int, int], ...] = (
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 31),
    ("month", 1, 12),
    ("day of week", 0, 7),
)
_NAMES: dict[str, dict[str, int]] = {
    "month": {
        name: number
        for number, name in enumerate(
            ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
            start=1,
        )
    },
    "day of week": {
        name: number
        for number, name in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))
    },
}
_ITEM = re.compile(r"^(?P<range>\*|[0-9a-z]+(?:-[0-9a-z]+)?)(?:/(?P<step>[0-9]+))?$")
SCHEDULE_HELP = "write a five-field cron expression such as '0 6 * * *' or an interval such as 6h"


def validate_schedule(text: object) -> str:
    """Return ``text`` normalised; raise ValueError naming the part that is wrong."""
    if not isinstance(text, str):
        raise ValueError(f"expected a string; {SCHEDULE_HELP}")
    compact = " ".join(text.split())
    if re.match(DURATION_PATTERN, compact):
        if parse_duration(compact).total_seconds() <= 0:
            raise ValueError("an interval must be longer than zero")
        return compact
    fields = compact.lower().split(" ")
    if len(fields) != len(_FIELDS):
        raise ValueError(f"{text!r} is neither a cron expression nor an interval; {SCHEDULE_HELP}")
    for field, (label, low, high) in zip(fields, _FIELDS, strict=True):
        for item in field.split(","):
            _check_item(item, label, low, high)
    if fields[2] != "*" and fields[4] != "*":
        raise ValueError(
            "restrict the day of month or the day of week, not both: crontab runs on either, "
            "the daemon's scheduler only on both"
        )
    _check_fires(fields[2], fields[3], text)
    return compact


_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # February of a leap year


def _check_fires(day_field: str, month_field: str, text: str) -> None:
    """Refuse a line such as ``0 0 31 2 *``: its scheduler finds no next run and stops."""
    if day_field == "*":
        return
    days, months = _expand(day_field, "day of month", 1, 31), _expand(month_field, "month", 1, 12)
    if not any(day <= _DAYS_IN_MONTH[month - 1] for day in days for month in months):
        raise ValueError(
            f"{text!r} never fires: no month it names has a day {min(days)} or later"
            f"; {SCHEDULE_HELP}"
        )


def _expand(field: str, label: str, low: int, high: int) -> set[int]:
    """Every value a validated cron field names."""
    values: set[int] = set()
    for item in field.split(","):
        match = _ITEM.match(item)
        assert match is not None  # validated
        step = int(match.group("step") or 1)
        if match.group("range") == "*":
            first, last = low, high
        else:
            bounds = [_value(part, label, low, high) for part in match.group("range").split("-")]
            first, last = bounds[0], bounds[-1]
            if match.group("step") is not None and len(bounds) == 1:
                last = high
        values.update(range(first, last + 1, step))
    return values


def _check_item(item: str, label: str, low: int, high: int) -> None:
    match = _ITEM.match(item)
    if not match:
        raise ValueError(f"cron {label} field: {item!r} is not a value, range or step")
    if match.group("step") is not None and int(match.group("step")) < 1:
        raise ValueError(f"cron {label} field: the step in {item!r} must be at least 1")
    if match.group("range") == "*":
        return
    bounds = [_value(part, label, low, high) for part in match.group("range").split("-")]
    if len(bounds) == 2 and bounds[0] > bounds[1]:
        raise ValueError(f"cron {label} field: the range {item!r} runs backwards")


def _value(part: str, label: str, low: int, high: int) -> int:
    names = _NAMES.get(label, {})
    if part in names:
        return names[part]
    if not part.isdigit():
        raise ValueError(f"cron {label} field: {part!r} is not a number or a known name")
    number = int(part)
    if not low <= number <= high:
        raise ValueError(f"cron {label} field: {number} is outside {low}-{high}")
    return number


def schedule_interval(schedule: str) -> timedelta | None:
    """The interval a validated schedule names, or None when it is a cron expression."""
    compact = " ".join(schedule.split())
    return parse_duration(compact) if re.match(DURATION_PATTERN, compact) else None


def cron_fields(schedule: str) -> dict[str, str] | None:
    """A validated cron schedule as APScheduler ``CronTrigger`` keyword arguments.

    Why not ``CronTrigger.from_crontab``: APScheduler numbers weekdays from Monday = 0,
    crontab from Sunday = 0, so ``0 6 * * 0`` would run on Mondays. Weekdays are passed
    as names here, which both agree on.
    """
    if schedule_interval(schedule) is not None:
        return None
    minute, hour, day, month, weekday = validate_schedule(schedule).lower().split(" ")
    return {
        "minute": minute,
        "hour": hour,
        "day": day,
        "month": month,
        "day_of_week": weekday if weekday == "*" else ",".join(_weekday_names(weekday)),
    }


_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def _weekday_names(field: str) -> list[str]:
    days: set[int] = set()
    for item in field.split(","):
        match = _ITEM.match(item)
        assert match is not None  # validated
        step = int(match.group("step") or 1)
        if match.group("range") == "*":
            first, last = 0, 6
        else:
            bounds = [_value(part, "day of week", 0, 7) for part in match.group("range").split("-")]
            first, last = bounds[0], bounds[-1]
            if match.group("step") is not None and len(bounds) == 1:
                last = 7  # "1/2": from Monday on, every other day
        days.update(number % 7 for number in range(first, last + 1, step))
    return [_WEEKDAYS[number] for number in sorted(days)]
